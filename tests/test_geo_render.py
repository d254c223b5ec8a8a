"""Map figures: the built-in map and a text map, written as PNG and drawn on someone else's Axes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from sim.geo.ascii import parse_ascii_map
from sim.geo.raster import load_builtin_map
from sim.geo.render import COLOURS, draw_map, label_points, map_image, save_map_png

TEXT_MAP = """
    ##########
    #SSSS....E
    #SSSS.####
    #.....#
    ###D###
"""


@pytest.fixture(scope="module")
def bishkek():
    return load_builtin_map("bishkek_center", 0.5)


@pytest.fixture(scope="module")
def tiny():
    return parse_ascii_map(TEXT_MAP, places={"S": "square"}, exits={"E": "east", "D": "south"}, cell_size=1.0)


@pytest.mark.parametrize("which", ["bishkek", "tiny"])
def test_a_png_is_written(which, request, tmp_path):
    gm = request.getfixturevalue(which)
    path = save_map_png(gm, tmp_path / "sub" / f"{which}.png", dpi=80)
    assert path.is_file() and path.stat().st_size > 10_000
    img = imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 600
    assert img[..., :3].std() > 0.05  # not a blank page


def test_draw_map_uses_metres_and_stays_fast(bishkek):
    fig = Figure(figsize=(6, 5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    t0 = time.perf_counter()
    draw_map(ax, bishkek, labels=False)
    fig.canvas.draw()
    assert time.perf_counter() - t0 < 3.0
    w, h = bishkek.size_m
    assert ax.get_xlim() == (0, w) and ax.get_ylim() == (0, h)
    image = ax.get_images()[0]
    assert tuple(image.get_extent()) == (0, w, 0, h)
    assert max(image.get_array().shape[:2]) <= 1400  # downsampled for display


def test_the_background_shows_floor_walls_and_places(tiny):
    img = map_image(tiny)
    assert img.shape == (tiny.shape[1], tiny.shape[0], 3)  # rows are y (north up with origin="lower")
    assert np.allclose(img[0, 0], COLOURS["built"])  # south-west corner: wall
    assert np.allclose(img[1, 1], COLOURS["floor"])  # '.' floor at x=1, y=1
    assert np.allclose(img[0, 3], COLOURS["exit"])  # the 'D' exit on the south edge
    square = img[3, 1]
    assert not np.allclose(square, COLOURS["floor"]) and not np.allclose(square, COLOURS["built"])


def test_labels_sit_on_their_places(bishkek, tiny):
    for gm in (bishkek, tiny):
        points = label_points(gm)
        assert set(gm.places) <= set(points)
        for name in gm.places:
            if name in gm.exits:
                continue
            x, y = points[name]
            assert 0 <= x <= gm.size_m[0] and 0 <= y <= gm.size_m[1]
    # the built-in map's anchors fall on (or right next to) the place they name
    for name, (x, y) in label_points(bishkek).items():
        if name in bishkek.exits:
            continue
        cx, cy = int(x / bishkek.cell_size), int(y / bishkek.cell_size)
        near = bishkek.place_id[max(cx - 40, 0):cx + 40, max(cy - 40, 0):cy + 40]
        assert (near == bishkek.place_index(name)).any(), name
