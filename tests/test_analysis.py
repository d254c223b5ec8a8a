"""protest-sim analyze and harm: PedPy's measurements of a run and a batch's harm maps land in their
folders; bad inputs are one line and exit code 2."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.kinds import load_scenario
from sim.run.batch import run_batch
from sim.run.runner import run
from sim.traj.file import read

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"
MEANS = '["tear_gas", "stun_grenades", "water_cannon"]'


@pytest.fixture(scope="module")
def traj_run(tmp_path_factory):
    scenario = load_scenario(EXAMPLES / "pursuit.toml")
    return run(scenario, out=tmp_path_factory.mktemp("runs") / "pursuit", progress=False, trajectories_every_s=1.0)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return run(EXAMPLES / "corridor.toml", out=tmp_path_factory.mktemp("runs") / "corridor", progress=False)


def test_analyze_measures_the_named_places_and_a_polygon_with_pedpy(traj_run):
    assert main(["analyze", str(traj_run), "--area", "west_street", "--area", "box=1,0.5;7,0.5;7,2.5;1,2.5"]) == 0
    folder = traj_run / "analysis"
    about = json.loads((folder / "about.json").read_text())
    assert list(about["areas"]) == ["west_street", "box"] and about["pedpy_version"]
    areas = pd.read_parquet(folder / "areas.parquet")
    box = areas[areas["area"] == "box"].set_index("frame")
    t = read(traj_run / "trajectories.parquet", kinds=["protester"])
    inside = t[t["x_m"].between(1, 7) & t["y_m"].between(0.5, 2.5)].groupby("frame").size()
    counted = inside.reindex(box.index, fill_value=0)
    np.testing.assert_allclose(box["density_classic"], counted / 12.0)
    assert box["density_voronoi"].notna().sum() > 0 and (box["density_voronoi"].dropna() >= 0).all()
    moving = box[box["count"] > 0]
    assert moving["speed_mean"].between(0, 3).all()
    np.testing.assert_allclose(moving["flow_specific"], moving["density_classic"] * moving["speed_mean"])
    fd = pd.read_parquet(folder / "fundamental_diagram.parquet")
    assert set(fd["area"]) >= {"all"} and (fd["n"] > 0).all()
    maps = pd.read_parquet(folder / "density_maps.parquet")
    assert maps["density_max"].max() > 0 and (maps["seconds_at_least_6"] == 0).all()  # 0.5 m cells: 4 /m2 at most
    for name in ("density_maps", "areas", "fundamental_diagram"):
        assert (folder / "figures" / f"{name}.png").stat().st_size > 10_000
    assert main(["analyze", str(traj_run)]) == 0  # the scenario's places; the folder is replaced
    again = json.loads((folder / "about.json").read_text())
    assert set(again["areas"]) == {"west_street", "east_street", "police_post"}


@pytest.mark.parametrize("args,words", [
    (["analyze", "{plain}"], "no trajectories.parquet"),
    (["analyze", "{traj}", "--area", "agora"], "unknown area 'agora'"),
    (["analyze", "{traj}", "--area", "0,0;10,0;10,1;5,0.5;0,1"], "not convex"),
    (["analyze", "{traj}", "--area", "500,500;600,500;600,600"], "outside the map"),
    (["analyze", "{traj}/figures"], "not a run folder"),
    (["analyze", "{traj}/nothing"], "no such folder"),
    (["export", "{plain}", "--to", "jupedsim"], "no trajectories.parquet"),
    (["harm", "{traj}"], "not a batch folder"),
])
def test_bad_inputs_are_one_line_and_exit_2(args, words, traj_run, plain_run, capsys):
    args = [a.format(plain=plain_run, traj=traj_run) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err


def test_a_bad_area_from_the_shell_is_one_line_without_traceback(traj_run):
    out = subprocess.run([sys.executable, "-m", "sim", "analyze", str(traj_run), "--area", "nowhere"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    sweep = folder / "harm.toml"
    sweep.write_text(f"""
[sweep]
name = "harm maps"
scenario = "{(EXAMPLES / 'pursuit.toml').as_posix()}"
replicates = 3
base_seed = 3
metrics = ["injured_protesters"]

[parameters]
"police.unit.means" = [["stun_grenades"], {MEANS}]
"output.harm_cells" = [true]
""")
    with ThreadPoolExecutor(2) as pool:
        return run_batch(sweep, out=folder / "out", progress=False, executor=pool, figures=False)


def test_harm_maps_pool_replicates_with_bootstrap_intervals_and_compare_two_points(batch):
    assert main(["harm", str(batch), "--compare", "0", "1", "--bootstrap", "200"]) == 0
    table = pd.read_parquet(batch / "harm" / "harm.parquet")
    assert set(table["point"]) == {0, 1} and (table["replicates"] == 3).all()
    assert ((table["p"] >= 0) & (table["p"] <= 1)).all()
    hurt = table[table["injured"] > 0]
    assert len(hurt) and (hurt["p_lo"] <= hurt["p"] + 1e-12).all() and (hurt["p"] <= hurt["p_hi"] + 1e-12).all()
    total = table[(table["cause"] == "any")].groupby("point")["injured"].sum()
    summaries = [json.loads(p.read_text()) for p in (batch / "runs").glob("*/summary.json")]
    assert total.sum() == sum(s["injured_protesters"] + s["injured_police"] for s in summaries)
    figures = {p.name for p in (batch / "harm" / "figures").iterdir()}
    assert {"harm_gas.png", "harm_crush.png", "harm_projectile.png", "compare_0_vs_1.png"} <= figures
    assert not list((batch / "runs").glob("*/harm"))  # only aggregates, outside the run folders


def test_harm_refuses_an_unknown_point(batch, capsys):
    assert main(["harm", str(batch), "--compare", "0", "7"]) == 2
    assert "no point 7" in capsys.readouterr().err
