"""Case: how long the browser view's jumps take on the 5 October evening, and a replay's look-ups.

Live (``sim.viz.moments.jump`` on a ``VizModel``, exactly what the "Jump to a moment" card runs,
without the page): 19:30 -> 20:10 (the splinter group; playing there at default settings took
57 s), on until the gate is attacked (the special forces' dispersal, a trigger nobody can time in
advance), and back to 20:00 (a re-run from the start with the same seed). Replay: the first
``replay_minutes`` of the evening recorded with ``--trajectories 1``, then ``RunRecording.at`` at
random times (a row group read the first time, a slice after) and in order. Target: a jump to
20:10 in under 10 s; a replay look-up well under a frame (0.2 s).

``python benchmarks/viz_jump.py [--quick]`` prints the JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "bishkek_2020_10_05.toml"
TARGET_JUMP_S = 10.0


def run(quick: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from sim.run.runner import run_to_folder
    from sim.viz.moments import jump, scenario_moments
    from sim.viz.recording import RunRecording
    from sim.viz.session import VizModel

    model = VizModel(scenario_file=str(SCENARIO), background=False)
    if model.error:
        raise RuntimeError(model.error)
    out: dict = {"scenario": SCENARIO.name}
    t0 = time.perf_counter()
    jump(model, to_s=40 * 60)
    out["jump_1930_to_2010_s"] = round(time.perf_counter() - t0, 2)
    out["clock_reached"] = model.sim.clock
    if not quick:
        gate = next(m for m in scenario_moments(model.spec) if m.kind == "trigger" and m.time_s is None)
        t0 = time.perf_counter()
        jump(model, until=gate)
        out["run_until_gate_attacked_s"] = round(time.perf_counter() - t0, 2)
        out["gate_attacked_at"] = model.sim.clock
        t0 = time.perf_counter()
        jump(model, to_s=30 * 60)
        out["jump_back_to_2000_s"] = round(time.perf_counter() - t0, 2)
    minutes = 2 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        run_to_folder(SCENARIO, out=folder, progress=False, duration_s=minutes * 60, trajectories_every_s=1.0)
        t0 = time.perf_counter()
        rec = RunRecording(folder)
        out["replay_open_s"] = round(time.perf_counter() - t0, 2)
        rng = np.random.default_rng(1)
        times = rng.uniform(0, rec.end_s, 20 if quick else 60)
        per = []
        for t in times:
            t0 = time.perf_counter()
            rec.at(float(t))
            per.append(time.perf_counter() - t0)
        out["replay_minutes"] = minutes
        out["replay_row_groups"] = len(rec.frames.bounds)
        out["replay_seek_random_ms_median"] = round(1000 * float(np.median(per)), 1)
        out["replay_seek_random_ms_max"] = round(1000 * float(np.max(per)), 1)
        t0 = time.perf_counter()
        steps = int(min(rec.end_s, 120))
        for t in range(steps):
            rec.at(float(t))
        out["replay_seek_in_order_ms"] = round(1000 * (time.perf_counter() - t0) / max(steps, 1), 1)
    out["meets_target"] = out["jump_1930_to_2010_s"] < TARGET_JUMP_S
    out["target"] = f"19:30 -> 20:10 in under {TARGET_JUMP_S:g} s (playing there took 57 s)"
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
