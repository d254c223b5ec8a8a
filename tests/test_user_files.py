"""Nothing of the user's is ever deleted or written outside its place, and a shared file never points the
user's machine at another host: run folders, the field cache, a sweep's scheduler, a batch's markers."""

import concurrent.futures as cf
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.results import is_run_folder

ROOT = Path(__file__).resolve().parent.parent
CORRIDOR = ROOT / "scenarios" / "examples" / "corridor.toml"


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def _one_line_error(out) -> str:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_a_run_never_replaces_a_folder_holding_the_users_files(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("three years of work")
    for extra in ([], ["--force"]):
        line = _one_line_error(_run("run", CORRIDOR, "--duration", "5", "--quiet", "--out", mine, *extra))
        assert str(mine) in line and "never replaced" in line
        assert (mine / "chapter1.tex").read_text() == "three years of work"
        assert sorted(p.name for p in mine.iterdir()) == ["chapter1.tex"]


def test_an_earlier_run_is_replaced_only_with_force(tmp_path):
    out = tmp_path / "run"
    assert _run("run", CORRIDOR, "--duration", "2", "--quiet", "--out", out).returncode == 0
    assert is_run_folder(out)
    line = _one_line_error(_run("run", CORRIDOR, "--duration", "2", "--quiet", "--out", out))
    assert "--force" in line
    again = _run("run", CORRIDOR, "--duration", "3", "--quiet", "--out", out, "--force")
    assert again.returncode == 0, again.stderr
    assert '"sim_seconds": 3.0' in (out / "summary.json").read_text()


@pytest.mark.parametrize("out", ["", ".", "a_file"])
def test_an_output_that_is_no_folder_name_or_a_file_is_refused(tmp_path, out):
    (tmp_path / "a_file").write_text("keep me")
    line = _one_line_error(_run("run", CORRIDOR, "--duration", "2", "--quiet", "--out", out, cwd=tmp_path))
    assert "--out" in line
    assert (tmp_path / "a_file").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_an_interrupted_run_never_overwrites_a_users_folder_named_like_its_partial(tmp_path):
    from sim.results import partial_path, write_partial

    users = tmp_path / "run.partial"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    assert partial_path(tmp_path / "run") == tmp_path / "run.partial-2"
    import pandas as pd
    written = write_partial(tmp_path / "run", summary={}, timeseries=pd.DataFrame({"time_s": [0.0], "clock": ["x"]}),
                            events=[], scenario_toml="", manifest={})
    assert written == tmp_path / "run.partial-2" and (users / "notes.txt").read_text() == "mine"


def test_a_place_name_that_is_a_path_is_refused_and_the_field_cache_names_are_hashes(tmp_path, monkeypatch):
    scenario = tmp_path / "escape.toml"
    scenario.write_text(CORRIDOR.read_text().replace('A = "start"', 'A = "../../somewhere/x"').replace(
        'place = "start"', 'place = "../../somewhere/x"').replace('ascii_file = "corridor.txt"',
                                                                  f'ascii_file = "{(CORRIDOR.parent / "corridor.txt").as_posix()}"'))
    line = _one_line_error(_run("validate", scenario))
    assert "map.places.A" in line and str(scenario) in line

    # the cache itself never pastes a name into a path, whatever a map (built by code) calls its places
    from sim.geo.fields import field_for
    from sim.geo.gridmap import GridMap

    cache = tmp_path / "cache"
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(cache))
    walkable = np.ones((6, 4), np.uint8)
    place_id = np.full((6, 4), -1, np.int16)
    place_id[0, :] = 0
    gm = GridMap("m", 0.5, walkable, place_id, ("../../outside/x",))
    field_for(gm, "../../outside/x")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != scenario]
    assert written and all(cache in p.parents for p in written), written
    assert not (tmp_path / "outside").exists()


# --- the scheduler is the user's choice, not a shared file's ----------------------------------------------
@pytest.fixture()
def remote_sweep(tmp_path):
    path = tmp_path / "shared_sweep.toml"
    path.write_text(f"""
[sweep]
scenario = "{CORRIDOR.as_posix()}"
duration_s = 2
metrics = ["left_the_area"]
[parameters]
"crowds.walkers.count" = [5, 6]
[batch]
scheduler = "tcp://198.51.100.7:8786"
""")
    return path


