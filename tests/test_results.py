"""Run folders: complete or absent, never half-written; figures are real images."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from sim.geo.ascii import parse_ascii_map
from sim.plots import plot_density, plot_timeline
from sim.results import is_complete_run, manifest_info, read_run, write_partial, write_run
from sim.runner import run


def _payload(**extra):
    ts = pd.DataFrame({"time_s": [0.0, 10.0], "clock": ["20:00:00", "20:00:10"], "state_quiet": [5, 4],
                       "state_left": [0, 1], "place_square": [5, 3]})
    return dict(summary={"steps": np.int64(20), "ratio": np.float32(0.5), "nan": float("nan")}, timeseries=ts,
                events=[{"time_s": 5.0, "clock": "20:00:05", "kind": "event", "label": "x", "detail": ""}],
                scenario_toml="[scenario]\n", manifest=manifest_info("numba", 1, 0.1), **extra)


def test_round_trip(tmp_path):
    out = write_run(tmp_path / "run", **_payload())
    res = read_run(out)
    assert res.summary["steps"] == 20 and res.summary["nan"] is None and res.summary["status"] == "complete"
    assert list(res.timeseries["state_quiet"]) == [5, 4] and res.timeseries["state_quiet"].dtype.kind == "i"
    assert res.events["label"].tolist() == ["x"]
    assert res.manifest["versions"]["numpy"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failing_figure_leaves_no_folder(tmp_path):
    def broken(path):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_run(tmp_path / "run", **_payload(figures={"broken": broken}))
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_and_refuses(tmp_path):
    write_run(tmp_path / "run", **_payload())
    p = _payload()
    p["summary"]["steps"] = 99
    write_run(tmp_path / "run", **p)
    assert read_run(tmp_path / "run").summary["steps"] == 99
    with pytest.raises(FileExistsError):
        write_run(tmp_path / "run", overwrite=False, **_payload())


def test_partial_folders_are_never_complete(tmp_path):
    out = write_partial(tmp_path / "run", **_payload())
    assert out.name == "run.partial" and not is_complete_run(out)
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"


def test_kill_9_while_writing_leaves_the_old_run_or_nothing(tmp_path):
    """A writer killed inside a slow figure: the previous complete folder stays as it was."""
    write_run(tmp_path / "run", **_payload())
    code = f"""
import time, sys
sys.path.insert(0, {str(os.getcwd())!r})
from tests.test_results import _payload
from sim.results import write_run
p = _payload(figures={{"slow": lambda path: (open({str(tmp_path / 'started')!r}, 'w').close(), time.sleep(60))}})
p["summary"]["steps"] = 1234
write_run({str(tmp_path / 'run')!r}, **p)
"""
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while not (tmp_path / "started").exists():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert is_complete_run(tmp_path / "run") and read_run(tmp_path / "run").summary["steps"] == 20
    write_run(tmp_path / "other", **_payload())  # the next write into the same folder cleans the debris
    write_run(tmp_path / "run", **_payload())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "started") == ["other", "run"]


def test_figures_are_real_images(tmp_path):
    ts = _payload()["timeseries"]
    plot_timeline(ts, tmp_path / "t.png", events=pd.DataFrame(_payload()["events"]), title="t")
    gm = parse_ascii_map("#######\n#AAAA.#\n#AAAA.#\n#######", places={"A": "square"}, exits={})
    snaps = [("20:00", np.array([0, 1, 3]), np.array([0, 1, 2])), ("20:10", np.array([1]), np.array([1]))]
    fig = plot_density(gm, snaps, tmp_path / "d.png", bin_m=1.0)
    assert fig.vmax == pytest.approx(2.0)  # two people in one 1 m^2 bin, shared across panels
    for name in ("t.png", "d.png"):
        img = imread(tmp_path / name)
        assert img.shape[0] > 100 and img.std() > 0.02


def test_run_writes_the_documented_folder(tmp_path):
    out = run("scenarios/examples/square_and_street.toml", out=tmp_path / "r", progress=False)
    res = read_run(out)
    for key in ("scenario", "seed", "engine", "steps", "sim_seconds", "wall_seconds", "protesters", "police",
                "final_counts", "agent_steps_per_second", "first_force_s", "injured_protesters", "arrested"):
        assert key in res.summary
    assert (out / "figures" / "timeline.png").is_file() and (out / "figures" / "density.png").is_file()
    assert "place_gate" in res.timeseries and "clock" in res.timeseries
    assert (out / "scenario.toml").read_text().startswith("[scenario]")


def test_interrupted_run_keeps_its_data(tmp_path, monkeypatch):
    from sim import model as model_mod

    real_step = model_mod.ProtestModel.step

    def step(self):
        if self.steps_done == 100:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(model_mod.ProtestModel, "step", step)
    with pytest.raises(KeyboardInterrupt):
        run("scenarios/examples/square_and_street.toml", out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()
    partial = tmp_path / "r.partial"
    summary = json.loads((partial / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == 100
    assert len(pd.read_parquet(partial / "timeseries.parquet")) > 5
