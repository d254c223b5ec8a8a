"""Run folders: complete or absent, never half-written; what they hold reads back as written."""

import datetime as dt
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import atomic, results
from sim.atomic import clean_stale_temps
from sim.provenance import manifest_info
from sim.results import (
    IncompleteRunError,
    is_complete_run,
    iter_runs,
    read_run,
    to_jsonable,
    write_json,
    write_partial,
    write_run,
)

ROOT = Path(__file__).resolve().parents[1]


def _payload(**extra):
    ts = pd.DataFrame({"time_s": [0.0, 10.0, 20.0], "clock": ["20:00:00", "20:00:10", "20:00:20"],
                       "state_quiet": [5, 4, 3], "state_left": [0, 1, 2], "place_square": [5, 3, 2],
                       "gas_grams": [0.0, 1.5, 0.25]})
    return dict(summary={"steps": np.int64(20), "ratio": np.float32(0.5), "nan": float("nan"),
                         "where": Path("a/b"), "counts": np.array([1, 2]), "flag": np.bool_(True)},
                timeseries=ts,
                events=[{"time_s": 5.0, "clock": "20:00:05", "kind": "event", "label": "x", "detail": ""},
                        {"time_s": 15.0, "clock": "20:00:15", "kind": "trigger", "label": "NA", "detail": "a, b"}],
                scenario_toml="[scenario]\nname = \"t\"\n", manifest=manifest_info("numba", 1, 0.1), **extra)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- round trip ----------------------------------------------------------------------------------
def test_round_trip_preserves_values_and_types(tmp_path):
    out = write_run(tmp_path / "run", **_payload())
    assert out == tmp_path / "run" and is_complete_run(out)
    assert _names(out) == ["events.csv", "manifest.json", "scenario.toml", "summary.json", "timeseries.parquet"]
    res = read_run(out)
    s = res.summary
    assert s["status"] == "complete" and s["steps"] == 20 and s["ratio"] == 0.5 and s["nan"] is None
    assert s["where"] == "a/b" and s["counts"] == [1, 2] and s["flag"] is True
    ts = res.timeseries
    assert list(ts.columns) == list(_payload()["timeseries"].columns)
    assert ts["time_s"].dtype == np.float64 and ts["state_quiet"].dtype == np.int64
    assert ts["gas_grams"].tolist() == [0.0, 1.5, 0.25] and ts["clock"].tolist()[1] == "20:00:10"
    ev = res.events
    assert list(ev.columns) == list(results.EVENT_COLUMNS)
    assert ev["time_s"].dtype == np.float64 and ev["time_s"].tolist() == [5.0, 15.0]
    assert ev["label"].tolist() == ["x", "NA"] and ev["detail"].tolist() == ["", "a, b"]  # text stays text
    assert res.manifest["engine"] == "numba" and res.manifest["versions"]["numpy"] == np.__version__
    assert res.scenario_toml.startswith("[scenario]")
    assert _names(tmp_path) == ["run"]  # no temporary folder left


def test_events_are_normalised_to_the_contract(tmp_path):
    out = write_run(tmp_path / "a", **{**_payload(), "events": []})
    ev = read_run(out).events
    assert list(ev.columns) == list(results.EVENT_COLUMNS) and len(ev) == 0
    frame = pd.DataFrame([{"label": "late", "time_s": 3.0, "extra": 7}])  # missing columns, other order
    ev = read_run(write_run(tmp_path / "b", **{**_payload(), "events": frame})).events
    assert list(ev.columns) == [*results.EVENT_COLUMNS, "extra"]
    assert ev.loc[0, "label"] == "late" and ev.loc[0, "detail"] == "" and ev.loc[0, "extra"] == 7


def test_figures_land_in_figures_folder(tmp_path):
    def draw(path):
        Path(path).write_bytes(b"\x89PNG fake")

    res = read_run(write_run(tmp_path / "run", **_payload(figures={"timeline": draw, "density.png": draw})))
    assert sorted(res.figures) == ["density", "timeline"]
    assert (tmp_path / "run" / "figures" / "timeline.png").read_bytes().startswith(b"\x89PNG")


def test_timeseries_without_the_contract_columns_is_refused(tmp_path):
    p = _payload()
    p["timeseries"] = p["timeseries"].drop(columns=["clock"])
    with pytest.raises(ValueError, match="clock"):
        write_run(tmp_path / "run", **p)
    assert list(tmp_path.iterdir()) == []


# --- atomicity -----------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failing_figure_leaves_no_folder(tmp_path, error):
    def broken(path):
        Path(path).write_bytes(b"half")
        raise error

    with pytest.raises(type(error)):
        write_run(tmp_path / "run", **_payload(figures={"broken": broken}))
    assert list(tmp_path.iterdir()) == []


