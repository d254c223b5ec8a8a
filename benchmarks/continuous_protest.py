"""Case: the 5 October scenario walked by the continuous model against the grid model, side by side.

Both models run the same scenario, seed and simulated span in this process, one after the other,
each after a warm-up (fields cached, kernels compiled): the ratio of their stepping wall times is the
measure (target: the continuous model under 10x the grid's). The continuous model takes each 0.5 s
step as 10 CFSM sub-steps of 0.05 s (``[walking] continuous_dt_s``).
"""

from __future__ import annotations

import time

from sim.kinds import load_scenario
from sim.protest.model import ProtestModel

SCENARIO = "scenarios/bishkek_2020_10_05.toml"
QUICK_SCENARIO = "scenarios/examples/square_and_street.toml"  # a smoke test need not build 2 GB of directions
SPAN_S = 1800.0  # 19:30-20:00: the rally gathered and standing (the whole evening costs the continuous
# model ~30 min of wall time on this 2-core machine)
QUICK_SPAN_S = 60.0


def _timed(scenario, duration_s: float) -> dict:
    ProtestModel(scenario, duration_s=1.0).step()  # warm-up: fields cached, kernels compiled
    t0 = time.perf_counter()
    model = ProtestModel(scenario, duration_s=duration_s)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    while model.running:
        model.step()
    wall = time.perf_counter() - t0
    out = {"setup_s": setup, "run_s": wall, "steps_per_s": model.steps_done / wall, "agents": len(model.arrays)}
    if hasattr(model.core, "peak_density"):
        out["peak_local_density_per_m2"] = model.core.peak_density
    return out


def run(quick: bool) -> dict:
    name = QUICK_SCENARIO if quick else SCENARIO
    base = load_scenario(name)
    span = QUICK_SPAN_S if quick else SPAN_S
    grid = _timed(base, span)
    continuous = _timed(base.with_values({"walking.model": "continuous"}), span)
    return {"scenario": name, "sim_seconds": span, "grid": grid, "continuous": continuous,
            "continuous_over_grid_run_time": continuous["run_s"] / grid["run_s"],
            "target": "continuous under 10x the grid's wall time" if not quick else "smoke: 60 s simulated"}
