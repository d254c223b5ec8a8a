"""Importing maps, piece by piece: the projection, way widths and corridors, place ids, and a tiny OSM
scene whose floor, walls, openings, places and exits are checked cell by cell."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("osmium")
pytest.importorskip("rasterio")

from sim.geo.ascii import PLACE_NAME  # noqa: E402
from sim.geo.footprint import LANE_M, SIDEWALK_M, corridors, parse_width, way_width  # noqa: E402
from sim.geo.naming import PlaceIds, check_map_name, slug  # noqa: E402
from sim.geo.osm_rules import area_role, notable_building, walkable_line, wall_thickness  # noqa: E402
from sim.geo.projection import LocalFrame, parse_bbox, utm_epsg  # noqa: E402
from tests.osm_scene import BBOX, BBOX_TEXT, cell_at, scene_xml  # noqa: E402


# --- projection ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("lon, lat, epsg", [
    (24.94, 60.17, 32635),   # Helsinki
    (74.60, 42.876, 32643),  # Bishkek
    (151.2, -33.87, 32756),  # Sydney: southern hemisphere
    (5.3, 60.4, 32631),      # Bergen: the 6-degree strip (Norway's grid-zone exception is only a label)
    (-70.65, -33.45, 32719),  # Santiago
])
def test_the_utm_zone_is_the_one_holding_the_box(lon, lat, epsg):
    assert utm_epsg(lon, lat) == epsg


def test_local_metres_are_true_distances_from_the_south_west_corner():
    from pyproj import Geod

    frame = LocalFrame.for_bbox((24.935, 60.164, 24.953, 60.179))
    assert frame.crs == "EPSG:32635"
    x, y = frame.xy(np.array([24.935, 24.953]), np.array([60.164, 60.179]))
    assert min(x.min(), y.min()) >= -1e-6 and x.max() <= frame.size_m[0] + 1e-6 and y.max() <= frame.size_m[1] + 1e-6
    _, _, metres = Geod(ellps="WGS84").inv(24.935, 60.164, 24.953, 60.179)
    # UTM's scale here: 0.9996 on the central meridian, a little more 2 degrees west of it
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(metres, rel=1e-3)
    lat, lon = frame.origin_latlon()
    assert 60.16 < lat <= 60.164 and 24.93 < lon <= 24.936


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "10,50,9,51", "10,50,11,50", "0,85,1,86", "nan,1,2,3"])
def test_a_bad_box_says_what_a_box_is(text):
    with pytest.raises(ValueError, match="W"):
        parse_bbox(text)


# --- widths and corridors ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, metres", [("5", 5.0), ("5.5 m", 5.5), ("3,5", 3.5), ("10 ft", 3.048), ("10'", 3.048),
                                          ("wide", None), ("0", None), ("500", None), (None, None)])
def test_width_tags_are_read_in_metres(text, metres):
    assert parse_width(text) == (pytest.approx(metres) if metres else None)


@pytest.mark.parametrize("tags, metres", [
    ({"highway": "primary"}, 4 * LANE_M + 2 * SIDEWALK_M),          # 4 lanes by default, sidewalks both sides
    ({"highway": "residential", "sidewalk": "separate"}, 2 * LANE_M),  # sidewalks mapped as their own ways
    ({"highway": "residential", "sidewalk": "right"}, 2 * LANE_M + SIDEWALK_M),
    ({"highway": "secondary", "lanes": "3"}, 3 * LANE_M + 2 * SIDEWALK_M),
    ({"highway": "residential", "width": "7 m"}, 7 + 2 * SIDEWALK_M),  # the tag is the carriageway
    ({"highway": "residential", "lanes": "99"}, 2 * LANE_M + 2 * SIDEWALK_M),  # a typo: the default
    ({"highway": "service"}, LANE_M),
    ({"highway": "footway"}, 2.0), ({"highway": "path"}, 1.5), ({"highway": "pedestrian"}, 6.0),
    ({"highway": "footway", "width": "4"}, 4.0),
])
def test_ways_are_as_wide_as_their_tags_or_their_class_say(tags, metres):
    width, source = way_width(tags)
    assert width == pytest.approx(metres) and source


def test_a_corridor_is_its_width_wide():
    import shapely

    line = shapely.LineString([(0, 0), (100, 0)])
    corridor, = corridors([line], [6.0])
    assert corridor.area == pytest.approx(100 * 6 + np.pi * 9, rel=0.02)  # round ends
    thin, = corridors([line], [0.2], min_width=0.75)
    assert thin.bounds[3] == pytest.approx(0.375)


def test_what_osm_features_are_to_a_crowd():
    assert walkable_line({"highway": "footway"}) and not walkable_line({"highway": "footway", "tunnel": "yes"})
    assert not walkable_line({"highway": "motorway"}) and not walkable_line({"highway": "corridor"})
    assert not walkable_line({"highway": "footway", "level": "-1"})
    assert walkable_line({"highway": "footway", "tunnel": "building_passage", "layer": "-1"})
    assert area_role({"building": "yes"}) == ("wall", "building") and area_role({"building": "roof"}) is None
    assert area_role({"place": "square"}) == ("floor", "square")
    assert area_role({"leisure": "park"}) == ("floor", "park") and area_role({"natural": "water"})[0] == "wall"
    assert area_role({"landuse": "residential"}) is None
    assert wall_thickness({"barrier": "fence"}) == 0.2 and wall_thickness({"barrier": "kerb"}) is None
    assert notable_building({"building": "cathedral", "name": "X"}) and not notable_building({"building": "yes",
                                                                                             "name": "X"})


# --- place ids ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("Töölönlahden puisto", "toolonlahden_puisto"), ("Senaatintori", "senaatintori"),
    ("Площадь Ала-Тоо", "площадь_ала_тоо"), ("@ Metallitalo", "metallitalo"), ("Rue de l'Église", "rue_de_l_eglise"),
    ("../../etc/passwd", "etc_passwd"), ("---", ""),
])
def test_ids_are_folded_names(name, expected):
    assert slug(name) == expected
    if expected:
        assert PLACE_NAME.match(expected)


def test_ids_are_unique_and_the_first_comer_keeps_the_plain_one():
    ids = PlaceIds()
    assert ids.take("Rautatientori", "square") == "rautatientori"
    assert ids.take("Rautatientori", "street") == "rautatientori_street"
    assert ids.take("Rautatientori", "street") == "rautatientori_2"
    assert ids.take("***", "street") == "street_1" and ids.take(None, "street") == "street_2"
    assert ids.take("exits", "area") == "exits_area"  # 'exits' names the field to the nearest exit
    assert ids.take("x" * 200, "area") == "x" * 60


@pytest.mark.parametrize("name", ["", "A", "../x", "a/b", "a" * 65, "-x", None])
def test_a_map_name_is_safe_as_a_file_name(name):
    with pytest.raises(ValueError):
        check_map_name(name)


# --- a tiny scene, cell by cell ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from sim.geo.importer import import_osm

    folder = tmp_path_factory.mktemp("scene")
    osm = folder / "scene.osm"
    osm.write_text(scene_xml())
    done = import_osm(osm, BBOX_TEXT, "scene", folder / "maps", png=False)
    return done, LocalFrame.for_bbox(BBOX)


def test_the_scene_has_the_places_and_exits_osm_names(scene):
    done, _ = scene
    gm = done.gridmap
    kinds = gm.features["place_kinds"]
    assert {"koetori": "square", "testipuisto": "park", "testitalo": "building", "testikatu": "street"}.items() \
        <= kinds.items()
    assert set(gm.exits) == {"exit_testikatu_west", "exit_testikatu_east", "exit_north"}
    assert gm.features["exit_sides"]["exit_testikatu_west"] == "west"
    assert gm.features["labels"]["koetori"]["text"] == "Koetori"
    counts = gm.place_cell_counts()
    # the square: about 54 x 26 m of floor
    assert 0.9 * 54 * 26 / 0.25 < counts["koetori"] < 1.1 * 54 * 26 / 0.25
    assert all(counts[e] > 0 for e in gm.exits)
    assert done.map_file.is_file() and done.png is None


def test_floor_walls_and_openings_are_where_osm_puts_them(scene):
    done, frame = scene
    gm = done.gridmap
    walk = gm.walkable

    def at(lon, lat):
        return walk[cell_at(gm, frame, lon, lat)]

    assert at(24.9410, 60.1710) == 1  # the street, 6.5 m wide
    assert at(24.9410, 60.17103 + 0.00003) == 0  # ~6.6 m north of its centreline: built-up
    assert at(24.9430, 60.1707) == 0  # inside the building
    assert at(24.9410, 60.1708) == 1 and gm.place_id[cell_at(gm, frame, 24.9410, 60.1708)] == gm.place_index("koetori")
    assert at(24.9405, 60.1713) == 0  # the pond
    assert at(24.9412, 60.1716) == 0 and at(24.9409, 60.1716) == 1  # the park's fence, its gate open
    assert at(24.9423, 60.1715) == 1 and at(24.9423, 60.1718) == 1  # the footway passes both fences
    assert at(24.9420, 60.1703) == 0  # the tunnel is underground
    # the building's place is the floor within 8 m of it: here the edge of the street north of it
    import shapely

    building = frame.geometry(shapely.box(24.9425, 60.1705, 24.9435, 60.1709))
    xs, ys = np.nonzero(gm.place_mask("testitalo"))
    centres = shapely.points((xs + 0.5) * gm.cell_size, (ys + 0.5) * gm.cell_size)
    assert xs.size and shapely.distance(building, centres).max() <= 8.0 + gm.cell_size
    from scipy import ndimage  # the footway joins the street: one walkable piece from the street to the north exit

    labels, _ = ndimage.label(walk)
    north = gm.place_mask("exit_north")
    assert labels[north].max() == labels[cell_at(gm, frame, 24.9410, 60.1710)]


def test_the_map_file_reads_back_as_the_same_map(scene, tmp_path, monkeypatch):
    from sim.geo import map_raster
    from sim.geo.mapfile import read_map_file

    done, _ = scene
    data = read_map_file(done.map_file)
    fresh = map_raster.rasterize(data, 0.5)
    assert fresh.places == done.gridmap.places and fresh.exits == done.gridmap.exits
    assert np.array_equal(fresh.walkable, done.gridmap.walkable)
    assert np.array_equal(fresh.place_id, done.gridmap.place_id)
    # cached: a second load in a fresh process-level memo does not rasterize
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    calls = []
    real = map_raster.rasterize
    monkeypatch.setattr(map_raster, "rasterize", lambda *a: calls.append(a) or real(*a))
    map_raster._MEMO.clear()
    map_raster.load_map_file(done.map_file, 1.0)
    map_raster._MEMO.clear()
    again = map_raster.load_map_file(done.map_file, 1.0)
    assert len(calls) == 1 and again.shape == (fresh.shape[0] // 2 + fresh.shape[0] % 2, again.shape[1])
    assert list((tmp_path / "maps").glob("file-*.npz"))  # keyed by content hash, never by a name


def test_osm_as_geojson_reads_like_osm_xml(scene, tmp_path):
    import json

    from sim.geo.importer import import_osm

    features = [
        {"type": "Feature", "properties": {"@id": "way/1", "highway": "residential", "name": "Testikatu",
                                           "sidewalk": "no"},
         "geometry": {"type": "LineString", "coordinates": [[24.939, 60.171], [24.945, 60.171]]}},
        {"type": "Feature", "properties": {"@id": "way/5", "highway": "pedestrian", "area": "yes", "place": "square",
                                           "name": "Koetori"},
         "geometry": {"type": "Polygon", "coordinates": [[[24.9405, 60.17075], [24.9415, 60.17075],
                                                          [24.9415, 60.17098], [24.9405, 60.17098],
                                                          [24.9405, 60.17075]]]}},
    ]
    path = tmp_path / "scene.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    done = import_osm(path, BBOX_TEXT, "scene_geojson", tmp_path / "maps", png=False)
    assert {"koetori", "testikatu", "exit_testikatu_west", "exit_testikatu_east"} <= set(done.gridmap.places)
    counts, ours = done.gridmap.place_cell_counts(), scene[0].gridmap.place_cell_counts()
    assert counts["koetori"] == ours["koetori"]
