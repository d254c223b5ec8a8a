"""Jump to a moment and replay a recorded run, driven in a real browser (Debian's chromium through
Playwright) as a user would: click an event's button, type a time, move the time slider, wait for the
clock to read the moment, check the picture changed. Screenshots go to results/viz/. The helpers
(server, chromium, clock) are tests/test_viz_browser.py's."""

from __future__ import annotations

import re
import time

import pytest

from tests.test_viz_browser import (MAP, ROOT, SCENARIO, browser_page, clock,
                                    seconds, start_server, stop_server, wait_clock_change,
                                    wait_for_map)
from tests.test_viz_browser_defects import map_png, shot, sync_api, wait_clock_is  # noqa: F401 (a fixture)

PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
JUMP_TIMEOUT_S = 300  # generous: the machine may be busy

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def moment_button(page, text: str):
    return page.locator("button.protest-moment", has_text=re.compile(re.escape(text))).first


def wait_picture_changes(page, old: str, timeout_s: float = 30) -> str:
    page.wait_for_function(f"(old) => document.querySelector('{MAP}').src !== old", arg=old, timeout=timeout_s * 1000)
    return map_png(page)


def wait_text(page, selector: str, text: str, present: bool = True, timeout_s: float = 30) -> None:
    """Wait until the first ``selector`` does (or does not) contain ``text``: parts of the page update one by one."""
    page.wait_for_function("([s, t, p]) => { const e = document.querySelector(s);"
                           " return !!e && e.innerText.includes(t) === p; }", arg=[selector, text, present],
                           timeout=timeout_s * 1000)


def map_shows(page, pixels: bytes, timeout_s: float = 15) -> bool:
    """Whether the map (as drawn on screen) comes to be exactly ``pixels`` within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if page.locator(MAP).screenshot(timeout=5000) == pixels:
                return True
        except Exception:  # noqa: BLE001 - the image is being replaced: look again
            pass
        page.wait_for_timeout(250)
    return False


def settled_map(page) -> bytes:
    """The map as drawn on screen once it has loaded and stopped changing."""
    page.wait_for_function(f"() => {{ const m = document.querySelector('{MAP}'); return m && m.complete && m.naturalWidth; }}")
    shot = page.locator(MAP).screenshot()
    for _ in range(20):
        page.wait_for_timeout(300)
        again = page.locator(MAP).screenshot()
        if again == shot:
            return shot
        shot = again
    return shot


def slider(page):
    field = page.locator(".v-input", has=page.get_by_text("Clock time", exact=True)).first
    return field.locator("[role=slider]").first


def test_jump_to_the_evenings_moments_and_back(sync_api):
    proc, url, log = start_server(SCENARIO)
    errors = []
    try:
        with sync_api.sync_playwright() as p, browser_page(p) as page:
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            wait_for_map(page)
            assert clock(page) == "19:30:00"
            start_png = map_png(page)
            # 20:10, the splinter group: forward without drawing
            button = moment_button(page, "20:10 splinter group leaves for the White House")
            began = time.monotonic()
            button.click()
            page.wait_for_selector(".protest-jumping", timeout=10_000)  # progress shows, the controls are off
            for name in ("Step", "▶", "Reset"):
                sync_api.expect(page.get_by_role("button", name=name)).to_be_disabled(timeout=10_000)
            wait_clock_is(page, "20:10:00", JUMP_TIMEOUT_S)
            took = time.monotonic() - began
            page.wait_for_selector(".protest-jumping", state="detached", timeout=30_000)
            wait_picture_changes(page, start_png)
            print(f"\n19:30 -> 20:10 by the button: {took:.1f} s")
            shot(page, "jump_2010.png")
            # the dispersal: a trigger nobody can time in advance, run to until it fires
            before = map_png(page)
            moment_button(page, "until: the gate is attacked").click()
            page.wait_for_function("() => [...document.querySelectorAll('button.protest-moment')].some("
                                   "b => /^\\d\\d:\\d\\d the gate is attacked/.test(b.innerText.trim()))",
                                   timeout=JUMP_TIMEOUT_S * 1000)
            page.wait_for_selector(".protest-jumping", state="detached", timeout=30_000)
            fired = wait_clock_change(page, "20:10:00")
            assert seconds(fired) > seconds("20:10:00"), fired
            wait_picture_changes(page, before)
            wait_text(page, ".protest-events", "the gate is attacked")
            shot(page, "jump_dispersal.png")
            # back: a typed time re-runs from the start with the same seed
            box = page.get_by_label("Go to (HH:MM or HH:MM:SS)")
            box.fill("19:45")
            box.press("Enter")
            wait_clock_is(page, "19:45:00", JUMP_TIMEOUT_S)
            page.wait_for_selector(".protest-jumping", state="detached", timeout=30_000)
            wait_text(page, ".protest-events", "the gate is attacked", present=False)
            # the slider, with the keyboard: five seconds on, each a jump
            before = settled_map(page)
            slider(page).focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            wait_clock_is(page, "19:45:05", JUMP_TIMEOUT_S)
            page.wait_for_selector(".protest-jumping", state="detached", timeout=30_000)
            assert not map_shows(page, before, timeout_s=2), "the people moved"
            sync_api.expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=10_000)
    finally:
        stop_server(proc)
    assert not errors, errors


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from sim.run.runner import run_to_folder

    out = tmp_path_factory.mktemp("replay") / "pursuit"
    run_to_folder(PURSUIT, out=out, progress=False, trajectories_every_s=1.0)
    return out


def test_replay_a_recorded_run_and_scrub_back_and_forth(sync_api, recorded):
    proc, url, log = start_server(None, run_dir=recorded)
    errors, requests = [], []
    try:
        with sync_api.sync_playwright() as p, browser_page(p) as page:
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            wait_for_map(page)
            assert clock(page) == "12:00:00"
            assert "replaying" in page.inner_text(".protest-replay-info")
            # the pursuit scenario has police but they never use force: said, not offered
            sync_api.expect(moment_button(page, "first use of force (did not happen)")).to_be_disabled()
            first_pixels = settled_map(page)
            first = map_png(page)
            moment_button(page, "12:00 pursue").click()
            wait_clock_is(page, "12:00:30")
            wait_picture_changes(page, first)
            at_pursue = settled_map(page)
            assert at_pursue != first_pixels
            # the slider: to the end, back to the start, a few seconds on, with the keyboard
            slider(page).focus()
            page.keyboard.press("End")
            wait_clock_is(page, "12:04:00")
            page.wait_for_selector(".protest-finished", timeout=30_000)
            shot(page, "replay_end.png")
            page.keyboard.press("Home")
            wait_clock_is(page, "12:00:00")
            assert map_shows(page, first_pixels), "back at the start: the same picture"
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            wait_clock_is(page, "12:00:03")
            # a typed time, then Play's Step goes on from there like a live run
            box = page.get_by_label("Go to (HH:MM or HH:MM:SS)")
            box.fill("12:00:30")
            box.press("Enter")
            wait_clock_is(page, "12:00:30")
            assert map_shows(page, at_pursue), "the same moment, the same picture"
            page.get_by_role("button", name="Step").click()
            wait_clock_is(page, "12:00:35")
            wait_text(page, ".protest-events", "pursue")  # logged in the step that starts at 12:00:30, as live
            shot(page, "replay.png")
    finally:
        stop_server(proc)
    assert not errors, errors
    host = url.split("/")[2]
    outside = sorted({u for u in requests if not u.startswith(("data:", "blob:")) and u.split("/")[2] != host})
    assert not outside, f"the replay reached beyond localhost: {outside}"
