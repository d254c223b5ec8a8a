"""Issue #25's features 3-5 in a real browser (Debian's chromium through Playwright), driven as a user
would: type a slider's value, Reset, press the export buttons and open the files (the PNG decodes, the
CSVs have a run folder's columns, the settings TOML validates and runs with the typed value); switch to
the density layer and read its scale; zoom in and pan; click the square and read its counts; check the
legend and the charts' size. Screenshots go to results/viz/. The helpers are tests/test_viz_browser.py's."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.test_viz_browser import MAP, ROOT, browser_page, clock, start_server, stop_server, wait_clock_change, \
    wait_for_map
from tests.test_viz_browser_defects import shot, sync_api, wait_clock_is, wait_info_is  # noqa: F401 (a fixture)

SQUARE = ROOT / "scenarios" / "examples" / "square_and_street.toml"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    proc, url, log = start_server(SQUARE)
    yield url, log
    stop_server(proc)


def map_src(page) -> str:
    return page.locator(MAP).first.get_attribute("src")


def wait_map_changes(page, old: str, timeout_s: float = 30) -> str:
    page.wait_for_function(f"(old) => {{ const m = document.querySelector('{MAP}');"
                           " return m && m.src !== old && m.complete && m.naturalWidth > 0; }",
                           arg=old, timeout=timeout_s * 1000)
    return map_src(page)


def natural_size(page) -> tuple[int, int]:
    return tuple(page.evaluate(f"() => {{ const m = document.querySelector('{MAP}');"
                               " return [m.naturalWidth, m.naturalHeight]; }"))


def download(page, label: str, folder: Path) -> Path:
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name=label).click()
    d = info.value
    path = folder / d.suggested_filename
    d.save_as(str(path))
    return path


def test_export_buttons_give_files_that_open_and_run(sync_api, server, tmp_path):  # feature 3 (and typed values)
    import pandas as pd
    from PIL import Image

    from sim.kinds import load_scenario
    from sim.protest.ledger import COLUMNS

    url, _ = server
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.goto(url)
        wait_for_map(page)
        # type a value beside the legitimacy slider (no dragging), and the slider follows it
        field = page.locator(".protest-value-legitimacy input").first
        field.fill("0.42")
        field.press("Enter")
        page.wait_for_function("() => ['0.4', '0.42'].includes(document.querySelector("
                               "'[role=slider][aria-label=\"Legitimacy L\"]').getAttribute('aria-valuenow'))",
                               timeout=10_000)  # the slider moves to its nearest step
        page.wait_for_timeout(300)
        assert field.input_value() == "0.42", "the typed value is kept, between the slider's steps"
        page.get_by_role("button", name="Reset").click()
        page.wait_for_function("() => (document.querySelector('.protest-running') || {innerText: ''})"
                               ".innerText.includes('legitimacy 0.42')", timeout=60_000)
        wait_info_is(page, "Time: 00:00:00 (0 s after 00:00)")
        now = clock(page)
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
            now = wait_clock_change(page, now)
        page.wait_for_timeout(500)

        png = download(page, "picture (PNG)", tmp_path)
        assert png.name == f"Square_and_street_{now.replace(':', '')}.png"
        img = Image.open(png)
        img.load()
        assert img.size == natural_size(page), "the picture as shown"

        series = pd.read_csv(download(page, "time series (CSV)", tmp_path))
        assert {"time_s", "clock", "protesters_quiet", "protesters_active", "police_on_duty"} <= set(series.columns)
        assert series["time_s"].iloc[-1] == pytest.approx(15.0)  # three Steps of 5 s, recorded every 5 s
        events = pd.read_csv(download(page, "events (CSV)", tmp_path))
        assert list(events.columns) == list(COLUMNS)

        toml = download(page, "settings (scenario TOML)", tmp_path)
        shot(page, "export.png")
    sc = load_scenario(toml)
    assert sc.protest.legitimacy == pytest.approx(0.42)
    assert sc.seed == load_scenario(SQUARE).seed
    for cmd in (["validate", str(toml)], ["run", str(toml), "--duration", "10", "--quiet", "--out", str(tmp_path / "run")]):
        done = subprocess.run([sys.executable, "-m", "sim", *cmd], capture_output=True, text=True, timeout=600,
                              cwd=tempfile.gettempdir())
        assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "run" / "summary.json").is_file()


def test_density_layer_zoom_pan_and_a_place_counts(sync_api, server):  # feature 4
    from sim.kinds import load_scenario
    from sim.viz.density import place_at

    sc = load_scenario(SQUARE)
    rally = sum(c.count for c in sc.crowds if c.place == "square")
    url, _ = server
    errors = []
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_for_map(page)
        wait_clock_is(page, "00:00:00")
        full = natural_size(page)
        legend = page.inner_text(".protest-legend")
        for item in ("quiet", "active", "police", "water cannon", "tear gas", "exit", "buildings"):
            assert item in legend, legend

        # the square, clicked where it is drawn: its counts show (everyone rallies there at the start)
        box = page.locator(MAP).bounding_box()
        from sim.viz.session import VizModel
        m = VizModel(scenario_file=str(SQUARE), background=False)
        gm, r = m.sim.gridmap, m.renderer
        x, y = 6, gm.shape[1] // 2
        assert place_at(gm, x, y) == "square"
        fx, fy = (x + 0.5) / r.width, (r.height - 1 - y + 0.5) / r.height
        page.locator(MAP).click(position={"x": fx * box["width"], "y": fy * box["height"]})
        page.wait_for_function("() => (document.querySelector('.protest-place') || {innerText: ''})"
                               ".innerText.startsWith('Square:')", timeout=10_000)
        place = page.inner_text(".protest-place")
        assert re.match(rf"Square: {rally} protesters \(quiet {rally}\), 0 police; [\d,]+ m2 of floor, "
                        r"[\d.]+ people/m2; [\d.]+ people/m2 in the 2.5 m square at the point clicked", place), place
        shot(page, "place_counts.png")

        # the density layer: another picture, the scale with its marks at 4 and 6 per m2
        state = map_src(page)
        page.get_by_role("button", name="density (people/m2)").click()
        wait_map_changes(page, state)
        page.wait_for_selector(".protest-density-mark", timeout=10_000)
        marks = [e.strip() for e in page.locator(".protest-density-mark").all_inner_texts()]
        assert marks == ["4", "6"], marks
        assert "4 /m2: people touch" in page.inner_text(".protest-density-scale")
        assert page.locator(".protest-legend").count() == 0, "the state legend gives way to the scale"
        shot(page, "density_layer.png")

        # zoom in twice: a crop of a quarter of the width, drawn crisp; pan east: another crop
        dens = map_src(page)
        page.locator(".protest-zoom-in").click()
        dens = wait_map_changes(page, dens)
        page.locator(".protest-zoom-in").click()
        dens = wait_map_changes(page, dens)
        assert "zoom 4x" in page.inner_text(".protest-map-tools")
        zoomed = natural_size(page)
        assert abs(zoomed[0] - full[0] / 4) <= 1 and abs(zoomed[1] - full[1] / 4) <= 1, (zoomed, full)
        assert page.locator(MAP).evaluate("e => getComputedStyle(e).imageRendering") == "pixelated"
        page.get_by_role("button", name="→").click()
        wait_map_changes(page, dens)
        shot(page, "density_zoomed.png")
        page.locator(".protest-zoom-out").click()
        page.locator(".protest-zoom-out").click()
        page.wait_for_function("() => document.querySelector('.protest-map-tools').innerText.includes('zoom 1x')")
        # still a running page: a Step moves the clock and the density picture
        dens = map_src(page)
        page.get_by_role("button", name="Step").click()
        wait_clock_change(page, "00:00:00")
        wait_map_changes(page, dens)
    assert not errors, errors


def test_charts_are_wide_enough_and_every_slider_takes_a_number(sync_api, server):  # feature 5
    from sim.viz.session import model_params

    url, _ = server
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.goto(url)
        wait_for_map(page)
        page.wait_for_selector("img.protest-charts")
        width = page.locator("img.protest-charts").bounding_box()["width"]
        natural = page.evaluate("() => document.querySelector('img.protest-charts').naturalWidth")
        assert width >= 400, f"the charts are {width:.0f} px wide at 1600 px"
        assert width >= 0.8 * natural, f"drawn {natural} px wide, shown {width:.0f}: the type shrinks too much"
        sliders = page.locator(".protest-typed-slider").count()
        fields = page.locator(".protest-typed-slider .v-text-field input").count()
        wanted = [k for k, v in model_params(SQUARE).items() if isinstance(v, dict) and "Slider" in v["type"]]
        assert sliders == len(wanted) == fields >= 3, (sliders, fields, wanted)
        # the splinter slider takes a typed number too, kept inside its range (at most the whole crowd)
        field = page.locator(".protest-value-splinter input").first
        field.fill("100000")
        field.press("Enter")
        page.wait_for_function("() => document.querySelector("
                               "'[role=slider][aria-label=\"Splinter marchers\"]').getAttribute('aria-valuenow') === '80'",
                               timeout=10_000)
        # the field shows the clamped value too, once the server's answer has reached it (a moment after the slider)
        sync_api.expect(field).to_have_value("80", timeout=10_000)
        shot(page, "charts_and_inputs.png")


def test_a_click_on_the_bishkek_map_names_the_square_and_counts_the_rally(sync_api):  # feature 4 on a real map
    import numpy as np

    from sim.viz.session import VizModel
    from tests.test_viz_browser import SCENARIO

    m = VizModel(scenario_file=str(SCENARIO), background=False)
    gm, r = m.sim.gridmap, m.renderer
    rally = sum(c.count for c in m.spec.crowds if c.place == "ala_too_square")
    xs, ys = np.nonzero(gm.place_mask("ala_too_square"))
    x, y = int(np.median(xs)), int(np.median(ys))
    fx, fy = (x // r.step + 0.5) / r.width, (r.height - 1 - y // r.step + 0.5) / r.height
    proc, url, _ = start_server(SCENARIO)
    try:
        with sync_api.sync_playwright() as p, browser_page(p) as page:
            page.goto(url)
            wait_for_map(page)
            box = page.locator(MAP).bounding_box()
            page.locator(MAP).click(position={"x": fx * box["width"], "y": fy * box["height"]})
            page.wait_for_function("() => (document.querySelector('.protest-place') || {innerText: ''})"
                                   ".innerText.startsWith('Ala-Too Square:')", timeout=20_000)
            text = page.inner_text(".protest-place")
            assert text.startswith(f"Ala-Too Square: {rally} protesters (quiet {rally}), 0 police;"), text
            shot(page, "bishkek_place.png")
    finally:
        stop_server(proc)
