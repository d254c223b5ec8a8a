"""The built-in Bishkek map: its raster at two cell sizes, its places, exits, fence and distances."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as PolyPath
from numba import njit

from sim.geo.catalog import builtin_map_path, builtin_place_names, load_builtin_map_data
from sim.geo.fields import distance_field
from sim.geo.raster import Projection, load_builtin_map

MAP = "bishkek_center"
ROOT = Path(__file__).resolve().parent.parent
BRIEF_PLACES = [  # the places scenarios may rely on
    "ala_too_square", "white_house_gate", "white_house_yard", "white_house_grounds", "white_house_gate_line",
    "old_square", "oak_park", "panfilov_park", "chuy_west", "chuy_east", "kievskaya_west", "kievskaya_east",
    "erkindik", "erkindik_north", "panfilov", "razzakov", "orozbekov", "togolok_moldo", "toktogul", "frunze",
    "abdrakhmanov", "pushkin", "abdymomunov", "logvinenko", "tynystanov",
]


@pytest.fixture(scope="module", params=[0.5, 2.0], ids=["0.5m", "2m"])
def gm(request):
    return load_builtin_map(MAP, request.param)


@pytest.fixture(scope="module")
def fine():
    return load_builtin_map(MAP, 0.5)


@pytest.fixture(scope="module")
def coarse():
    return load_builtin_map(MAP, 2.0)


@njit(cache=False)
def _reach(walkable, seeds, eight):
    """Cells reachable on foot from the seed cells (4 or 8 neighbours; diagonals may cut corners)."""
    nx, ny = walkable.shape
    seen = np.zeros((nx, ny), dtype=np.uint8)
    queue = np.empty(nx * ny, dtype=np.int64)
    head = tail = 0
    for x in range(nx):
        for y in range(ny):
            if seeds[x, y] and walkable[x, y]:
                seen[x, y] = 1
                queue[tail] = x * ny + y
                tail += 1
    while head < tail:
        x, y = queue[head] // ny, queue[head] % ny
        head += 1
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                if (dx == 0 and dy == 0) or (not eight and dx != 0 and dy != 0):
                    continue
                qx, qy = x + dx, y + dy
                if 0 <= qx < nx and 0 <= qy < ny and walkable[qx, qy] and not seen[qx, qy]:
                    seen[qx, qy] = 1
                    queue[tail] = qx * ny + qy
                    tail += 1
    return seen.astype(np.bool_)


def _centroid_m(gm, name):
    xs, ys = np.nonzero(gm.place_mask(name))
    return (np.array([xs.mean(), ys.mean()]) + 0.5) * gm.cell_size


def _cells_inside(gm, polygon_m):
    cx = (np.arange(gm.shape[0]) + 0.5) * gm.cell_size
    cy = (np.arange(gm.shape[1]) + 0.5) * gm.cell_size
    pts = np.asarray(polygon_m)
    x0, x1 = np.searchsorted(cx, [pts[:, 0].min(), pts[:, 0].max()])
    y0, y1 = np.searchsorted(cy, [pts[:, 1].min(), pts[:, 1].max()])
    gx, gy = np.meshgrid(cx[x0:x1], cy[y0:y1], indexing="ij")
    inside = PolyPath(pts).contains_points(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    mask = np.zeros(gm.shape, dtype=bool)
    mask[x0:x1, y0:y1] = inside
    return mask


# --- raster ----------------------------------------------------------------------------------------
def test_shapes_dtypes_and_size(fine, coarse):
    assert fine.walkable.dtype == np.uint8 and fine.place_id.dtype == np.int16
    assert coarse.walkable.dtype == np.uint8 and coarse.place_id.dtype == np.int16
    for gm in (fine, coarse):
        w, h = gm.size_m
        assert w == pytest.approx(1632, abs=gm.cell_size + 1) and h == pytest.approx(1216, abs=gm.cell_size + 1)
        assert set(np.unique(gm.walkable)) == {0, 1}
        assert gm.origin_latlon == (42.871, 74.594)
        assert not gm.walkable.flags.writeable and not gm.place_id.flags.writeable
    assert fine.shape == (3264, 2433)
    assert abs(fine.shape[0] - 4 * coarse.shape[0]) <= 4 and abs(fine.shape[1] - 4 * coarse.shape[1]) <= 4
    # a sensible mix of floor and built-up
    assert 0.25 < fine.walkable.mean() < 0.6
    assert coarse.walkable.mean() == pytest.approx(fine.walkable.mean(), rel=0.05)


def test_place_areas_scale_with_the_square_of_the_cell_size(fine, coarse):
    a, b = fine.place_cell_counts(), coarse.place_cell_counts()
    for name in fine.places:
        area_m2 = a[name] * fine.cell_size ** 2
        if area_m2 < 2000 or name in fine.exits:
            continue
        assert b[name] * coarse.cell_size ** 2 == pytest.approx(area_m2, rel=0.1), name
    assert a["ala_too_square"] == pytest.approx(16 * b["ala_too_square"], rel=0.05)


def test_bad_cell_sizes_are_refused():
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            load_builtin_map(MAP, bad)


# --- places and exits ------------------------------------------------------------------------------
def test_every_catalogued_place_is_on_the_map(gm):
    places, exits = builtin_place_names(MAP)
    assert gm.places == places and gm.exits == exits
    assert set(BRIEF_PLACES) <= set(places)
    assert len(exits) >= 10 and all(e.startswith("exit_") for e in exits)
    counts = gm.place_cell_counts()
    assert [n for n in places if counts[n] == 0] == []


def test_every_floor_cell_has_a_place_and_walls_have_none(gm):
    assert not ((gm.walkable == 1) & (gm.place_id < 0)).any()
    assert (gm.place_id[gm.walkable == 0] == -1).all()
    assert gm.place_id.max() == len(gm.places) - 1


def test_exits_lie_on_their_side_of_the_border(gm):
    depth = max(1, round(1.0 / gm.cell_size))
    nx, ny = gm.shape
    for name in gm.exits:
        xs, ys = np.nonzero(gm.place_mask(name))
        side = name.rsplit("_", 1)[1]
        on_side = {"west": xs < depth, "east": xs >= nx - depth, "south": ys < depth, "north": ys >= ny - depth}[side]
        assert on_side.all(), name
        # an exit spans its street: at least ~15 m of edge
        extent = (np.ptp(ys) if side in ("west", "east") else np.ptp(xs)) * gm.cell_size
        assert extent >= 15, name
    inner = gm.exit_mask()[depth:nx - depth, depth:ny - depth]
    assert not inner.any()


def test_places_are_where_the_sources_put_them(fine):
    """A few anchors: Chuy runs E-W through the middle, the square is east of the White House, Oak Park
    east of the square, Panfilov Park north of the grounds, Toktogul in the south."""
    c = {n: _centroid_m(fine, n) for n in ("ala_too_square", "white_house_grounds", "oak_park", "panfilov_park",
                                           "toktogul", "frunze", "chuy_west", "chuy_east", "old_square")}
    assert c["white_house_grounds"][0] < c["ala_too_square"][0] < c["oak_park"][0]
    assert c["panfilov_park"][1] > c["white_house_grounds"][1]
    assert c["toktogul"][1] < c["ala_too_square"][1] < c["frunze"][1]
    assert c["chuy_west"][0] < c["ala_too_square"][0] < c["chuy_east"][0]
    assert c["old_square"][1] > c["ala_too_square"][1]
    # the square: about 300 m north-south (Kievskaya to Pushkin) by 110-130 m east-west
    xs, ys = np.nonzero(fine.place_mask("ala_too_square"))
    assert 100 <= np.ptp(xs) * fine.cell_size <= 135
    assert 240 <= np.ptp(ys) * fine.cell_size <= 310


# --- connectivity and the fence --------------------------------------------------------------------
def test_every_place_and_exit_is_reachable_from_the_square(gm):
    seen = _reach(gm.walkable, gm.place_mask("ala_too_square"), False)
    for name in gm.places:
        assert seen[gm.place_mask(name)].all(), f"{name} is (partly) cut off from ala_too_square"
    assert seen.sum() == gm.walkable.sum()


def test_the_fenced_grounds_are_reached_only_through_the_gate(gm):
    gate = gm.place_mask("white_house_gate_line")
    assert gate.any()
    closed = gm.walkable.copy()
    closed[gate] = 0
    seen = _reach(closed, gm.place_mask("ala_too_square"), True)  # 8 neighbours, corners may be cut: strict
    for name in ("white_house_grounds", "white_house_yard"):
        assert not seen[gm.place_mask(name)].any(), f"{name} reachable with the gate closed"
    for name in gm.places:
        if name not in ("white_house_grounds", "white_house_yard", "white_house_gate_line"):
            assert seen[gm.place_mask(name)].all(), f"closing the gate cut off {name}"
    # the gate is about 8 m wide and sits between the apron and the yard
    xs, ys = np.nonzero(gate)
    assert 6 <= (np.ptp(xs) + 1) * gm.cell_size <= 10
    gx = _centroid_m(gm, "white_house_gate_line")
    for name in ("white_house_gate", "white_house_yard"):
        assert np.linalg.norm(_centroid_m(gm, name) - gx) < 20
    assert _centroid_m(gm, "white_house_gate")[1] < gx[1] < _centroid_m(gm, "white_house_yard")[1]
    assert gm.features["gates"]["white_house_gate_line"]["width_m"] == 8.0


def test_the_fence_and_buildings_are_walls(fine):
    data = load_builtin_map_data(MAP)
    proj = Projection(data)
    for ob in data["obstacles"]:
        inside = _cells_inside(fine, proj.xy(ob["polygon"]))
        assert inside.sum() > 1000, ob["id"]
        assert not fine.walkable[inside].any(), f"floor inside {ob['id']}"
    # every metre of the fence line but the gate is wall
    fence = proj.xy(data["barriers"][0]["polygon"])
    gate = fine.place_mask("white_house_gate_line")
    for a, b in zip(fence[:-1], fence[1:]):
        for t in np.linspace(0, 1, int(np.linalg.norm(b - a))):
            x, y = ((a + t * (b - a)) / fine.cell_size).astype(int)
            x, y = min(x, fine.shape[0] - 1), min(y, fine.shape[1] - 1)
            assert fine.walkable[x, y] == 0 or gate[x, y], (x, y)


# --- distances -------------------------------------------------------------------------------------
def test_distances_match_the_sources(fine):
    square = _centroid_m(fine, "ala_too_square")
    apron = _centroid_m(fine, "white_house_gate")
    straight = np.linalg.norm(square - apron)
    assert 150 <= straight <= 400
    # on foot (the metric agents walk): square centre to the gate apron
    field = distance_field(fine.walkable, fine.place_mask("white_house_gate"), fine.cell_size)
    cx, cy = (square / fine.cell_size).astype(int)
    walk = float(field[cx, cy])
    assert straight - 25 <= walk <= 1.5 * straight and 150 <= walk <= 450  # to the apron's nearest cell
    # main gate to the Manas statue: ~220 m in the sources
    feats = fine.features
    gate = np.array(feats["gates"]["white_house_gate_line"]["at"])
    manas = np.array(feats["landmarks"]["manas_statue_alatoo"]["at"])
    assert np.linalg.norm(gate - manas) == pytest.approx(221, abs=40)
    # the far corners of the map are reachable within a plausible walk (no long detours)
    assert np.isfinite(field[fine.walkable == 1]).all()
    assert field[fine.walkable == 1].max() < 2.0 * np.hypot(*fine.size_m)


# --- provenance ------------------------------------------------------------------------------------
def test_every_feature_keeps_its_grade_and_source():
    data = load_builtin_map_data(MAP)
    grades = set(data["confidence_legend"])
    features = data["streets"] + data["areas"] + data["obstacles"] + data["barriers"] + data["landmarks"]
    for f in features:
        assert f["confidence"] in grades, f["id"]
        assert "source" in f, f["id"]
    for p in data["places"] + data["exits"]:
        assert p["confidence"] in grades, p["id"]
    assert "schema" in data and "generated_by" in data
    streets = {s["id"]: s for s in data["streets"]}
    assert streets["chuy"]["confidence"] == "sourced_osm"
    assert all(lo <= s["width_m"] <= hi for s in streets.values() for lo, hi in [s["width_range_m"]])
    assert "moskovskaya" not in streets and "shopokov" not in streets  # outside the box


def test_the_build_script_reproduces_the_map(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_bishkek_map", ROOT / "scripts" / "build_bishkek_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not module.SOURCES.is_file():
        pytest.skip(f"research file {module.SOURCES} not available")
    out = tmp_path / "map.json"
    monkeypatch.setattr(module, "OUT", out)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    module.main()
    assert json.loads(out.read_text()) == json.loads(builtin_map_path(MAP).read_text())
