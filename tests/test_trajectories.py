"""Trajectories: a run writes where everyone was, frame by frame, without changing the run; the
file is compact, typed and described; PedPy and JuPedSim read what it exports."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.run_folder import open_run
from sim.kinds import load_scenario
from sim.protest.harm_cells import HarmCells
from sim.protest.outputs import DICTIONARY
from sim.results import read_run
from sim.run.runner import run
from sim.traj.file import CAUSES, KINDS, STATES, TrajectoryWriter, read, read_meta

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"
MEANS = ["tear_gas", "stun_grenades", "water_cannon"]


def forceful():
    return load_scenario(EXAMPLES / "pursuit.toml").with_values(
        {"police.unit.means": MEANS, "water_cannon.knockdown_per_s": 0.5, "stun_grenades.injury_radius_m": 5.0})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same forceful run three times: plain, with trajectories every second, and with harm cells too."""
    folder = tmp_path_factory.mktemp("runs")
    plain = run(forceful(), out=folder / "plain", progress=False)
    traj = run(forceful(), out=folder / "traj", progress=False, trajectories_every_s=1.0)
    both = run(forceful().with_values({"output.harm_cells": True}), out=folder / "both", progress=False,
               trajectories_every_s=1.0)
    return {"plain": plain, "traj": traj, "both": both}