def test_a_failing_rewrite_keeps_the_previous_run(tmp_path):
    write_run(tmp_path / "run", **_payload())

    def broken(path):
        raise RuntimeError("boom")

    p = _payload(figures={"broken": broken})
    p["summary"]["steps"] = 99
    with pytest.raises(RuntimeError):
        write_run(tmp_path / "run", **p)
    assert read_run(tmp_path / "run").summary["steps"] == 20
    assert _names(tmp_path) == ["run"]


_KILLED_WRITER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.test_results import _payload
from sim.results import write_run
def slow(path):
    open(path, "wb").write(b"partial png")
    open({started!r}, "w").close()
    time.sleep(60)
p = _payload(figures={{"slow": slow}})
p["summary"]["steps"] = 1234
write_run({out!r}, **p)
"""


def _kill_while_writing(tmp_path: Path, out: Path) -> None:
    started = tmp_path / "started"
    code = _KILLED_WRITER.format(root=str(ROOT), started=str(started), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    deadline = time.time() + 60
    while not started.exists():
        assert proc.poll() is None, "writer died before it started"
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    started.unlink()


def test_kill_9_while_writing_leaves_the_previous_run(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs / "run", **_payload())
    _kill_while_writing(tmp_path, runs / "run")
    assert is_complete_run(runs / "run") and read_run(runs / "run").summary["steps"] == 20
    debris = [p for p in runs.iterdir() if p.name != "run"]
    assert len(debris) == 1 and debris[0].name.startswith(".run.tmp-")  # the dead writer's folder ...
    assert not is_complete_run(debris[0]) and iter_runs(runs) == [runs / "run"]  # ... which readers ignore
    write_run(runs / "other", **_payload())  # the next write into the same parent removes it
    assert _names(runs) == ["other", "run"]


def test_kill_9_while_writing_a_new_run_leaves_nothing(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    _kill_while_writing(tmp_path, runs / "run")
    assert not (runs / "run").exists() and not is_complete_run(runs / "run")
    assert iter_runs(runs) == []
    write_run(runs / "run", **_payload())
    assert _names(runs) == ["run"] and is_complete_run(runs / "run")


# --- overwrite -----------------------------------------------------------------------------------
@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "portable"])
def test_overwrite_replaces_and_refuses(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_renameat2", None)
    write_run(tmp_path / "run", **_payload())
    p = _payload()
    p["summary"]["steps"] = 99
    write_run(tmp_path / "run", **p)
    assert read_run(tmp_path / "run").summary["steps"] == 99
    with pytest.raises(FileExistsError):
        write_run(tmp_path / "run", overwrite=False, **_payload())
    assert read_run(tmp_path / "run").summary["steps"] == 99
    assert write_run(tmp_path / "fresh", overwrite=False, **_payload()) == tmp_path / "fresh"
    assert _names(tmp_path) == ["fresh", "run"]


def test_overwrite_false_refuses_even_an_empty_folder(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(FileExistsError):
        write_run(tmp_path / "run", overwrite=False, **_payload())
    assert _names(tmp_path) == ["run"] and list((tmp_path / "run").iterdir()) == []


def test_a_file_in_the_way_is_not_replaced(tmp_path):
    (tmp_path / "run").write_text("mine")
    with pytest.raises(FileExistsError):
        write_run(tmp_path / "run", **_payload())
    assert (tmp_path / "run").read_text() == "mine" and _names(tmp_path) == ["run"]


def test_concurrent_writers_of_one_folder_leave_one_complete_run(tmp_path):
    errors = []

    def writer(i):
        try:
            p = _payload()
            p["summary"]["steps"] = i
            write_run(tmp_path / "run", **p)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_run(tmp_path / "run").summary["steps"] in range(6)
    assert _names(tmp_path) == ["run"]


# --- partial and incomplete folders --------------------------------------------------------------
def test_partial_folders_are_never_complete(tmp_path):
    out = write_partial(tmp_path / "run", **_payload())
    assert out == tmp_path / "run.partial" and not is_complete_run(out)
    assert not (tmp_path / "run").exists()
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"
    with pytest.raises(IncompleteRunError, match="interrupted"):
        read_run(out)
    res = read_run(out, allow_incomplete=True)
    assert not res.complete and len(res.timeseries) == 3
    assert iter_runs(tmp_path) == [] and iter_runs(tmp_path, complete_only=False) == [out]


def test_partial_survives_a_failing_figure(tmp_path):
    def broken(path):
        raise RuntimeError("no map")

    out = write_partial(tmp_path / "run", **_payload(figures={"broken": broken}))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "no map" in summary["figures_error"]
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 3


def test_incomplete_folders_are_recognised(tmp_path):
    assert not is_complete_run(tmp_path / "missing")
    with pytest.raises(IncompleteRunError, match="no such folder"):
        read_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IncompleteRunError, match="summary.json"):
        read_run(tmp_path / "empty")
    out = write_run(tmp_path / "run", **_payload())
    (out / "timeseries.parquet").unlink()
    assert not is_complete_run(out)
    with pytest.raises(IncompleteRunError, match="timeseries.parquet"):
        read_run(out)
    # a temporary folder whose summary is already written still does not count
    tmp = tmp_path / f".x{atomic.TMP_MARK}1-abc"
    write_run(tmp_path / "y", **_payload()).rename(tmp)
    assert not is_complete_run(tmp)
    assert isinstance(IncompleteRunError("x"), FileNotFoundError)


# --- stale temporary folders ---------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temp(parent: Path, name: str, pid: int, *, host: str | None, age_s: float = 0.0) -> Path:
    """A temporary folder as a writer on ``host`` (this one, another, or unnamed) leaves it."""
    tag = {None: "", socket.gethostname(): f"@{atomic.HOST_TAG}"}.get(host, "@0badc0de")
    p = parent / f".{name}{atomic.TMP_MARK}{pid}{tag}-deadbeef"
    p.mkdir(parents=True)
    (p / "timeseries.parquet").write_bytes(b"x")
    if age_s:
        then = time.time() - age_s
        os.utime(p, (then, then))
    return p


def test_stale_temp_dirs_are_cleaned_live_ones_kept(tmp_path):
    dead, here = _dead_pid(), socket.gethostname()
    mine_dead = _temp(tmp_path, "a", dead, host=here)
    live = _temp(tmp_path, "b", os.getpid(), host=here)  # a writer in this process (another thread)
    foreign_new = _temp(tmp_path, "c", dead, host="elsewhere")  # maybe alive on the other host
    foreign_old = _temp(tmp_path, "d", dead, host="elsewhere", age_s=600)
    anonymous_old = _temp(tmp_path, "e", dead, host=None, age_s=600)
    ancient_live = _temp(tmp_path, "f", os.getpid(), host=here, age_s=2 * 86400)
    (tmp_path / "keep.tmp-1-x").mkdir()  # not hidden: not ours
    removed = clean_stale_temps(tmp_path)
    assert sorted(removed) == sorted([mine_dead, foreign_old, anonymous_old, ancient_live])
    assert live.exists() and foreign_new.exists() and (tmp_path / "keep.tmp-1-x").exists()
    write_run(tmp_path / "run", **_payload())  # writing cleans too, and keeps the live ones
    assert live.exists() and is_complete_run(tmp_path / "run")



def test_a_temp_folder_of_a_dead_unreaped_writer_is_stale(tmp_path):
    """A killed writer that nobody reaped (a zombie, as in containers whose first process reaps no
    orphans) still answers kill(pid, 0); its folder must go all the same."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        left = _temp(tmp_path, "a", child.pid, host=socket.gethostname())
        assert clean_stale_temps(tmp_path) == [left]
    finally:
        child.wait()


