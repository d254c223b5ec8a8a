"""Run figures: real, non-blank PNGs drawn without pyplot; counts per side, injuries by cause on their
own axes; density panels share one colour scale and show police, trucks, gas, a scale and north."""

import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from sim.geo.gridmap import GridMap
from sim.protest.density import MAX_PANELS, MIN_VMAX, plot_density
from sim.protest.plots import MAX_PLACE_LINES, clock_offset_s, plot_injuries, plot_timeline
from sim.protest.snapshots import Snapshot

ROOT = Path(__file__).resolve().parents[1]


def small_map() -> GridMap:
    """40 x 30 cells of 0.5 m: a square (west), a street (east), a block of buildings, an exit (north)."""
    walkable = np.ones((40, 30), dtype=np.uint8)
    walkable[0, :] = walkable[-1, :] = walkable[:, 0] = walkable[:, -1] = 0
    walkable[24:36, 4:20] = 0  # a building
    place_id = np.full((40, 30), -1, dtype=np.int16)
    place_id[1:20, 1:29] = 0
    place_id[20:39, 20:28] = 1
    place_id[20:39, 28] = 2
    walkable[20:39, 29] = 0
    return GridMap(name="tiny", cell_size=0.5, walkable=walkable, place_id=place_id,
                   places=("square", "street", "north_exit"), exits=("north_exit",))


