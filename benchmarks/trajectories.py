"""Case: what recording trajectories costs, and how fast ``protest-sim analyze`` reads them.

The 5 October scenario is run as ``protest-sim run`` runs it (``run_to_folder``: set-up, stepping,
the run folder), without and with ``--trajectories 1``, in turns (without, with, with, without),
after a warm-up that compiles or loads the kernels. Reported: the median wall times, the
overhead of trajectories (target <= 15%; it includes ``gas.parquet``, the tear-gas cloud written with
them), the files' sizes (trajectories per agent and frame; the gas file's bytes), and the wall time
of ``analyze`` on the recorded run (target < 60 s).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from sim.kinds import load_scenario
from sim.run.runner import run_to_folder

SCENARIO = "scenarios/bishkek_2020_10_05.toml"


def _timed(scenario, out: Path, duration, every) -> tuple[float, dict]:
    t0 = time.perf_counter()
    outcome = run_to_folder(scenario, duration_s=duration, out=out, progress=False, force=True,
                            trajectories_every_s=every)
    return time.perf_counter() - t0, outcome.summary


def run(quick: bool) -> dict:
    from sim.analysis.analyze import analyze

    scenario = load_scenario(SCENARIO)
    duration = 60.0 if quick else None
    order = [None, 1.0] if quick else [None, 1.0, 1.0, None]
    walls: dict[str, list] = {"without": [], "with": []}
    stepping: dict[str, list] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _timed(scenario, tmp / "warm", 5.0, 1.0)  # kernels compiled or loaded, fields cached
        for k, every in enumerate(order):
            key = "with" if every else "without"
            wall, summary = _timed(scenario, tmp / f"{key}{k}", duration, every)
            walls[key].append(wall)
            stepping[key].append(summary["run_seconds"])
            if every:
                recorded = tmp / f"{key}{k}"
        path = recorded / "trajectories.parquet"
        meta = pq.ParquetFile(path).metadata
        t0 = time.perf_counter()
        _, about = analyze(recorded)
        analyze_s = time.perf_counter() - t0
        size = path.stat().st_size
        gas = recorded / "gas.parquet"
        gas_bytes, gas_rows = gas.stat().st_size, pq.ParquetFile(gas).metadata.num_rows
    without, with_ = statistics.median(walls["without"]), statistics.median(walls["with"])
    return {
        "scenario": SCENARIO, "sim_seconds": summary["sim_seconds"], "every_s": 1.0,
        "wall_without_s": without, "wall_with_s": with_, "overhead_share": with_ / without - 1.0,
        "stepping_without_s": statistics.median(stepping["without"]),
        "stepping_with_s": statistics.median(stepping["with"]),
        "walls": walls, "rows": meta.num_rows, "row_groups": meta.num_row_groups, "file_bytes": size,
        "bytes_per_agent_frame": size / meta.num_rows, "gas_file_bytes": gas_bytes, "gas_rows": gas_rows,
        "analyze_s": analyze_s,
        "analyze_stride_frames": about["analysis_stride_frames"],
        "target": "trajectories every second cost <= 15% of the run's wall time; analyze under 60 s",
    }