def test_a_temp_folder_whose_writer_died_at_once_is_stale_at_once(tmp_path):
    """Killed right after creating its temporary folder (before writing anything into it), a writer
    on this host still leaves a folder the next clean-up recognises: who wrote it is in its name."""
    code = f"from pathlib import Path; from sim.atomic import new_temp_folder; new_temp_folder(Path({str(tmp_path)!r}) / 'run')"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and not any(left[0].iterdir())
    assert clean_stale_temps(tmp_path) == left


def test_a_temp_file_of_a_dead_writer_here_goes_a_look_alike_stays(tmp_path):
    """kill -9 while a table is rewritten leaves its temporary file; the next clean-up removes it,
    never a hidden file that only looks like one, nor a live writer's."""
    dead = _dead_pid()
    left = tmp_path / f".runs.parquet{atomic.TMP_MARK}{dead}@{atomic.HOST_TAG}-0123456789"
    live = tmp_path / f".runs.parquet{atomic.TMP_MARK}{os.getpid()}@{atomic.HOST_TAG}-0123456789"
    foreign = tmp_path / f".runs.parquet{atomic.TMP_MARK}{dead}@0badc0de-0123456789"
    alike = tmp_path / f".notes{atomic.TMP_MARK}{dead}-mine"
    for p in (left, live, foreign, alike):
        p.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == [left]
    assert live.exists() and foreign.exists() and alike.exists()