def test_recording_trajectories_changes_nothing_else_the_run_writes(runs):
    plain, traj = read_run(runs["plain"]), read_run(runs["traj"])
    pd.testing.assert_frame_equal(plain.timeseries, traj.timeseries)
    pd.testing.assert_frame_equal(plain.events, traj.events)
    assert not (runs["plain"] / "trajectories.parquet").exists() and not (runs["plain"] / "harm_cells.parquet").exists()
    assert "[output]" not in plain.scenario_toml and "trajectories_every_s = 1.0" in traj.scenario_toml
    assert sorted(p.name for p in runs["plain"].iterdir()) == sorted(
        p.name for p in runs["traj"].iterdir() if p.name not in ("trajectories.parquet", "gas.parquet"))
    assert not [p for p in runs["traj"].parent.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_trajectories_hold_everyone_on_the_map_every_second_in_compact_types(runs):
    res = read_run(runs["traj"])
    path = runs["traj"] / "trajectories.parquet"
    schema = pq.read_schema(path)
    assert [f.name for f in schema] == ["time_s", "frame", "id", "kind", "x_m", "y_m", "state", "cause"]
    assert str(schema.field("x_m").type) == "float" and str(schema.field("id").type) == "int32"
    assert str(schema.field("kind").type).startswith("dictionary")
    t = read(path)
    meta = read_meta(path)
    assert meta["every_s"] == 1.0 and t["frame"].max() == res.summary["sim_seconds"]
    np.testing.assert_allclose(t["time_s"], t["frame"] * 1.0)
    first = t[t["frame"] == 0]
    assert len(first) == res.summary["protesters"] + res.summary["police"] and first["id"].is_unique
    on_map = t.groupby("frame").size()
    ts = res.timeseries.set_index("time_s")
    expected = (ts.filter(regex=r"^protesters_(quiet|active|fleeing|injured)$").sum(axis=1)
                + ts[["police_on_duty", "police_injured"]].sum(axis=1))
    common = on_map.index.intersection(expected.index.astype(int))
    assert (on_map.loc[common].to_numpy() == expected.loc[common.astype(float)].to_numpy()).all()
    width, height = meta["size_m"]
    assert t["x_m"].between(0, width).all() and t["y_m"].between(0, height).all()
    assert ((t["x_m"] / 0.5) % 1 == 0.5).all()  # cell centres
    injured = t[t["state"] == "injured"]
    assert len(injured) and injured["cause"].notna().all() and t.loc[t["state"] != "injured", "cause"].isna().all()
    assert set(t["kind"].cat.categories) == set(KINDS) and set(t["state"].cat.categories) == set(STATES)
    assert (t.loc[t["kind"] != "protester", "state"].isin(["on_duty", "injured"])).all()
    assert (t["kind"] == "vehicle").any()  # the water cannon truck


def test_every_trajectory_column_is_in_the_data_dictionary_and_schema_json(runs):
    schema = json.loads((runs["traj"] / "schema.json").read_text())
    columns = schema["files"]["trajectories.parquet"]["columns"]
    assert list(columns) == pq.read_schema(runs["traj"] / "trajectories.parquet").names
    assert all(DICTIONARY.entry("trajectories.parquet", c) is not None for c in columns)
    harm = schema["files"]["harm_cells.parquet"]["columns"] if "harm_cells.parquet" in schema["files"] else {}
    assert not harm
    both = json.loads((runs["both"] / "schema.json").read_text())["files"]["harm_cells.parquet"]["columns"]
    assert all(d["meaning"] and not d["meaning"].startswith("not described") for d in both.values())


def test_the_writer_keeps_row_groups_small_and_reads_back_what_it_was_given(tmp_path):
    rng = np.random.default_rng(1)
    writer = TrajectoryWriter(tmp_path / "t.parquet", {"every_s": 0.5}, rows_per_group=50)
    frames = []
    for f in range(20):
        n = int(rng.integers(0, 30))
        rows = (np.sort(rng.choice(100, n, replace=False)), rng.integers(0, 3, n), rng.random(n) * 100,
                rng.random(n) * 50, rng.integers(0, len(STATES), n), rng.integers(-1, len(CAUSES), n))
        writer.add(f * 0.5, f, *rows)
        frames.append(rows)
    writer.close()
    assert pq.ParquetFile(tmp_path / "t.parquet").metadata.num_row_groups >= 4
    t = read(tmp_path / "t.parquet")
    ids = np.concatenate([r[0] for r in frames])
    assert (t["id"].to_numpy() == ids).all()
    cause = np.concatenate([r[5] for r in frames])
    assert (t["cause"].isna().to_numpy() == (cause < 0)).all()
    np.testing.assert_allclose(t["x_m"], np.concatenate([r[2] for r in frames]).astype(np.float32))


def test_the_gas_file_holds_the_drawn_cloud_at_the_trajectories_frames(runs, tmp_path):
    from sim.traj.gas import GasStore, GasWriter, as_drawn, read_meta as gas_meta

    path = runs["traj"] / "gas.parquet"
    gas = pq.read_table(path).to_pandas()
    meta = gas_meta(path)
    assert [f.name for f in pq.read_schema(path)] == ["time_s", "frame", "cell", "conc"]
    assert str(pq.read_schema(path).field("conc").type) == "float" and len(gas) > 0  # the unit threw gas
    assert (gas["conc"] > np.float32(meta["visible"])).all()  # only what the picture draws
    assert gas["cell"].between(0, meta["shape"][0] * meta["shape"][1] - 1).all()
    frames = set(read(runs["traj"] / "trajectories.parquet", columns=["frame"])["frame"])
    assert set(gas["frame"]) <= frames and (gas["time_s"] == gas["frame"] * meta["every_s"]).all()
    schema = json.loads((runs["traj"] / "schema.json").read_text())
    assert list(schema["files"]["gas.parquet"]["columns"]) == list(gas.columns)

    # written in row groups as it goes, read back frame by frame as the picture sees it (float32, zero elsewhere)
    rng = np.random.default_rng(2)
    writer = GasWriter(tmp_path / "g.parquet", {"shape": [6, 4], "factor": 4, "every_s": 1.0, "visible": 0.3},
                       rows_per_group=7)
    grids = [rng.random((6, 4)) * (f % 3 != 1) for f in range(12)]  # every third frame has no gas at all
    for f, grid in enumerate(grids):
        writer.add(float(f), f, grid)
    writer.close()
    assert pq.ParquetFile(tmp_path / "g.parquet").metadata.num_row_groups >= 4
    store = GasStore(tmp_path / "g.parquet")
    for f in (11, 0, 5, 1, 7):  # out of order, as a scrub
        drawn = as_drawn(grids[f])
        expected = np.where(drawn > np.float32(0.3), drawn, np.float32(0))
        assert np.abs(drawn - grids[f]).max() < 0.01
        np.testing.assert_array_equal(store.grid(f), expected)


def test_pedpy_loads_the_trajectories_and_measures_the_density_we_count(runs):
    from sim.traj.pedpy import pedpy, run_trajectory_data

    pp = pedpy()
    data = run_trajectory_data(runs["traj"] / "trajectories.parquet")
    area = pp.MeasurementArea([(0, 0), (8, 0), (8, 3), (0, 3)])
    density = pp.compute_classic_density(traj_data=data, measurement_area=area).set_index("frame")["density"]
    t = read(runs["traj"] / "trajectories.parquet", kinds=["protester"])
    inside = t[(t["x_m"] < 8)].groupby("frame").size().reindex(density.index, fill_value=0)
    np.testing.assert_allclose(density.to_numpy(), inside.to_numpy() / 24.0)
    assert density.max() > 0


def test_exports_open_in_pedpy_as_jupedsim_sqlite_and_as_text(runs, tmp_path):
    from sim.cli import main
    from sim.traj.pedpy import pedpy

    pp = pedpy()
    assert main(["export", str(runs["traj"]), "--to", "jupedsim", "--out", str(tmp_path / "t.sqlite")]) == 0
    data = pp.load_trajectory_from_jupedsim_sqlite(trajectory_file=tmp_path / "t.sqlite")
    t = read(runs["traj"] / "trajectories.parquet")
    assert len(data.data) == len(t) and data.frame_rate == 1.0
    floor = pp.load_walkable_area_from_jupedsim_sqlite(trajectory_file=tmp_path / "t.sqlite")
    gridmap = open_run(runs["traj"]).gridmap
    assert floor.polygon.area == pytest.approx(gridmap.walkable.sum() * gridmap.cell_size ** 2)
    assert main(["export", str(runs["traj"]), "--to", "pedpy", "--out", str(tmp_path / "t.txt")]) == 0
    text = pp.load_trajectory(trajectory_file=tmp_path / "t.txt")
    assert len(text.data) == int((t["kind"] == "protester").sum()) and text.frame_rate == 1.0


def test_harm_cells_from_trajectories_are_the_ones_the_run_kept(runs):
    from sim.analysis.harm import cells_from_trajectories

    written = pd.read_parquet(runs["both"] / "harm_cells.parquet")
    derived, meta = cells_from_trajectories(runs["both"] / "trajectories.parquet", 5.0)
    pd.testing.assert_frame_equal(written.reset_index(drop=True), derived.reset_index(drop=True), check_dtype=False,
                                  check_categorical=False)
    assert written.filter(like="injured_").to_numpy().sum() > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 9), st.floats(0, 19.9), st.floats(0, 9.9),
                                   st.integers(0, 4), st.integers(-1, 5)), max_size=10), max_size=12))
