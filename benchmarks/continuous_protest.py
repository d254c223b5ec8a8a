"""Case: the 5 October scenario walked by the continuous model against the grid model, side by side.

Both models run the same scenario, seed and simulated span in this process, one after the other,
each after a warm-up (fields cached, kernels compiled): the ratio of their stepping wall times is the
measure (target: the continuous model under 10x the grid's). The continuous model takes each 0.5 s
step as 10 CFSM sub-steps of 0.05 s (``[walking] continuous_dt_s``). The wall time is also given per
window of ``WINDOW_S`` simulated seconds, so a run past 20:10 shows the rally and the dispersal apart.

``python -m benchmarks.continuous_protest --span 3600`` runs 19:30-20:30 (default: ``SPAN_S``).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from sim.kinds import load_scenario
from sim.protest.model import ProtestModel

SCENARIO = "scenarios/bishkek_2020_10_05.toml"
QUICK_SCENARIO = "scenarios/examples/square_and_street.toml"  # a smoke test need not build the map's directions
SPAN_S = 1800.0  # 19:30-20:00: the rally gathered and standing
QUICK_SPAN_S = 60.0
WINDOW_S = 600.0  # s simulated per reported window


def _timed(scenario, duration_s: float) -> dict:
    ProtestModel(scenario, duration_s=1.0).step()  # warm-up: fields cached, kernels compiled
    t0 = time.perf_counter()
    model = ProtestModel(scenario, duration_s=duration_s)
    setup = time.perf_counter() - t0
    windows = []
    steps_per_window = max(1, int(round(WINDOW_S / model.spec.dt)))
    t0 = time.perf_counter()
    mark = t0
    while model.running:
        model.step()
        if model.steps_done % steps_per_window == 0:
            now = time.perf_counter()
            windows.append(round(now - mark, 2))
            mark = now
    wall = time.perf_counter() - t0
    out = {"setup_s": setup, "run_s": wall, "run_s_per_window": windows, "window_sim_s": WINDOW_S,
           "steps_per_s": model.steps_done / wall, "agents": len(model.arrays)}
    if hasattr(model.core, "peak_density"):
        out["peak_local_density_per_m2"] = model.core.peak_density
    return out


def run(quick: bool, span_s: float | None = None) -> dict:
    name = QUICK_SCENARIO if quick else SCENARIO
    base = load_scenario(name)
    span = span_s or (QUICK_SPAN_S if quick else SPAN_S)
    grid = _timed(base, span)
    continuous = _timed(base.with_values({"walking.model": "continuous"}), span)
    return {"scenario": name, "sim_seconds": span, "grid": grid, "continuous": continuous,
            "continuous_over_grid_run_time": continuous["run_s"] / grid["run_s"],
            "continuous_over_grid_per_window": [round(c / g, 1) for c, g in
                                                zip(continuous["run_s_per_window"], grid["run_s_per_window"])],
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
            "target": "continuous under 10x the grid's wall time" if not quick else "smoke: 60 s simulated"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--span", type=float, default=None, help="simulated seconds from 19:30")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.span), indent=2))
