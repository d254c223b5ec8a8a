"""Calibrations and sensitivity analyses killed with SIGKILL mid-way and started again end exactly as
if never killed, with no evaluation repeated; on a local Dask cluster of two workers they give the
same results as on the process pool."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.results import is_complete_run
from sim.run.calibrate import run_calibration
from sim.run.sensitivity import run_sensitivity

from .test_calibration import SPEC as CALIBRATION
from .test_sensitivity import SPEC as SENSITIVITY

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _complete(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if not p.name.startswith(".") and is_complete_run(p)] if runs.exists() else []


def _kill_after(command: str, spec: Path, out: Path, complete_at_least: int) -> None:
    """SIGKILL the command and its worker processes at once (its own process group), as a crash does: a
    worker left alive could finish a run after the test counted the finished ones."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", command, str(spec), "--workers", "2", "--out", str(out),
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while len(_complete(out / "runs")) < complete_at_least:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    for _ in range(500):  # until the group's last process is gone (workers die a moment after the parent)
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("specs")
    (folder / "cal.toml").write_text(CALIBRATION)
    (folder / "sa.toml").write_text(SENSITIVITY)
    return folder


@pytest.fixture(scope="module")
def calibration_reference(specs, tmp_path_factory):
    """Uninterrupted, on one worker process."""
    return run_calibration(specs / "cal.toml", workers=1, out=tmp_path_factory.mktemp("cal") / "ref", progress=False)


@pytest.fixture(scope="module")
def sensitivity_reference(specs, tmp_path_factory):
    return run_sensitivity(specs / "sa.toml", workers=1, out=tmp_path_factory.mktemp("sa") / "ref", progress=False)


def _same_evaluations(a: Path, b: Path) -> None:
    cols = lambda df: df.sort_values("run_id").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(cols(pd.read_parquet(a / "evaluations.parquet")),
                                  cols(pd.read_parquet(b / "evaluations.parquet")))


@pytest.mark.parametrize("kill_at", [3, 14])  # in generation 0, and in a later generation
def test_calibration_killed_then_resumed(calibration_reference, specs, tmp_path, kill_at):
    out = tmp_path / "cal"
    _kill_after("calibrate", specs / "cal.toml", out, kill_at)
    before = {p.name: (p / "summary.json").stat().st_mtime_ns for p in _complete(out / "runs")}
    total = len(pd.read_parquet(calibration_reference / "evaluations.parquet"))
    assert kill_at <= len(before) < total
    run_calibration(specs / "cal.toml", workers=2, out=out, progress=False)
    info = json.loads((out / "calibration.json").read_text())
    # nothing lost, nothing repeated: only the missing runs ran, the finished ones were not touched
    assert info["session"]["executed"] == total - len(before)
    assert all((out / "runs" / n / "summary.json").stat().st_mtime_ns == t for n, t in before.items())
    for name in ("posterior.parquet", "predictive.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(calibration_reference / name))
    _same_evaluations(out, calibration_reference)
    assert (out / "best_scenario.toml").read_text() == (calibration_reference / "best_scenario.toml").read_text()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_sensitivity_killed_then_resumed(sensitivity_reference, specs, tmp_path):
    out = tmp_path / "sa"
    _kill_after("sensitivity", specs / "sa.toml", out, 5)
    before = len(_complete(out / "runs"))
    run_sensitivity(specs / "sa.toml", workers=2, out=out, progress=False)
    info = json.loads((out / "sensitivity.json").read_text())
    total = len(pd.read_parquet(sensitivity_reference / "evaluations.parquet"))
    assert info["session"]["executed"] == total - before
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"),
                                  pd.read_parquet(sensitivity_reference / "indices.parquet"))


def test_a_local_dask_cluster_gives_the_same_results(calibration_reference, sensitivity_reference, specs, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        cal = run_calibration(specs / "cal.toml", scheduler=cluster.scheduler_address, out=tmp_path / "cal",
                              progress=False)
        sa = run_sensitivity(specs / "sa.toml", scheduler=cluster.scheduler_address, out=tmp_path / "sa",
                             progress=False)
    assert json.loads((cal / "calibration.json").read_text())["session"]["executor"].startswith("dask tcp://")
    for name in ("posterior.parquet", "predictive.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(cal / name), pd.read_parquet(calibration_reference / name))
    _same_evaluations(cal, calibration_reference)
    pd.testing.assert_frame_equal(pd.read_parquet(sa / "indices.parquet"),
                                  pd.read_parquet(sensitivity_reference / "indices.parquet"))