# --- JSON ----------------------------------------------------------------------------------------
def test_json_of_numpy_and_friends(tmp_path):
    data = {"i": np.int32(3), "f": np.float64(0.25), "f32": np.float32(1.5), "b": np.bool_(False),
            "nan": np.float64("nan"), "inf": float("inf"), "arr": np.arange(4).reshape(2, 2),
            "farr": np.array([1.0, np.nan]), "path": Path("/x/y"), 7: "int key", np.int64(8): "np key",
            "nested": [{"t": (1, np.uint8(2))}], "set": {3, 1, 2}, "when": dt.datetime(2020, 10, 5, 20, 10),
            "dur": dt.timedelta(minutes=2), "none": None, "na": pd.NA}
    write_json(tmp_path / "d.json", data)
    back = json.loads((tmp_path / "d.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert back == {"i": 3, "f": 0.25, "f32": 1.5, "b": False, "nan": None, "inf": None, "arr": [[0, 1], [2, 3]],
                    "farr": [1.0, None], "path": "/x/y", "7": "int key", "8": "np key", "nested": [{"t": [1, 2]}],
                    "set": [1, 2, 3], "when": "2020-10-05T20:10:00", "dur": 120.0, "none": None, "na": None}
    assert type(back["i"]) is int and type(back["b"]) is bool


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=6))
def test_json_floats_survive_unrounded(values):
    data = {k: np.float32(v) for k, v in values.items()}
    back = json.loads(json.dumps(to_jsonable(data), allow_nan=False))
    for k, v in data.items():
        assert back[k] is None if not math.isfinite(v) else back[k] == float(v)


def test_manifest_info():
    m = manifest_info("reference", np.int64(42), 1.25, extra={"duration_s": 60.0})
    assert m["engine"] == "reference" and m["seed"] == 42 and type(m["seed"]) is int
    assert m["wall_seconds"] == 1.25 and m["duration_s"] == 60.0
    assert m["python"] == ".".join(map(str, sys.version_info[:3])) and m["platform"]
    for package in ("numpy", "numba", "mesa", "pandas"):
        assert package in m["versions"]
    assert m["versions"]["pandas"] == pd.__version__ and m["package_version"] not in ("", None)
    assert m["git_commit"] is None or len(m["git_commit"]) >= 40
    when = dt.datetime.fromisoformat(m["written_utc"].replace("Z", "+00:00"))
    assert when.utcoffset() == dt.timedelta(0) and abs(time.time() - when.timestamp()) < 60
    json.dumps(m, allow_nan=False)


# --- the runner writes through this module -------------------------------------------------------
def test_run_writes_the_documented_folder(tmp_path):
    from sim.run.runner import run

    out = run(ROOT / "scenarios/examples/square_and_street.toml", out=tmp_path / "r", progress=False)
    res = read_run(out)
    for key in ("scenario", "seed", "engine", "steps", "sim_seconds", "wall_seconds", "protesters", "police",
                "final_counts", "agent_steps_per_second", "first_force_s", "injured_protesters", "arrested"):
        assert key in res.summary
    assert (out / "figures" / "timeline.png").is_file() and (out / "figures" / "density.png").is_file()
    assert "protesters_in_gate" in res.timeseries and "clock" in res.timeseries
    assert (out / "scenario.toml").read_text().startswith("[scenario]")


def test_interrupted_run_keeps_its_data(tmp_path, monkeypatch):
    from sim.protest import model as model_mod
    from sim.run.runner import run

    real_step = model_mod.ProtestModel.step

    def step(self):
        if self.steps_done == 100:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(model_mod.ProtestModel, "step", step)
    with pytest.raises(KeyboardInterrupt):
        run(ROOT / "scenarios/examples/square_and_street.toml", out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()
    partial = tmp_path / "r.partial"
    summary = json.loads((partial / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == 100
    assert len(pd.read_parquet(partial / "timeseries.parquet")) > 5


def test_a_run_whose_figure_fails_keeps_its_data(tmp_path, monkeypatch):
    from sim.protest import density
    from sim.run import runner

    def broken(*args, **kwargs):
        raise RuntimeError("no figure today")

    monkeypatch.setattr(density, "plot_density", broken)  # the runner imports it when it writes
    with pytest.raises(RuntimeError, match="no figure today"):
        runner.run(ROOT / "scenarios/examples/square_and_street.toml", out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()
    summary = json.loads((tmp_path / "r.partial" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "no figure today" in summary["figures_error"]
    assert len(pd.read_parquet(tmp_path / "r.partial" / "timeseries.parquet")) > 5


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "figures"
    out.mkdir()
    (out / "old.png").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.staged_folder(out, replace=True) as tmp:
            (tmp / "half.png").write_bytes(b"half")
            raise RuntimeError("drawing failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]  # no temporary folder left behind
    assert sorted(p.name for p in out.iterdir()) == ["old.png"]  # the previous version untouched
    with atomic.staged_folder(out, replace=True) as tmp:
        (tmp / "new.png").write_bytes(b"new")
        assert not (out / "new.png").exists()  # nothing visible before the block ends
    assert sorted(p.name for p in out.iterdir()) == ["new.png"]
    with pytest.raises(FileExistsError):
        with atomic.staged_folder(out, replace=False) as tmp:
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]