def _thread_backend(workers):
    from sim.run.executors import Backend

    return Backend(cf.ThreadPoolExecutor(2), "threads", 2, owned=True)


def test_a_sweep_files_scheduler_is_not_contacted_unless_asked(remote_sweep, tmp_path, monkeypatch):
    import sim.run.batch
    import sim.run.executors
    from sim.errors import ScenarioError

    contacted = []

    def stub(address, workers):
        contacted.append(address)
        raise ScenarioError("stub scheduler: not contacted")

    monkeypatch.setattr(sim.run.executors, "_dask_backend", stub)
    monkeypatch.setattr(sim.run.executors, "_process_backend", _thread_backend)
    monkeypatch.delenv(sim.run.batch.SCHEDULER_ENV, raising=False)
    out = sim.run.batch.run_batch(remote_sweep, out=tmp_path / "b", progress=False, figures=False)
    assert not contacted and (out / "runs.parquet").is_file()
    with pytest.raises(ScenarioError, match="stub"):  # asked: it goes to the (stubbed) scheduler
        sim.run.batch.run_batch(remote_sweep, out=tmp_path / "c", progress=False, figures=False, scheduler_from_file=True)
    assert contacted == ["tcp://198.51.100.7:8786"]


def test_the_batch_command_says_it_ignores_a_files_scheduler(remote_sweep, tmp_path):
    out = subprocess.run([sys.executable, "-m", "sim", "batch", str(remote_sweep), "--workers", "1", "--quiet",
                          "--out", str(tmp_path / "b")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "not connecting" in out.stderr and "198.51.100.7" in out.stderr


def test_a_batch_never_writes_into_a_folder_of_the_users(remote_sweep, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "scenario.toml").write_text("my own")
    line = _one_line_error(_run("batch", remote_sweep, "--workers", "1", "--quiet", "--out", mine))
    assert "not a batch" in line and (mine / "scenario.toml").read_text() == "my own"
    (tmp_path / "f").write_text("x")
    _one_line_error(_run("batch", remote_sweep, "--workers", "1", "--quiet", "--out", tmp_path / "f"))


def test_a_batch_whose_runs_all_fail_exits_1(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'[sweep]\nscenario = "{CORRIDOR.as_posix()}"\nduration_s = 2\nengine = "python"\n'
                     '[parameters]\n"crowds.walkers.count" = [5]\n')
    # the python engine is replaced by one that fails in the worker process
    probe = f"""
import sys, sim.run.runner
def broken(*a, **k):
    raise RuntimeError("broken engine")
sim.run.runner.run_to_folder = broken
import concurrent.futures as cf, sim.run.executors, sim.cli
sim.run.executors._process_backend = lambda w: sim.run.executors.Backend(cf.ThreadPoolExecutor(1), "threads", 1,
                                                                         owned=True)
sys.exit(sim.cli.main(["batch", {str(sweep)!r}, "--quiet", "--out", {str(tmp_path / 'b')!r}]))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert "0 complete, 1 failed" in out.stdout


@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_workers_must_be_a_positive_whole_number(workers, remote_sweep):
    out = _run("batch", remote_sweep, "--workers", workers)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "--workers" in out.stderr


def test_a_resumed_batch_removes_the_marker_of_a_run_that_was_already_complete(tmp_path):
    """kill -9 between a run's folder being published and its ``.running`` marker being removed left the
    marker for good."""
    import sim.run.batch

    sweep = tmp_path / "s.toml"
    sweep.write_text(f'[sweep]\nscenario = "{CORRIDOR.as_posix()}"\nduration_s = 2\n'
                     '[parameters]\n"crowds.walkers.count" = [5, 6]\n')
    with cf.ThreadPoolExecutor(1) as pool:
        out = sim.run.batch.run_batch(sweep, executor=pool, out=tmp_path / "b", progress=False, figures=False)
    runs = out / "runs"
    done = [p for p in runs.iterdir() if is_run_folder(p)]
    assert len(done) == 2
    marker = runs / f".{done[0].name}.running"
    marker.write_text("12345")
    with cf.ThreadPoolExecutor(1) as pool:
        sim.run.batch.run_batch(sweep, executor=pool, out=out, progress=False, figures=False)
    assert not marker.exists()
