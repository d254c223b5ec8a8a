"""The browser view's export, density layer, zoom and typed inputs, without a browser (issue #25, features
3-5): the density of a packed block, the colour scale's marks, a click traced back to its cell, a place's
counts against a count by hand, and the settings TOML read back and validated by ``protest-sim``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SQUARE = ROOT / "scenarios" / "examples" / "square_and_street.toml"


@pytest.fixture(scope="module")
def model():
    from sim.viz.session import VizModel

    m = VizModel(scenario_file=str(SQUARE), legitimacy=0.35, police_total=6, seed="11", background=False)
    assert m.error is None, m.error
    for _ in range(3):
        m.step()
    return m


def packed(model, x0: int, y0: int, side: int) -> None:
    """Everyone off the map but a ``side`` x ``side`` block of cells, one person a cell, from (x0, y0)."""
    a = model.sim.arrays
    a.x[:] = -1
    a.y[:] = -1
    xs, ys = np.meshgrid(np.arange(x0, x0 + side), np.arange(y0, y0 + side), indexing="ij")
    n = xs.size
    assert model.sim.gridmap.walkable[xs, ys].all()
    a.x[:n], a.y[:n] = xs.ravel(), ys.ravel()


# --- density --------------------------------------------------------------------------------------------
def test_box_sum_matches_a_sum_by_hand():
    from sim.viz.density import box_sum

    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, size=(9, 13)).astype(float)
    got = box_sum(a, 3)
    for r in range(9):
        for c in range(13):
            assert got[r, c] == a[max(0, r - 1):r + 2, max(0, c - 1):c + 2].sum()


def test_a_packed_block_reads_four_per_m2_and_empty_floor_zero():
    from sim.viz.map_view import density_layer
    from sim.viz.session import VizModel

    m = VizModel(scenario_file=str(SQUARE), background=False)
    layer = density_layer(m.renderer)
    assert layer.side_px == 5 and layer.side_m == pytest.approx(2.5)  # 0.5 m cells, about 2 m
    packed(m, 2, 2, 7)  # 7 x 7 cells of 0.5 m: one person per 0.25 m2 in the middle
    d = layer.density(m.sim)
    r = m.renderer
    centre = d[r.height - 1 - 5, 5]
    assert centre == pytest.approx(4.0)  # one person a cell is 4 per m2
    assert d[r.height - 1 - 5, 25] == 0.0  # the far side of the square: nobody
    assert m.sim.gridmap.walkable[3:8, 6:11].all()
    edge = d[r.height - 1 - 8, 5]  # the 5 x 5 cells around (5, 8) hold the block's rows 6, 7 and 8
    assert edge == pytest.approx(3 * 5 / (25 * 0.25))


def test_density_picture_differs_from_state_picture_and_shows_the_crowd():
    from sim.viz.density import colour_table
    from sim.viz.map_view import picture
    from sim.viz.session import VizModel
    from sim.viz.viewport import Viewport

    m = VizModel(scenario_file=str(SQUARE), background=False)
    state, shape, _ = picture(m, "state", Viewport())
    dens, shape2, _ = picture(m, "density", Viewport())
    assert shape == shape2 and dens.shape == state.shape
    assert not np.array_equal(dens, state)
    lut = colour_table()
    on_scale = np.isin(dens.reshape(-1, 3).view([("", np.uint8)] * 3), lut.view([("", np.uint8)] * 3)).mean()
    assert on_scale > 0.05, "the crowd on the square is drawn in the scale's colours"


def test_the_scale_steps_at_four_and_six():
    from sim.viz.density import MARKS, colour_of

    assert MARKS == (4.0, 6.0)
    def rgb(v):
        return np.array([int(colour_of(v)[i:i + 2], 16) for i in (1, 3, 5)])
    for mark in MARKS:
        jump = np.abs(rgb(mark + 0.05) - rgb(mark - 0.05)).sum()
        drift = np.abs(rgb(mark - 0.1) - rgb(mark - 0.2)).sum()
        assert jump > 3 * max(drift, 10), (mark, jump, drift)


def test_place_counts_agree_with_a_count_by_hand(model):
    from sim.core.walk.state import POLICE
    from sim.viz.density import place_at, place_counts

    sim = model.sim
    gm = sim.gridmap
    x, y = np.argwhere(gm.place_mask("square"))[0]
    assert place_at(gm, int(x), int(y)) == "square"
    got = place_counts(sim, "square")
    a = sim.arrays
    on = a.x >= 0
    here = on & (gm.place_id[np.maximum(a.x, 0), np.maximum(a.y, 0)] == gm.place_index("square"))
    assert got["police"] == int((here & (a.kind == POLICE)).sum())
    assert got["protesters"] == int((here & (a.kind != POLICE)).sum()) == sum(got["by_state"].values()) > 0
    area = gm.place_mask("square").sum() * gm.cell_size ** 2
    assert got["area_m2"] == pytest.approx(area)
    assert got["density"] == pytest.approx((got["police"] + got["protesters"]) / area)
    assert got["name"] == "Square"
    assert place_at(gm, 0, 0) in (None, *gm.places)  # a wall corner: the nearest place within reach, or none
    assert place_at(gm, -5, 3) is None


# --- zoom and clicks ------------------------------------------------------------------------------------
def test_viewport_zooms_pans_and_stays_inside():
    from sim.viz.viewport import ZOOMS, Viewport

    v = Viewport()
    assert v.box((100, 200)) == (0, 100, 0, 200)
    v2 = v.zoomed(+1)
    assert v2.zoom == 2 and v2.box((100, 200)) == (25, 75, 50, 150)
    v8 = Viewport().zoomed(1).zoomed(1).zoomed(1).zoomed(1)
    assert v8.zoom == ZOOMS[-1]
    far = v2
    for _ in range(10):
        far = far.panned(1, 1)
    r0, r1, c0, c1 = far.box((100, 200))
    assert (r1, c1) == (100, 200) and (r1 - r0, c1 - c0) == (50, 100)
    assert v2.zoomed(-1) == Viewport()
    assert Viewport().panned(1, 0) == Viewport()  # nothing to pan at 1x
    assert Viewport().centred((0, 20, 0, 40), (100, 200)).zoom == 4


def test_a_click_lands_on_the_cell_under_it(model):
    from sim.viz.viewport import Viewport, cell_at

    r = model.renderer
    k = r.scale
    shape = (r.height * k, r.width * k, 3)
    for view in (Viewport(), Viewport(4, 0.3, 0.6)):
        box = view.box(shape)
        r0, r1, c0, c1 = box
        for x, y in ((3, 4), (20, 10)):
            row, col = (r.height - 1 - y) * k + k / 2, x * k + k / 2
            if not (r0 <= row < r1 and c0 <= col < c1):
                continue
            fx, fy = (col - c0) / (c1 - c0), (row - r0) / (r1 - r0)
            assert cell_at(r, shape, box, fx, fy) == (x, y)


# --- export ---------------------------------------------------------------------------------------------
def test_settings_toml_round_trips_and_validates(model, tmp_path):
    from sim.kinds import load_scenario
    from sim.viz.export import file_stem, settings_toml

    text = settings_toml(model.sim)
    path = tmp_path / f"{file_stem(model.sim)}_settings.toml"
    path.write_text(text)
    back = load_scenario(path)
    assert back.protest.legitimacy == pytest.approx(0.35)
    assert back.seed == 11
    assert sum(u.count for u in back.police) == sum(u.count for u in model.sim.spec.police)
    assert back.to_toml() == model.sim.spec.with_seed(11).to_toml()
    done = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_series_and_events_csv_have_the_run_folders_columns(model):
    from sim.protest.ledger import COLUMNS
    from sim.viz.export import events_csv, timeseries_csv

    series = pd.read_csv(io.BytesIO(timeseries_csv(model.sim)))
    assert {"time_s", "clock", "protesters_quiet", "police_on_duty"} <= set(series.columns)
    assert len(series) == len(model.sim.datacollector.model_vars["time_s"]) >= 1
    events = pd.read_csv(io.BytesIO(events_csv(model.sim)))
    assert list(events.columns) == list(COLUMNS)


# --- legend, charts, inputs -----------------------------------------------------------------------------
def test_legend_names_everything_drawn(model):
    from sim.viz.map_view import legend_items

    names = [n for n, _, _ in legend_items(model.sim.gridmap)]
    for wanted in ("quiet", "active", "fleeing", "injured", "arrested", "police", "water cannon", "tear gas"):
        assert wanted in names
    assert any(n.startswith("exit") for n in names) == bool(model.sim.gridmap.exits)
    assert any(n.startswith("buildings") for n in names)


def test_charts_label_the_clock_axis(model):
    from sim.viz.app import Charts

    charts = Charts(model.sim)
    assert "clock time" in charts.bottom.get_xlabel()
    assert charts.fig.get_figwidth() * charts.fig.dpi >= 450


def test_typed_values_are_kept_in_the_sliders_range():
    from sim.viz.inputs import clamp

    assert clamp("0.42", 0.0, 1.0, False) == pytest.approx(0.42)
    assert clamp(7, 0.0, 1.0, False) == 1.0
    assert clamp(-3, 1, 200, True) == 1
    assert clamp(12.6, 1, 200, True) == 13 and isinstance(clamp(12.6, 1, 200, True), int)


def test_the_sliders_own_rounding_does_not_undo_a_typed_value():
    from sim.viz.inputs import snap

    assert snap(0.42, 0.0, 0.05) == pytest.approx(0.4)
    assert snap(37, 10, 10) == 40


# --- kernels compiled while loading -------------------------------------------------------------------
def test_loading_compiles_the_gas_kernels_too():
    """In a fresh process, the page's warm-up leaves the gas kernel compiled, so the first canister on the
    page does not stall while numba compiles it."""
    code = ("from sim.core.walk.hazards import _gas_substep\n"
            "assert not _gas_substep.signatures\n"
            "from sim.viz.session import warm_kernels\n"
            "warm_kernels()\n"
            "print(len(_gas_substep.signatures))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) >= 1
