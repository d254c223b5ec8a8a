"""``protest-sim sensitivity`` and ``calibrate`` from the shell: a progress bar with an ETA while
runs go, and the same numbers from the same seed in a fresh folder (other numbers from another)."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.run.calibrate import run_calibration
from sim.run.sensitivity import run_sensitivity

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
SENSITIVITY = f"""
[sensitivity]
scenario = "{PURSUIT}"
duration_s = 30
base_seed = 7
methods = ["morris"]
metrics = ["arrested", "max:timeseries.protesters_active"]
morris_trajectories = 2
bootstrap = 50
[parameters."protest.arrest_per_s"]
low = 0.01
high = 0.5
distribution = "loguniform"
[parameters."police.unit.count"]
low = 4
high = 12
"""
CALIBRATION = f"""
[calibration]
scenario = "{PURSUIT}"
duration_s = 30
base_seed = 7
population = 3
generations = 2
max_evaluations = 40
predictive = 2
[parameters."protest.arrest_per_s"]
low = 0.005
high = 0.5
distribution = "loguniform"
[[targets]]
metric = "arrested"
low = 1
high = 4
"""
POOL = ThreadPoolExecutor(2)  # the fresh-folder repeats, without starting worker processes again
# tqdm's "[elapsed<remaining" part for a bar that is not finished: "3/6 [00:04<00:04"
ETA = re.compile(r"(\d+)/(\d+) \[\d+:\d\d<(\d+:\d\d)")


def _spec(tmp_path, text, name, seed=7) -> Path:
    path = tmp_path / name
    path.write_text(text.replace("base_seed = 7", f"base_seed = {seed}"))
    return path


def _etas(err: str) -> list[tuple[int, int, str]]:
    return [(int(k), int(n), eta) for k, n, eta in ETA.findall(err) if int(k) < int(n)]


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "evaluations.parquet").sort_values("run_id").reset_index(drop=True)


def test_sensitivity_shows_progress_with_an_eta(tmp_path, capsys):
    spec, out = _spec(tmp_path, SENSITIVITY, "sa.toml"), tmp_path / "out"
    assert main(["sensitivity", str(spec), "--workers", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    etas = _etas(captured.err)
    assert etas and all(n == 6 for _, n, _ in etas), captured.err[-2000:]  # 2 trajectories x (2 + 1) runs
    assert any(k >= 1 for k, _, _ in etas), captured.err[-2000:]  # an ETA once runs have finished
    assert "6 runs executed" in captured.out
    # the same seed in a fresh folder: the same runs, the same numbers
    again = run_sensitivity(spec, executor=POOL, out=tmp_path / "again", progress=False)
    assert json.loads((again / "sensitivity.json").read_text())["session"]["executed"] == 6  # run, not reused
    pd.testing.assert_frame_equal(_rows(again), _rows(out))
    pd.testing.assert_frame_equal(pd.read_parquet(again / "indices.parquet"),
                                  pd.read_parquet(out / "indices.parquet"))
    # another base seed: other seeds, so other runs
    other = run_sensitivity(_spec(tmp_path, SENSITIVITY, "other.toml", seed=8), executor=POOL,
                            out=tmp_path / "other", progress=False)
    assert set(_rows(other)["seed"]).isdisjoint(_rows(out)["seed"])
    assert set(_rows(other)["run_id"]).isdisjoint(_rows(out)["run_id"])


def test_calibration_shows_progress_with_an_eta(tmp_path, capsys):
    spec, out = _spec(tmp_path, CALIBRATION, "cal.toml"), tmp_path / "out"
    assert main(["calibrate", str(spec), "--workers", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert _etas(captured.err), captured.err[-2000:]
    assert re.search(r"generation 0: 3 accepted of \d+ evaluated", captured.out), captured.out
    assert re.search(r"generation 1: 3 accepted of \d+ evaluated", captured.out), captured.out
    # the same seed in a fresh folder: the same populations
    again = run_calibration(spec, executor=POOL, out=tmp_path / "again", progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(again / "posterior.parquet"),
                                  pd.read_parquet(out / "posterior.parquet"))
    pd.testing.assert_frame_equal(_rows(again), _rows(out))
    info = json.loads((again / "calibration.json").read_text())
    assert info["session"]["executed"] == len(_rows(out))  # really run again, not reused
    # another base seed: other proposals
    other = run_calibration(_spec(tmp_path, CALIBRATION, "other.toml", seed=8), executor=POOL,
                            out=tmp_path / "other", progress=False)
    post, post_other = (pd.read_parquet(p / "posterior.parquet") for p in (out, other))
    assert not set(post_other["protest.arrest_per_s"]) & set(post["protest.arrest_per_s"])
