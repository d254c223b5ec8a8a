"""The defects of issue #25, each driven in a real browser (Debian's chromium through Playwright) as a user
would meet it: pick a scenario, click, wait for the picture to change, read the clock. Screenshots go
to results/viz/. The helpers (server, chromium, clock) are tests/test_viz_browser.py's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_viz_browser import (CLOCK, MAP, ROOT, SHOTS, browser_page, clock, ensure_chromium, free_port, seconds,
                              set_slider, start_server, stop_server, wait_clock_change, wait_for_map)

SQUARE = ROOT / "scenarios" / "examples" / "square_and_street.toml"
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def sync_api():
    why = ensure_chromium()
    if why:
        pytest.skip(why)
    pytest.importorskip("solara")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server():
    """One server opening the small square-and-street example first (quick to build)."""
    proc, url, log = start_server(SQUARE)
    yield url, log
    stop_server(proc)


def pick(page, label: str) -> None:
    """Choose ``label`` in the sidebar's scenario picker, as a user does."""
    page.locator(".v-select", has=page.get_by_text("Scenario", exact=True)).first.click()
    page.locator(".v-menu__content .v-list-item", has_text=re.compile(f"^{re.escape(label)}$")).first.click()


def wait_clock_is(page, text: str, timeout_s: float = 60) -> None:
    page.wait_for_function(f"(t) => (document.querySelector('{CLOCK}') || {{innerText: ''}}).innerText.trim() === t",
                           arg=text, timeout=timeout_s * 1000)


def wait_info_is(page, text: str, timeout_s: float = 60) -> None:
    """Wait until the sidebar shows the model on screen (its controls belong to it from then on)."""
    page.wait_for_function("(t) => [...document.querySelectorAll('.protest-time')].some(e => e.innerText.trim() === t)",
                           arg=text, timeout=timeout_s * 1000)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def map_png(page) -> str:
    return page.locator(MAP).first.get_attribute("src")


def test_epstein_scenarios_get_their_own_view(sync_api, server):  # defect 1
    url, _ = server
    errors = []
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_for_map(page)
        for label in ("epstein_2002", "epstein_2002_mesa"):
            pick(page, label)
            wait_clock_is(page, "step 0")
            wait_info_is(page, "Step 0 of 1000")
            body = page.inner_text("body")
            assert "Traceback" not in body and "AttributeError" not in body, body[:2000]
            counts = page.inner_text(".epstein-counts")
            assert re.search(r"quiet \d+ · active \d+ · jailed \d+", counts), counts
            assert page.get_by_text("Legitimacy L", exact=True).count() == 1
            grid = map_png(page)
            size = page.wait_for_function(f"() => {{ const m = document.querySelector('{MAP}');"
                                          " return m && m.complete && m.naturalWidth; }").json_value()
            assert size == 40 * 14, size  # the 40 x 40 torus, 14 pixels a cell
            page.get_by_role("button", name="Step").click()
            assert wait_clock_change(page, "step 0") == "step 1"
            page.wait_for_function(f"(old) => document.querySelector('{MAP}').src !== old", arg=grid, timeout=10_000)
            assert "Step 1 of 1000" in page.inner_text("body")
            shot(page, f"{label}.png")
    assert not errors, errors


def test_small_maps_are_crisp_with_labels_to_scale(sync_api, server):  # defect 2
    url, _ = server
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.goto(url)
        wait_for_map(page)
        img = page.locator(MAP).first
        natural = page.evaluate(f"() => document.querySelector('{MAP}').naturalWidth")
        assert natural >= 34 * 8, f"the 34-cell map is {natural} pixels wide: several pixels a cell"
        assert img.evaluate("e => getComputedStyle(e).imageRendering") == "pixelated"
        assert "one cell (0.5 m) = 16 x 16 pixels" in page.inner_text("body")
        shot(page, "small_map.png")


