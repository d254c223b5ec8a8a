"""The built-in Bishkek map and small text maps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from sim.errors import ScenarioError
from sim.geo.ascii import parse_ascii_map
from sim.geo.catalog import builtin_place_names
from sim.geo.raster import load_builtin_map
from sim.geo.render import save_map_png


@pytest.fixture(scope="module")
def bishkek():
    return load_builtin_map("bishkek_center", 0.5)


def _components(walkable):
    return ndimage.label(walkable, structure=np.ones((3, 3)))[0]


def test_every_catalogued_place_is_on_the_map_and_reachable_from_the_square(bishkek):
    places, exits = builtin_place_names("bishkek_center")
    assert bishkek.places == places and bishkek.exits == exits
    lab = _components(bishkek.walkable)
    square = np.unique(lab[bishkek.place_mask("ala_too_square")])
    assert len(square) == 1
    for name in places:
        mask = bishkek.place_mask(name)
        assert mask.any(), name
        assert set(np.unique(lab[mask])) == set(square), f"{name} is cut off from the square"


def test_exits_lie_on_the_border(bishkek):
    border = np.zeros(bishkek.shape, bool)
    border[:2, :] = border[-2:, :] = border[:, :2] = border[:, -2:] = True
    ex = bishkek.exit_mask()
    assert ex.any() and not (ex & ~border).any()


def test_the_fenced_grounds_are_reached_only_through_the_gate(bishkek):
    closed = bishkek.walkable.copy()
    closed[bishkek.place_mask("white_house_gate_line")] = 0
    lab = _components(closed)
    inside = set(np.unique(lab[bishkek.place_mask("white_house_grounds")]))
    outside = set(np.unique(lab[bishkek.place_mask("ala_too_square")]))
    assert inside.isdisjoint(outside)
    assert set(np.unique(lab[bishkek.place_mask("white_house_yard")])) <= inside


def test_distances_match_the_sources(bishkek):
    """Gate apron to the square's centre: ~220-260 m in the sources, allowing for 'estimated' positions."""
    def centre(name):
        xs, ys = np.nonzero(bishkek.place_mask(name))
        return np.array([xs.mean(), ys.mean()]) * bishkek.cell_size
    d = np.linalg.norm(centre("ala_too_square") - centre("white_house_gate"))
    assert 150 <= d <= 400
    width, height = bishkek.size_m
    assert width == pytest.approx(1632, abs=5) and height == pytest.approx(1216, abs=5)


def test_buildings_are_not_floor(bishkek):
    from sim.geo.raster import Projection
    from sim.geo.catalog import load_builtin_map_data

    data = load_builtin_map_data("bishkek_center")
    proj = Projection(data)
    for ob in data["obstacles"]:
        pts = proj.xy(ob["polygon"])
        cx, cy = (pts.min(axis=0) + pts.max(axis=0)) / 2 / bishkek.cell_size
        assert bishkek.walkable[int(cx), int(cy)] == 0, ob["id"]


def test_cell_size_scales_areas():
    fine = load_builtin_map("bishkek_center", 0.5).place_cell_counts()
    coarse = load_builtin_map("bishkek_center", 2.0).place_cell_counts()
    for name in ("ala_too_square", "oak_park", "chuy_east"):
        assert coarse[name] * 16 == pytest.approx(fine[name], rel=0.1)


def test_text_maps_read_north_up():
    gm = parse_ascii_map("""
        #####
        #A..#
        #..E#
        #####
    """, places={"A": "top_left"}, exits={"E": "door"})
    assert gm.shape == (5, 4)
    assert gm.place_id[1, 2] == gm.place_index("top_left")  # row 2 from the top is y = 2
    assert gm.exit_mask()[3, 1] and gm.exits == ("door",)
    assert gm.walkable.sum() == 6


@pytest.mark.parametrize("text, places, exits, path", [
    ("#A#\n#x#", {"A": "a"}, {}, "map.ascii"),
    ("#A#", {"A": "a", "B": "b"}, {}, "map.places.B"),
    ("#A#", {"A": "a"}, {"A": "a"}, "map.exits.A"),
    ("\n\n", {}, {}, "map.ascii"),
    ("#A?#", {"A": "a"}, {}, "map.ascii"),
])
def test_text_map_mistakes_name_the_key(text, places, exits, path):
    with pytest.raises(ScenarioError) as err:
        parse_ascii_map(text, places=places, exits=exits)
    assert err.value.path == path


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="#.", min_size=1, max_size=12), min_size=1, max_size=10))
def test_floor_count_round_trips(rows):
    text = "\n".join(rows)
    if "." not in text:
        text += "\n."
    gm = parse_ascii_map(text, places={}, exits={})
    assert gm.walkable.sum() == text.count(".")


def test_map_figures_are_written(tmp_path, bishkek):
    from matplotlib.image import imread

    for gm, name in ((bishkek, "bishkek.png"),
                     (parse_ascii_map("#####\n#A.E#\n#####", places={"A": "a"}, exits={"E": "e"}), "tiny.png")):
        path = save_map_png(gm, tmp_path / name)
        img = imread(path)
        assert img.shape[0] > 100 and img.std() > 0.01
