"""Each kind of OpenStreetMap input the import reads, from tiny hand-written files: the binary .osm.pbf
against the same data as XML, way widths on the ground (``width`` tag, class and lane defaults), a
multipolygon relation, walls across ways, parks, exits only where ways leave the box, and GeoJSON in a
declared projected CRS."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("osmium")
pytest.importorskip("rasterio")

from sim.geo.footprint import LANE_M, SIDEWALK_M  # noqa: E402
from sim.geo.projection import LocalFrame  # noqa: E402
from tests.osm_scene import BBOX, BBOX_TEXT, cell_at, osm_xml, scene_xml, to_pbf  # noqa: E402

CELL = 0.5
# a made-up block of Helsinki, 167 x 445 m: ways across it from west to east, one above the other
WAYS_BOX = (24.950, 60.180, 24.953, 60.184)
WIDTHS = [  # (latitude of the way, its tags, the width it must have on the ground in metres)
    (60.1805, {"highway": "footway", "width": "8"}, 8.0),
    (60.1812, {"highway": "footway"}, 2.0),
    (60.1819, {"highway": "residential", "lanes": "4", "sidewalk": "no"}, 4 * LANE_M),
    (60.1826, {"highway": "primary", "name": "Leveakatu"}, 4 * LANE_M + 2 * SIDEWALK_M),
    (60.1831, {"highway": "residential", "width": "7 m", "sidewalk": "left"}, 7.0 + SIDEWALK_M),
]
SQUARE = (24.9512, 60.18355, 24.9522, 60.18385)  # a square mapped as a multipolygon relation
MONUMENT = (24.9516, 60.18365, 24.9518, 60.18375)  # its inner ring: not floor


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _ways_xml() -> str:
    nodes: dict[int, tuple] = {}
    ways: list[tuple] = []

    def node(lon, lat, **tags):
        nodes[len(nodes) + 1] = (lon, lat, tags)
        return len(nodes)

    def ring(w, s, e, n):
        a = node(w, s)
        return [a, node(e, s), node(e, n), node(w, n), a]

    for lat, tags, _ in WIDTHS:  # from beyond the west edge to beyond the east edge
        ways.append(([node(24.9495, lat), node(24.9515, lat), node(24.9535, lat)], tags))
    # a footway that starts and ends inside the box (no exit), and a wall across the 2 m footway (no shared node)
    ways.append(([node(24.9505, 60.1828), node(24.9505, 60.18295)], {"highway": "footway"}))
    ways.append(([node(24.9525, 60.1810), node(24.9525, 60.1814)], {"barrier": "wall"}))
    ways.append((ring(*SQUARE), {}))
    ways.append((ring(*MONUMENT), {"historic": "memorial"}))
    outer, inner = len(ways) - 1, len(ways)
    relation = ([("w", outer, "outer"), ("w", inner, "inner")],
                {"type": "multipolygon", "place": "square", "highway": "pedestrian", "name": "Rengastori"})
    return osm_xml(nodes, ways, [relation])


def _import(path, bbox_text, name, out, **kw):
    from sim.geo.importer import import_osm

    return import_osm(path, bbox_text, name, out, cell_size=CELL, png=False, **kw)


@pytest.fixture(scope="module")
def ways(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ways")
    (folder / "ways.osm").write_text(_ways_xml())
    done = _import(folder / "ways.osm", ",".join(map(str, WAYS_BOX)), "ways", folder / "maps")
    return done.gridmap, LocalFrame.for_bbox(WAYS_BOX)


def _run_through(column: np.ndarray, y: int) -> int:
    """Length in cells of the run of walkable cells in ``column`` that holds cell ``y`` (0 if it is a wall)."""
    if not column[y]:
        return 0
    lo = y
    while lo > 0 and column[lo - 1]:
        lo -= 1
    hi = y
    while hi + 1 < column.size and column[hi + 1]:
        hi += 1
    return hi - lo + 1


@pytest.mark.parametrize("k", range(len(WIDTHS)), ids=[f"{t['highway']}:{m:g}m" for _, t, m in WIDTHS])
def test_a_way_is_as_wide_on_the_ground_as_its_tags_or_class_say(ways, k):
    gm, frame = ways
    lat, _, metres = WIDTHS[k]
    for lon in (24.9510, 24.9515, 24.9520):
        x, y = cell_at(gm, frame, lon, lat)
        cells = _run_through(gm.walkable[x], y)
        # grid north is ~1.8 degrees off true north here: a band w wide is w / cos(1.8 deg) tall, 0.05% more
        assert abs(cells * CELL - metres) <= CELL, (lon, cells * CELL, metres)


def test_a_wall_across_a_way_blocks_it_and_a_relation_square_keeps_its_hole(ways):
    import shapely

    gm, frame = ways
    x, y = cell_at(gm, frame, 24.9525, 60.1812)
    assert gm.walkable[x, y] == 0 and gm.walkable[cell_at(gm, frame, 24.9521, 60.1812)] == 1
    square = gm.place_index("rengastori")
    assert gm.features["place_kinds"]["rengastori"] == "square"
    for lon, lat in ((24.9513, 60.1836), (24.9521, 60.1838), (24.9517, 60.18360)):
        assert gm.walkable[cell_at(gm, frame, lon, lat)] == 1 and gm.place_id[cell_at(gm, frame, lon, lat)] == square
    assert gm.walkable[cell_at(gm, frame, 24.9517, 60.1837)] == 0  # the monument in the inner ring
    counts = gm.place_cell_counts()
    outer, hole = frame.geometry(shapely.box(*SQUARE)).area, frame.geometry(shapely.box(*MONUMENT)).area
    assert counts["rengastori"] * CELL**2 == pytest.approx(outer - hole, rel=0.05)


def test_exits_are_where_ways_leave_the_box_and_only_there(ways):
    gm, _ = ways
    sides = gm.features["exit_sides"]
    assert sorted(sides.values()) == ["east"] * len(WIDTHS) + ["west"] * len(WIDTHS)
    assert {"exit_leveakatu_west", "exit_leveakatu_east"} <= set(sides)
    assert gm.features["place_kinds"]["leveakatu"] == "street"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    (folder / "scene.osm").write_text(scene_xml())
    to_pbf(folder / "scene.osm", folder / "scene.osm.pbf")
    return folder, _import(folder / "scene.osm", BBOX_TEXT, "scene", folder / "maps")


def test_a_pbf_file_gives_the_same_map_as_the_same_data_in_xml(scene):
    folder, from_xml = scene
    assert (folder / "scene.osm.pbf").read_bytes()[4:15] == b"\n\tOSMHeader"  # really the binary format
    from_pbf = _import(folder / "scene.osm.pbf", BBOX_TEXT, "scene", folder / "pbf")
    assert from_pbf.gridmap.places == from_xml.gridmap.places and from_pbf.gridmap.exits == from_xml.gridmap.exits
    assert np.array_equal(from_pbf.gridmap.walkable, from_xml.gridmap.walkable)
    assert np.array_equal(from_pbf.gridmap.place_id, from_xml.gridmap.place_id)


def test_a_park_is_walkable_floor_named_after_it(scene):
    import shapely

    gm = scene[1].gridmap
    frame = LocalFrame.for_bbox(BBOX)
    park = frame.geometry(shapely.box(24.9403, 60.1712, 24.9415, 60.1720))
    pond = frame.geometry(shapely.box(24.9404, 60.17125, 24.9406, 60.17135))
    assert gm.features["place_kinds"]["testipuisto"] == "park"
    assert gm.features["labels"]["testipuisto"]["text"] == "Testipuisto"
    cells = gm.place_mask("testipuisto").sum() * CELL**2
    assert 0.9 * (park.area - pond.area) < cells <= park.area  # all of it bar the pond and the fence across it
    inside = shapely.contains_xy(park.difference(pond).buffer(-1.0), *np.meshgrid(
        (np.arange(gm.shape[0]) + 0.5) * CELL, (np.arange(gm.shape[1]) + 0.5) * CELL, indexing="ij"))
    assert gm.walkable[inside].mean() > 0.97


def test_osm_geojson_in_a_declared_projected_crs_reads_like_degrees(scene, tmp_path):
    """A GeoJSON export in metres that says so (here EPSG:3067, Finland's grid) is reprojected; one in metres
    that does not say so is refused in one line (test_map_import)."""
    import geopandas
    import shapely

    square = [(24.9405, 60.17075), (24.9415, 60.17075), (24.9415, 60.17098), (24.9405, 60.17098), (24.9405, 60.17075)]
    lines = [({"highway": "residential", "name": "Testikatu", "sidewalk": "no"}, [(24.939, 60.171), (24.945, 60.171)]),
             ({"highway": "pedestrian", "area": "yes", "place": "square", "name": "Koetori"}, square)]
    geoms = [shapely.Polygon(c) if t.get("area") else shapely.LineString(c) for t, c in lines]
    frame = geopandas.GeoDataFrame([t for t, _ in lines], geometry=geoms, crs=4326).to_crs(3067)
    assert frame.total_bounds[0] > 1000  # metres now
    frame.to_file(tmp_path / "metres.geojson", driver="GeoJSON")
    assert json.loads((tmp_path / "metres.geojson").read_text())["crs"]["properties"]["name"].endswith("3067")
    done = _import(tmp_path / "metres.geojson", BBOX_TEXT, "metres", tmp_path / "maps")
    counts, ours = done.gridmap.place_cell_counts(), scene[1].gridmap.place_cell_counts()
    assert counts["koetori"] == pytest.approx(ours["koetori"], rel=0.01)
    assert counts["testikatu"] == pytest.approx(ours["testikatu"], rel=0.05)  # the scene's footway joins it there


def test_a_city_west_and_south_of_zero_imports_from_the_command_line(tmp_path, capsys):
    """The scene mirrored to 24.94 W, 60.17 S: ``--bbox -24.944,...`` is a value, not an option; the south's UTM
    zones; exits on the mirrored sides."""
    import re

    from sim.cli import main

    mirrored = re.sub(r'lat="([\d.]+)" lon="([\d.]+)"', lambda m: f'lat="-{m[1]}" lon="-{m[2]}"', scene_xml())
    (tmp_path / "south.osm").write_text(mirrored)
    w, s, e, n = BBOX
    code = main(["map", "import", str(tmp_path / "south.osm"), "--bbox", f"{-e},{-n},{-w},{-s}", "--name", "south",
                 "--out", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads((tmp_path / "south.json").read_text())
    assert data["crs"] == "EPSG:32726"
    assert {p["id"] for p in data["places"]} >= {"koetori", "testipuisto", "testitalo", "testikatu"}
    assert {x["id"]: x["side"] for x in data["exits"]} == {"exit_testikatu_west": "west", "exit_testikatu_east": "east",
                                                           "exit_south": "south"}