def timeline_data():
    t = np.arange(0, 610, 10.0)
    left = np.minimum(t // 20, 30).astype(np.int64)
    street = np.clip((t - 120) // 10, 0, 25).astype(np.int64)
    hurt = np.clip((t - 300) // 60, 0, 4).astype(np.int64)
    ts = pd.DataFrame({"time_s": t, "clock": [f"20:{int(s) // 60:02d}:{int(s) % 60:02d}" for s in t],
                       "protesters_quiet": 100 - left - hurt, "protesters_injured": hurt, "protesters_left": left,
                       "police_on_duty": np.full(len(t), 10), "police_injured": (t >= 400).astype(np.int64),
                       "protesters_arrested": np.zeros(len(t), np.int64),
                       "protesters_in_square": 100 - left - street, "protesters_in_street": street,
                       "protesters_in_corner": (t % 50 == 0).astype(np.int64),
                       "police_in_square": np.full(len(t), 10), "protesters_left_via_north_exit": left})
    events = pd.DataFrame([{"time_s": 120.0, "clock": "20:02:00", "kind": "event", "label": "march on the street",
                            "detail": "25 of main"},
                           {"time_s": 130.0, "clock": "20:02:10", "kind": "force", "label": "every use of force",
                            "detail": ""}]
                          + [{"time_s": 300.0 + 60 * k, "clock": "", "kind": "injury", "label": "", "detail": "",
                              "side": "protesters", "cause": "baton" if k else "gas", "count": 1} for k in range(4)]
                          + [{"time_s": 400.0, "clock": "", "kind": "injury", "label": "", "detail": "",
                              "side": "police", "cause": "projectile", "count": 1}])
    return ts, events


def assert_real_png(path: Path, *, min_side: int = 200) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) >= min_side, img.shape
    rgb = img[..., :3]
    assert rgb.std() > 0.05  # not one flat colour
    assert (rgb.min(axis=2) < 0.9).mean() > 0.03  # a fair share of pixels are not white
    assert len(np.unique(rgb.reshape(-1, 3).round(2), axis=0)) > 20
    return img


def _legend(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


# --- timeline ------------------------------------------------------------------------------------
def test_timeline_is_a_real_image_with_states_places_and_events(tmp_path):
    ts, events = timeline_data()
    fig = plot_timeline(ts, tmp_path / "t.png", events=events, title="synthetic")
    assert_real_png(tmp_path / "t.png", min_side=500)
    top, middle, bottom, key = fig.axes
    assert _legend(top) == ["quiet", "injured", "left"]  # protesters only: the police are not in these counts
    # the injured of each side on their own axis, however few they are beside the crowd
    assert _legend(middle) == ["protesters injured", "police injured", "protesters arrested"]
    assert middle.get_ylim()[1] < 10
    assert _legend(bottom) == ["square", "street", "other places"]  # the corner never holds 3 % of them
    # the key event is marked (kinds outside KEY_EVENT_KINDS are left out when key events exist)
    dashed = [line.get_xdata()[0] for line in bottom.lines if line.get_label().startswith("_")]  # axvlines
    assert dashed == [pytest.approx(20 * 3600 + 120)]
    key_text = " ".join(t.get_text() for t in key.texts)
    assert "march on the street" in key_text and "20:02" in key_text and "every use of force" not in key_text
    labels = [t.get_text() for t in bottom.get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d\d:\d\d", s) for s in labels) and "20:02" in labels


def test_timeline_sums_small_and_surplus_places(tmp_path):
    t = np.arange(0, 100, 10.0)
    cols = {"time_s": t, "clock": [f"23:59:{int(s) % 60:02d}" if s < 60 else f"00:00:{int(s) - 60:02d}" for s in t],
            "protesters_quiet": np.full(len(t), 1000)}
    for i in range(12):
        cols[f"protesters_in_p{i:02d}"] = np.full(len(t), 100 - 5 * i)
    cols["protesters_in_tiny"] = np.full(len(t), 3)
    fig = plot_timeline(pd.DataFrame(cols), tmp_path / "t.png")
    names = _legend(fig.axes[2])
    assert names[:MAX_PLACE_LINES] == [f"p{i:02d}" for i in range(MAX_PLACE_LINES)]
    assert names[-1] == "other places" and len(names) == MAX_PLACE_LINES + 1
    other = [line for line in fig.axes[2].lines if line.get_label() == "other places"][0]
    assert other.get_ydata()[0] == sum(100 - 5 * i for i in range(MAX_PLACE_LINES, 12)) + 3
    labels = [t.get_text() for t in fig.axes[2].get_xticklabels() if t.get_text()]
    assert "00:00:00" in labels and "23:59:30" in labels  # short spans in seconds; past midnight the clock wraps
    assert len(fig.axes) == 3  # no events, no key
    assert_real_png(tmp_path / "t.png")


def test_timeline_copes_with_thin_data(tmp_path):
    one = pd.DataFrame({"time_s": [0.0], "clock": ["12:00:00"], "protesters_quiet": [0]})
    plot_timeline(one, tmp_path / "one.png", events=[])
    assert imread(tmp_path / "one.png").shape[0] > 200
    plot_injuries(one, [], tmp_path / "hurt.png")
    assert imread(tmp_path / "hurt.png").shape[0] > 200
    assert clock_offset_s(pd.DataFrame({"time_s": [30.0], "clock": ["20:00:30"]})) == 20 * 3600
    assert clock_offset_s(pd.DataFrame({"time_s": [0.0], "clock": ["?"]})) == 0.0


# --- injuries ------------------------------------------------------------------------------------
def test_injuries_by_cause_count_up_per_side(tmp_path):
    ts, events = timeline_data()
    fig = plot_injuries(ts, events, tmp_path / "i.png", title="synthetic")
    assert_real_png(tmp_path / "i.png", min_side=500)
    protesters, police, key = fig.axes
    assert _legend(protesters) == ["baton (3)", "gas (1)"] and _legend(police) == ["projectile (1)"]
    baton = next(line for line in protesters.lines if line.get_label().startswith("baton"))
    assert baton.get_ydata()[0] == 0 and baton.get_ydata()[-1] == 3  # so far, not per minute
    assert "4 in all" in protesters.get_title(loc="left") and "1 in all" in police.get_title(loc="left")
    assert "march on the street" in " ".join(t.get_text() for t in key.texts)
    none = plot_injuries(ts, events[events["kind"] != "injury"], tmp_path / "none.png")
    assert "no protesters injured" in [t.get_text() for t in none.axes[0].texts]
    # injuries, arrests and uses of force come by the hundred: never marked as key events
    assert len(plot_timeline(ts, tmp_path / "t.png", events=events[events["kind"] == "injury"]).axes) == 3


# --- density -------------------------------------------------------------------------------------
def _snapshots():
    return [("20:00", np.array([2, 3, 3, 10]), np.array([2, 3, 2, 10])),  # three agents in one 2 m bin
            ("20:05", np.array([5, 30]), np.array([25, 22])),
            ("20:10", np.array([15] * 12), np.array([15] * 12))]  # a pile-up: 12 in one bin


def _density_images(fig):
    return [im for ax in fig.axes for im in ax.images if im.get_cmap().name == "density"]


def test_density_is_a_real_image_with_a_shared_scale(tmp_path):
    fig = plot_density(small_map(), _snapshots(), tmp_path / "d.png", bin_m=2.0, title="tiny")
    assert_real_png(tmp_path / "d.png")
    assert fig.vmax == pytest.approx(12 / 4.0)  # 12 people in one 4 m^2 bin, the densest of all panels
    images = _density_images(fig)
    assert len(images) == 3 and {(im.norm.vmin, im.norm.vmax) for im in images} == {(0.0, fig.vmax)}
    grid = images[0].get_array()
    assert grid.max() == pytest.approx(3 / 4.0) and grid.mask.sum() == grid.size - 2  # zero bins transparent
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split()[0] for t in titles[:3]] == ["20:00", "20:05", "20:10"]
    colourbar = fig.axes[-1]
    assert "protesters per m" in colourbar.get_ylabel()


def test_density_draws_police_trucks_gas_scale_and_north(tmp_path):
    gas = np.zeros((5, 4))
    gas[1, 1] = 0.5  # g/m^2: a cloud people flee
    gas[3, 2] = 0.001  # too thin to see
    snap = Snapshot("20:00", np.array([2, 3, 30]), np.array([2, 3, 20]), np.array([10, 11]), np.array([5, 5]),
                    np.array([12]), np.array([6]), gas, 4.0)
    fig = plot_density(small_map(), [snap, _snapshots()[1]], tmp_path / "d.png", bin_m=2.0, crop=False)
    assert_real_png(tmp_path / "d.png")
    first = fig.axes[0]
    sizes = sorted(len(c.get_offsets()) for c in first.collections)
    assert sizes == [1, 2]  # one truck, two officers
    veil = [im for im in first.images if im.get_array().ndim == 3 and im.get_array().shape[-1] == 4]
    assert len(veil) == 1 and veil[0].get_array()[1, 1, 3] > 0 and veil[0].get_array()[2, 3, 3] == 0
    texts = [t.get_text() for t in first.texts]
    assert "N" in texts and any(t.endswith(" m") for t in texts)  # north arrow, scale bar
    assert "2 police" in first.get_title()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "police officer" in legend and "water cannon truck" in legend and any("tear gas" in t for t in legend)


def test_density_keeps_no_label_the_panel_edge_would_cut(tmp_path):
    gm = small_map()
    gm.features["labels"] = {"street": {"at": [19.5, 12.0]}}  # on the edge of the whole map
    fig = plot_density(gm, [("a", np.array([2]), np.array([2]))], tmp_path / "d.png", bin_m=1.0, crop=False)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.texts]
    assert "Street" not in names and "Square" in names  # labels show human names (render.readable_name)
    box = ax.get_window_extent()
    for text in ax.texts:
        ext = text.get_window_extent()
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, text.get_text()


def test_density_scale_has_a_floor_and_panels_a_limit(tmp_path):
    snaps = [(f"20:{i:02d}", np.array([i + 1]), np.array([5])) for i in range(9)]
    fig = plot_density(small_map(), snaps, tmp_path / "d.png", bin_m=5.0)
    assert fig.vmax == MIN_VMAX  # one person per 25 m^2 is not drawn as a crush
    titles = [ax.get_title().split()[0] for ax in fig.axes if ax.get_title()]
    assert len(titles) == MAX_PANELS and titles[0] == "20:00" and titles[-1] == "20:08"
    assert_real_png(tmp_path / "d.png")


def test_density_crops_to_the_crowd_unless_told_not_to(tmp_path):
    gm = small_map()
    corner = [("a", np.array([2, 3]), np.array([2, 3]))]
    zoomed = plot_density(gm, corner, tmp_path / "z.png", bin_m=1.0).axes[0]
    whole = plot_density(gm, corner, tmp_path / "w.png", bin_m=1.0, crop=False).axes[0]
    assert whole.get_xlim() == (0.0, 20.0) and whole.get_ylim() == (0.0, 15.0)
    (x0, x1), (y0, y1) = zoomed.get_xlim(), zoomed.get_ylim()
    assert 0.0 <= x0 < 1.0 < 2.0 < x1 < 20.0 and 0.0 <= y0 < 1.0 < 2.0 < y1 < 15.0


def test_density_without_the_map_renderer(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sim.geo.render", None)  # import fails: plain walkable background
    fig = plot_density(small_map(), _snapshots()[:2], tmp_path / "d.png", bin_m=2.0)
    assert_real_png(tmp_path / "d.png")
    assert len(_density_images(fig)) == 2


def test_density_with_nothing_to_show(tmp_path):
    fig = plot_density(small_map(), [], tmp_path / "none.png")
    assert fig.vmax == MIN_VMAX and (tmp_path / "none.png").is_file()
    fig = plot_density(small_map(), [("20:00", np.array([], int), np.array([], int))], tmp_path / "empty.png")
    assert (tmp_path / "empty.png").is_file()


# --- no global state -----------------------------------------------------------------------------
def test_figures_draw_in_threads(tmp_path):
    ts, events = timeline_data()
    errors = []

    def draw(i):
        try:
            plot_timeline(ts, tmp_path / f"t{i}.png", events=events, title=f"thread {i}")
            plot_density(small_map(), _snapshots(), tmp_path / f"d{i}.png", bin_m=2.0)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(3):
        assert_real_png(tmp_path / f"t{i}.png")
        assert_real_png(tmp_path / f"d{i}.png")


def test_pyplot_is_never_imported(tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.test_plots import small_map, timeline_data, _snapshots\n"
            "from sim.protest.plots import plot_injuries, plot_timeline\n"
            "from sim.protest.density import plot_density\n"
            f"plot_timeline(timeline_data()[0], {str(tmp_path / 't.png')!r}, events=timeline_data()[1])\n"
            f"plot_injuries(*timeline_data(), {str(tmp_path / 'i.png')!r})\n"
            f"plot_density(small_map(), _snapshots(), {str(tmp_path / 'd.png')!r})\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