def test_harm_cells_count_each_injury_once_and_never_more_than_came(frames):
    cells = HarmCells((20.0, 10.0), 5.0)
    hurt = set()
    for rows in frames:
        # one row per id and frame; a person's kind never changes
        rows = [(i, i % 3, x, y, state, cause) for i, x, y, state, cause in {r[0]: r for r in rows}.values()]
        if not rows:
            cells.add(*[np.zeros(0, dtype=int)] * 6)
            continue
        cols = [np.array(c) for c in zip(*rows)]
        cells.add(*cols)
        hurt |= {r[0] for r in rows if r[4] == STATES.index("injured") and r[5] >= 0}
    assert cells.injured.sum() == len(hurt)
    assert (cells.injured.sum(axis=1) <= cells.visits).all()


def test_an_interrupted_run_keeps_its_trajectories_in_the_partial_folder(tmp_path, monkeypatch):
    from sim.protest.recording import Recorder

    original = Recorder.__call__

    def interrupt(self, model):
        if model.time_s >= 30:
            raise KeyboardInterrupt
        original(self, model)

    monkeypatch.setattr(Recorder, "__call__", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(EXAMPLES / "pursuit.toml", out=tmp_path / "cut", progress=False, trajectories_every_s=1.0)
    partial = tmp_path / "cut.partial"
    assert json.loads((partial / "summary.json").read_text())["status"] == "interrupted"
    t = read(partial / "trajectories.parquet")
    assert t["frame"].max() == 29 and not (tmp_path / "cut").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cut.partial"]  # no staging folder left
