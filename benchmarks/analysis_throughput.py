"""Case: evaluations per second of sensitivity analysis and calibration on 1 and 2 worker processes,
and the shipped 5 October calibration's ``--quick`` budget end to end.

* ``sensitivity``: a Morris design (2 trajectories of the shipped spec's 11 parameters: 24 runs)
  of the 5 October scenario cut to its first ``DURATION`` simulated seconds (a few seconds of wall
  time per run), from an empty folder each time (worker start-up included);
* ``calibration``: the shipped calibration's priors and targets on the same short runs, 6
  particles, 2 generations; pyabc proposes in rounds, so workers wait at the end of each round.
  Ten minutes from 19:30 come before any force, so nobody is injured, the police share is NaN
  and every particle is at infinite distance: this measures the machinery, not an inference;
* ``evaluations_per_second`` of each, and ``speedup_2_vs_1`` (target >= 1.7 on 2 cores); the
  same design on a local dask.distributed cluster of two worker processes (if the dask extra is
  installed), whose evaluations must equal the process pool's;
* case ``calibration_quick`` (``run_quick_calibration``): the shipped calibration with
  ``--quick`` over the whole evening, its wall time (target: under an hour on this 2-core
  machine). The benchmark's own ``--quick`` (a smoke test) cuts every run to 20 simulated
  seconds and the budgets to a few runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from sim.run.calibrate import load_calibration, run_calibration  # noqa: E402
from sim.run.sensitivity import load_sensitivity, run_sensitivity  # noqa: E402

SENSITIVITY = ROOT / "scenarios" / "sensitivity" / "bishkek_2020_10_05.toml"
CALIBRATION = ROOT / "scenarios" / "calibration" / "bishkek_2020_10_05.toml"
DURATION = 600.0  # simulated seconds per run in the throughput trials


def _short(spec, duration: float, **changes):
    design = dataclasses.replace(spec.design, duration_s=duration)
    return dataclasses.replace(spec, design=design, **changes)


def _trial(kind: str, spec, out: Path, workers: int, scheduler: str | None = None) -> dict:
    t0 = time.perf_counter()
    if kind == "sensitivity":
        run_sensitivity(spec, workers=workers, scheduler=scheduler, out=out, progress=False, figures=False)
        info = json.loads((out / "sensitivity.json").read_text())
    else:
        run_calibration(spec, workers=workers, scheduler=scheduler, out=out, progress=False, figures=False)
        info = json.loads((out / "calibration.json").read_text())
    wall = time.perf_counter() - t0
    n = info["session"]["executed"]
    return {"workers": workers, "executor": info["session"]["executor"], "evaluations": n,
            "wall_seconds": round(wall, 2),
            "evaluations_per_second": n / wall, "mean_run_seconds": info["session"]["task_seconds"] / max(n, 1)}


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "evaluations.parquet").sort_values("run_id").reset_index(drop=True)


def _has_dask() -> bool:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool) -> dict:
    duration = 20.0 if quick else DURATION
    sa = _short(load_sensitivity(SENSITIVITY), duration, methods=("morris",), morris_trajectories=2)
    cal = _short(load_calibration(CALIBRATION), duration, population=3 if quick else 6,
                 generations=1 if quick else 2, predictive=0)
    if quick:  # a smoke test: 3 of the 11 parameters
        sa = dataclasses.replace(sa, design=dataclasses.replace(sa.design, parameters=sa.design.parameters[:3]))
    result = {"sim_seconds_per_run": duration}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # fields cached and kernels compiled, as for any user after the first run
        run_sensitivity(_short(sa, 1.0, morris_trajectories=2), workers=1, out=tmp / "warm", progress=False,
                        figures=False)
        for kind, spec in (("sensitivity", sa), ("calibration", cal)):
            trials = {w: _trial(kind, spec, tmp / f"{kind}-{w}", w) for w in (1, 2)}
            rows = {w: _rows(tmp / f"{kind}-{w}") for w in (1, 2)}
            result[kind] = {"one_worker": trials[1], "two_workers": trials[2],
                            "speedup_2_vs_1": trials[2]["evaluations_per_second"] / trials[1]["evaluations_per_second"],
                            "same_results_on_1_and_2_workers": bool(rows[1].equals(rows[2]))}
            if _has_dask():  # a local dask.distributed cluster of two worker processes
                result[kind]["dask_two_workers"] = _trial(kind, spec, tmp / f"{kind}-dask", 2, scheduler="local:2")
                result[kind]["same_results_on_dask_and_the_process_pool"] = bool(
                    _rows(tmp / f"{kind}-dask").equals(rows[2]))
    result["target"] = "2 workers >= 1.7x one worker in evaluations per second" if not quick else "smoke: tiny budgets"
    return result


def run_quick_calibration(quick: bool) -> dict:
    """The shipped calibration with its ``--quick`` budget over the whole evening, on 2 workers."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        spec = load_calibration(CALIBRATION, quick=True)
        if quick:
            spec = _short(spec, 20.0, population=3, generations=1, predictive=1)
        run_calibration(spec, workers=2, out=Path(tmp) / "quick", progress=False)
        info = json.loads((Path(tmp) / "quick" / "calibration.json").read_text())
        wall = time.perf_counter() - t0
    return {"wall_seconds": round(wall, 1), "evaluations": info["session"]["executed"],
            "sim_seconds_per_run": spec.design.run_duration, "under_an_hour": wall < 3600,
            "target": "under an hour on 2 cores" if not quick else "smoke: 3 runs of 20 s"}


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
