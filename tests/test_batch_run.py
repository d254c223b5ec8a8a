"""Batches: resumed after kill -9 with nothing lost or run twice, the same rows on any number of workers
and on a dask.distributed cluster, failing runs recorded without stopping the batch."""

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.run.batch import run_batch
from sim.run.sweep import load_sweep
from sim.results import is_complete_run

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
# what may differ between two batches of the same sweep: timings
TIMING = ["wall_seconds"]


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    """12 short runs of the pursuit example: police numbers x the angry crowd's legitimacy, 3 replicates."""
    path = tmp_path_factory.mktemp("sweep") / "pursuit_sweep.toml"
    path.write_text(f"""
[sweep]
name = "pursuit test sweep"
scenario = "{PURSUIT}"
replicates = 3
base_seed = 11
duration_s = 90
metrics = ["arrested", "final_counts.protesters.active", "final_counts.protesters.fleeing", "first_force_s"]

[parameters]
police.unit.count = [4, 12]
crowds.angry.legitimacy = [0.0, 0.5]
""")
    return path


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory):
    """The sweep run uninterrupted on one worker process."""
    out = run_batch(sweep_file, workers=1, out=tmp_path_factory.mktemp("ref") / "batch", progress=False)
    return out, _table(out)


def _table(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "runs.parquet")
    return df.drop(columns=TIMING)


def _complete(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if not p.name.startswith(".") and is_complete_run(p)] if runs.exists() else []


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_reference_batch(reference, sweep_file):
    out, df = reference
    assert len(df) == 12 and set(df["status"]) == {"complete"}
    assert list(df.columns[:6]) == ["run_id", "point", "replicate", "seed", "police.unit.count",
                                    "crowds.angry.legitimacy"]
    assert df["arrested"].nunique() > 1  # the seeds and parameters matter
    info = json.loads((out / "batch.json").read_text())
    assert info["status"] == "complete" and info["runs"] == 12 and info["session"]["executed"] == 12
    for _, row in df.iterrows():  # every row is its run folder
        summary = json.loads((out / row["run_dir"] / "summary.json").read_text())
        assert summary["seed"] == row["seed"] and summary["arrested"] == row["arrested"]
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"arrested__vs__police.unit.count.png", "arrested__vs__crowds.angry.legitimacy.png",
            "arrested__heatmap.png", "points.csv"} <= figures
    assert all((out / "figures" / f).stat().st_size > 5000 for f in figures if f.endswith(".png"))
    # running it again does nothing
    again = run_batch(sweep_file, workers=1, out=out, progress=False)
    assert json.loads((again / "batch.json").read_text())["session"]["executed"] == 0
    pd.testing.assert_frame_equal(_table(out), df)


def test_kill_9_mid_batch_then_resume(reference, sweep_file, tmp_path):
    """A real batch process killed with SIGKILL; the same command completes only the missing runs."""
    out = tmp_path / "batch"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", str(sweep_file), "--workers", "2", "--out", str(out),
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(_complete(out / "runs")) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the batch made no progress"
            workers = _children(proc.pid) or workers
            time.sleep(0.02)
        workers = _children(proc.pid) or workers
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # its worker processes die with it: no orphan writes a run folder behind the resumed batch's back
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(_alive(w) for w in workers)

    before = {p.name: (p / "summary.json").stat().st_mtime_ns for p in _complete(out / "runs")}
    assert 3 <= len(before) < 12, f"killed too late to test anything: {len(before)} runs were complete"
    if (out / "runs.parquet").exists():  # what was there at the kill is a readable table
        assert len(pd.read_parquet(out / "runs.parquet")) == 12

    resumed = run_batch(sweep_file, workers=2, out=out, progress=False)
    info = json.loads((resumed / "batch.json").read_text())
    assert info["session"]["already_done"] == len(before)
    assert info["session"]["executed"] == 12 - len(before)  # only the missing runs ran
    for name, mtime in before.items():  # and the complete ones were not touched
        assert (out / "runs" / name / "summary.json").stat().st_mtime_ns == mtime
    df = _table(out)
    assert df["run_id"].is_unique and len(df) == 12
    pd.testing.assert_frame_equal(df, reference[1])  # identical to the uninterrupted batch (on 1 worker)
    leftovers = [p.name for p in (out / "runs").iterdir() if ".tmp-" in p.name or p.name.endswith(".running")]
    assert not leftovers
    # the runs themselves, not only their summaries, are the same
    for run_dir in reference[1]["run_dir"]:
        a = pd.read_parquet(reference[0] / run_dir / "timeseries.parquet")
        b = pd.read_parquet(out / run_dir / "timeseries.parquet")
        pd.testing.assert_frame_equal(a, b)