def test_police_are_counted_apart_and_the_page_reads_well(sync_api, server):  # defects 3 and 6
    from sim.kinds import load_scenario

    sc = load_scenario(PURSUIT)
    protesters, police = sum(c.count for c in sc.crowds), sum(u.count for u in sc.police)
    url, _ = server
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.goto(url)
        wait_for_map(page)
        pick(page, "examples/pursuit")
        wait_clock_is(page, "12:00:00")
        wait_info_is(page, "Time: 12:00:00 (0 s after 12:00)")
        counts = page.inner_text(".protest-counts")
        assert f"protesters: quiet {protesters} ·" in counts, counts
        assert f"police: on duty {police} ·" in counts, counts
        assert f"quiet {protesters + police} " not in counts, "police are not quiet protesters"
        # the time with its unit, and the dagger explained
        assert "Time: 12:00:00 (0 s after 12:00)" in page.inner_text("body")
        assert "after a name: position estimated" in page.inner_text("body")
        from sim.geo.render import readable_name
        assert readable_name("west_street") == "West Street"  # what the map's labels now say, not the id
        # slider values show without dragging
        assert page.locator(".v-slider__thumb-label").first.is_visible()
        # the counts line keeps its height when it wraps, so the map does not jump
        def map_offset():
            return page.evaluate(f"""() => {{ const m = document.querySelector('{MAP}');
                return m.getBoundingClientRect().top - m.closest('.v-card').getBoundingClientRect().top; }}""")
        wide = map_offset()
        page.set_viewport_size({"width": 1000, "height": 1000})  # the counts no longer fit on one line
        page.wait_for_timeout(500)
        assert abs(map_offset() - wide) < 1, (wide, map_offset())
        page.set_viewport_size({"width": 1600, "height": 1000})
        # play to the end: the page says the run is over, and nothing covers the events
        set_slider(page, "Render Interval (steps)", "End")
        set_slider(page, "Play Interval (ms)", "Home")
        page.get_by_role("button", name="▶").click()
        page.wait_for_selector(".protest-finished", timeout=120_000)
        assert clock(page) == "12:04:00"
        assert "The run is over at 12:04:00" in page.inner_text(".protest-finished")
        # a short window: the page scrolls, and at its bottom Solara's badge must not sit on the events
        page.set_viewport_size({"width": 1600, "height": 560})
        page.mouse.move(1300, 300)
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(800)
        events = page.locator(".v-card", has=page.locator(".protest-events")).last.bounding_box()
        badge = page.get_by_text("This website runs on").bounding_box()
        assert events["y"] + events["height"] <= badge["y"], (events, badge)
        shot(page, "finished.png")


def test_a_bad_seed_leaves_no_stale_model_running(sync_api, server):  # defect 5
    url, _ = server
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.goto(url)
        wait_for_map(page)
        start = clock(page)
        page.get_by_role("button", name="Step").click()
        stepped = wait_clock_change(page, start)
        seed = page.get_by_label("Random seed")
        seed.fill("not a number")
        seed.press("Enter")
        page.get_by_role("button", name="Reset").click()
        page.wait_for_selector(".protest-error", timeout=30_000)
        assert "not a number" in page.inner_text(".protest-error")
        assert page.get_by_role("button", name="Step").is_disabled()
        assert page.get_by_role("button", name="▶").is_disabled()
        assert page.locator(MAP).count() == 0 and stepped  # the old model's picture is gone, not stepped on
        shot(page, "bad_seed.png")
        seed.fill("3")
        seed.press("Enter")
        page.get_by_role("button", name="Reset").click()
        wait_for_map(page)
        assert clock(page) == start and page.get_by_role("button", name="Step").is_enabled()


def test_first_step_after_a_fresh_install_does_not_hang(sync_api):  # defect 4
    cache = tempfile.mkdtemp(prefix="protest-numba-")
    os.environ["NUMBA_CACHE_DIR"], old = cache, os.environ.get("NUMBA_CACHE_DIR")
    try:
        proc, url, _ = start_server(PURSUIT)  # kernels compile from nothing: a fresh install
    finally:
        if old is None:
            del os.environ["NUMBA_CACHE_DIR"]
        else:
            os.environ["NUMBA_CACHE_DIR"] = old
    try:
        with sync_api.sync_playwright() as p, browser_page(p) as page:
            page.goto(url)
            page.wait_for_selector(".protest-loading", timeout=60_000)
            page.wait_for_function("() => document.querySelector('.protest-loading') === null"
                                   " || document.querySelector('.protest-loading').innerText.includes('compiling')",
                                   timeout=120_000)
            wait_for_map(page)
            start = clock(page)
            t0 = time.monotonic()
            page.get_by_role("button", name="Step").click()
            wait_clock_change(page, start, timeout_s=60)
            assert time.monotonic() - t0 < 8, "the first Step waited for kernels to compile"
    finally:
        stop_server(proc)


def test_sigterm_stops_the_server_it_started(sync_api, tmp_path):  # defect 7
    port = free_port()
    from sim.viz.server import server_env

    env = server_env(None, base=dict(os.environ, PYTHONPATH=str(ROOT)))
    proc = subprocess.Popen([sys.executable, "-m", "sim", "viz", str(SQUARE), "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.3)
        with sync_api.sync_playwright() as p, browser_page(p) as page:
            page.goto(url)
            wait_for_map(page)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1).close()
            except OSError:
                return
            time.sleep(0.3)
        pytest.fail("after SIGTERM to protest-sim viz, its solara server still serves the port")
    finally:
        if proc.poll() is None:
            proc.kill()
