"""The browser view in a real browser: start ``protest-sim viz``'s server on a free localhost port, drive
Debian's chromium with Playwright, press Step and Play, and check the clock and the map move, that no
request leaves localhost (the page works offline) and that nothing failed to load.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``; never ``playwright install``). If it is
missing the test tries to install it and skips, saying why, only if that is impossible.

``python tests/test_viz_browser.py --figure`` regenerates results/reference/viz_dispersal.png, the
README's screenshot of the page during the dispersal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SCENARIO = ROOT / "scenarios" / "bishkek_2020_10_05.toml"
SHOTS = ROOT / "results" / "viz"
FIGURE = ROOT / "results" / "reference" / "viz_dispersal.png"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOAD_TIMEOUT_S = 300  # the first build of the Bishkek model computes and caches its distance fields
VIEWPORT = {"width": 1600, "height": 1000}
MAP = "img.protest-map"
CLOCK = ".protest-clock"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# --- set-up -----------------------------------------------------------------------------------------------
def ensure_chromium() -> str | None:
    """Path of chromium, installing Debian's package if needed; None (and why) if that is impossible."""
    if os.path.exists(CHROMIUM):
        return None
    if shutil.which("apt-get") is None:
        return "no /usr/bin/chromium and no apt-get to install it"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "no /usr/bin/chromium, and installing it needs root: sudo apt-get install -y chromium"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"no /usr/bin/chromium and {' '.join(cmd)} failed: {err}"
        if done.returncode != 0:
            return f"no /usr/bin/chromium and {' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None if os.path.exists(CHROMIUM) else "apt-get installed chromium but /usr/bin/chromium is missing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(scenario: Path | None = SCENARIO, *, run_dir: Path | None = None) -> tuple[subprocess.Popen, str, Path]:
    """The viz server (as ``protest-sim viz SCENARIO`` or ``protest-sim viz RUN_DIR`` starts it) on a free port;
    its output goes to a log file."""
    from sim.viz.app import server_command, server_env

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="protest-viz-")) / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(server_command("127.0.0.1", port), env=server_env(scenario, run_dir=run_dir), cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return proc, url, log
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"server did not answer at {url}:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@contextlib.contextmanager
def browser_page(playwright):
    """A page in headless chromium with a fresh profile, removed afterwards."""
    profile = tempfile.mkdtemp(prefix="protest-chromium-")
    context = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                            args=CHROMIUM_FLAGS, viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for_map(page) -> None:
    page.wait_for_selector(CLOCK, timeout=LOAD_TIMEOUT_S * 1000)
    page.wait_for_selector(MAP, timeout=30_000)


def clock(page) -> str:
    return page.inner_text(CLOCK).strip()


def wait_clock_change(page, old: str, timeout_s: float = 30) -> str:
    page.wait_for_function(f"(old) => document.querySelector('{CLOCK}').innerText.trim() !== old", arg=old,
                           timeout=timeout_s * 1000)
    return clock(page)


def seconds(text: str) -> int:
    h, m, s = (int(v) for v in text.split(":"))
    return h * 3600 + m * 60 + s


# --- the test ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    why = ensure_chromium()
    if why:
        pytest.skip(why)
    return CHROMIUM


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("solara")
    proc, url, log = start_server()
    yield url, log
    stop_server(proc)


def test_page_steps_plays_and_stays_offline(chromium, server):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, log = server
    host = url.split("/")[2]
    requests, failures, errors = [], [], []
    with sync_api.sync_playwright() as p, browser_page(p) as page:
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: failures.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_for_map(page)
        start = clock(page)
        assert start == "19:30:00"
        before = page.locator(MAP).screenshot()

        now = start
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
            now = wait_clock_change(page, now)
        # one Mesa step is one second; each click advances the render interval (5 s)
        assert seconds(now) - seconds(start) == 15, now
        page.wait_for_timeout(300)
        after = page.locator(MAP).screenshot()
        assert after != before, "the map image changes as people move"

        page.get_by_role("button", name="▶").click()
        page.wait_for_timeout(3000)
        page.get_by_role("button", name="❚❚").click()
        played = wait_clock_change(page, now)
        assert seconds(played) > seconds(now) + 5, "playing advances the clock"

        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "browser_test.png"))
    assert (SHOTS / "browser_test.png").stat().st_size > 10_000
    outside = sorted({u for u in requests if not u.startswith(("data:", "blob:")) and u.split("/")[2] != host})
    assert not outside, f"the page reached beyond localhost: {outside}"
    assert not failures, f"failed requests: {failures}\nserver log:\n{log.read_text()[-2000:]}"
    assert not errors, f"errors in the page: {errors}"
    assert "Could not load URL" not in log.read_text(), "solara's asset proxy tried the CDN"


# --- the README figure ------------------------------------------------------------------------------------
def set_slider(page, label: str, key: str) -> None:
    """Move one of the sidebar's sliders to an end with the keyboard (``Home`` or ``End``)."""
    field = page.locator(".v-input", has=page.get_by_text(label, exact=True)).first
    field.locator("[role=slider]").first.focus()
    page.keyboard.press(key)


def capture_dispersal(path: Path = FIGURE, until: str = "20:30:00", zoom: bool = False) -> Path:
    """Run the 5 October page to ``until`` (in the dispersal) and save a screenshot of the page."""
    from playwright.sync_api import sync_playwright

    why = ensure_chromium()
    if why:
        raise SystemExit(why)
    proc, url, _ = start_server()
    try:
        with sync_playwright() as p, browser_page(p) as page:
            page.goto(url)
            wait_for_map(page)
            set_slider(page, "Render Interval (steps)", "End")
            set_slider(page, "Play Interval (ms)", "Home")
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                f"() => document.querySelector('{CLOCK}').innerText.trim() >= '{until}'", timeout=600_000)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(1500)
            if zoom:
                page.get_by_text("zoom to the crowd", exact=True).click()
                page.wait_for_timeout(1500)
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
            print(f"{clock(page)}: written {path}")
    finally:
        stop_server(proc)
    return path


if __name__ == "__main__":
    if "--figure" in sys.argv[1:]:
        sys.path.insert(0, str(ROOT))
        capture_dispersal(zoom="--zoom" in sys.argv[1:])
    else:
        sys.exit(pytest.main([__file__, "-q"]))