def _start_and_kill(sweep_file, out: Path, complete_at_least: int) -> None:
    """Start the batch command and kill -9 it once ``complete_at_least`` runs are complete (or it ends)."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", str(sweep_file), "--workers", "2", "--out", str(out),
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while len(_complete(out / "runs")) < complete_at_least and proc.poll() is None:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_killed_again_and_again_a_batch_ends_as_if_never_killed(reference, sweep_file, tmp_path):
    """kill -9 after each of several points of progress, each time resumed by the same command: in the end
    no marker or temporary folder is left, no complete run was written twice, and the table and every
    run's time series equal the uninterrupted batch's."""
    out = tmp_path / "batch"
    first_seen: dict[str, int] = {}
    for target in (1, 2, 4, 6, 8, 10):
        _start_and_kill(sweep_file, out, target)
        for run_dir in _complete(out / "runs"):
            mtime = (run_dir / "summary.json").stat().st_mtime_ns
            assert first_seen.setdefault(run_dir.name, mtime) == mtime, f"{run_dir.name} was run again"
    run_batch(sweep_file, workers=2, out=out, progress=False)
    for name, mtime in first_seen.items():
        assert (out / "runs" / name / "summary.json").stat().st_mtime_ns == mtime
    leftovers = [p.name for p in (out / "runs").iterdir() if ".tmp-" in p.name or p.name.endswith(".running")]
    assert not leftovers
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    pd.testing.assert_frame_equal(_table(out), reference[1])
    for run_dir in reference[1]["run_dir"]:
        pd.testing.assert_frame_equal(pd.read_parquet(reference[0] / run_dir / "timeseries.parquet"),
                                      pd.read_parquet(out / run_dir / "timeseries.parquet"))


def test_dask_local_cluster_gives_the_same_rows(reference, sweep_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = run_batch(sweep_file, scheduler=cluster.scheduler_address, out=tmp_path / "dask", progress=False)
    info = json.loads((out / "batch.json").read_text())
    assert info["session"]["executor"].startswith("dask tcp://") and info["session"]["executed"] == 12
    pd.testing.assert_frame_equal(_table(out), reference[1])


def test_a_failing_run_is_recorded_and_the_batch_goes_on(reference, sweep_file, tmp_path, monkeypatch):
    import sim.run.runner

    real_run = sim.run.runner.run_to_folder
    bad_seeds = set(reference[1]["seed"].iloc[[1, 7]])

    def flaky(scenario, *, seed=None, **kwargs):
        if seed in bad_seeds:
            raise RuntimeError(f"boom at seed {seed}")
        return real_run(scenario, seed=seed, **kwargs)

    monkeypatch.setattr(sim.run.runner, "run_to_folder", flaky)
    sweep = load_sweep(sweep_file)
    with cf.ThreadPoolExecutor(2) as pool:  # any concurrent.futures executor will do
        out = run_batch(sweep, executor=pool, out=tmp_path / "b", progress=False, figures=False)
    df = pd.read_parquet(out / "runs.parquet")
    failed = df[df["status"] == "failed"]
    assert set(failed["seed"]) == bad_seeds and len(df[df["status"] == "complete"]) == 10
    assert all(e.startswith("RuntimeError: boom at seed") for e in failed["error"])
    info = json.loads((out / "batch.json").read_text())
    assert info["status"] == "complete_with_failures" and info["failed"] == 2
    summary = json.loads((out / failed["run_dir"].iloc[0] / "summary.json").read_text())
    assert summary["status"] == "failed" and "Traceback" in summary["traceback"]

    # failures are results too: the same command does not repeat them ...
    with cf.ThreadPoolExecutor(2) as pool:
        again = run_batch(sweep, executor=pool, out=out, progress=False, figures=False)
    assert json.loads((again / "batch.json").read_text())["session"]["executed"] == 0
    # ... unless asked to, once the cause is fixed
    monkeypatch.setattr(sim.run.runner, "run_to_folder", real_run)
    with cf.ThreadPoolExecutor(2) as pool:
        again = run_batch(sweep, executor=pool, out=out, progress=False, retry_failed=True, figures=False)
    assert json.loads((again / "batch.json").read_text())["session"]["executed"] == 2
    pd.testing.assert_frame_equal(_table(out), reference[1])


def crashing_execute(task):
    """Stands in for sim.run.batch.execute in the worker processes: dies outright at one seed."""
    if task["seed"] == int(os.environ["PROTEST_SIM_TEST_CRASH_SEED"]):
        os._exit(3)  # as a segfault or the OOM killer would: no exception, no clean-up
    from sim.run.batch import execute

    return execute(task)


def test_a_run_that_kills_its_worker_process(reference, sweep_file, tmp_path, monkeypatch):
    """The pool breaks; it is restarted, the other runs complete, the culprit is recorded as failed."""
    import sim.run.batch

    bad_seed = int(reference[1]["seed"].iloc[4])
    monkeypatch.setenv("PROTEST_SIM_TEST_CRASH_SEED", str(bad_seed))
    monkeypatch.setattr(sim.run.batch, "execute", crashing_execute)
    out = run_batch(sweep_file, workers=2, out=tmp_path / "b", progress=False, figures=False)
    df = _table(out)
    failed = df[df["status"] == "failed"]
    assert list(failed["seed"]) == [bad_seed] and "worker process died running it, twice" in failed["error"].iloc[0]
    ok = df["status"] == "complete"
    assert ok.sum() == 11
    pd.testing.assert_frame_equal(df[ok], reference[1][ok])
    assert not [p.name for p in (out / "runs").iterdir() if p.name.endswith(".running")]
