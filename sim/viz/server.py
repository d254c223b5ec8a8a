"""The server of the browser view: ``solara run sim.viz.app`` bound to localhost and offline.

``serve()`` runs it as a child in its own process group and forwards SIGTERM, SIGINT and SIGHUP to
that whole group, so stopping ``protest-sim viz`` stops the server (no orphan left on the port).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..kinds import load_scenario
from .recording import check_run_folder
from .replay import RUN_DIR_ENV
from .session import default_scenario, shipped_scenarios

SCENARIO_ENV = "PROTEST_SIM_SCENARIO"  # the scenario file serve() opens first


def _offline_when_served() -> None:
    """Under ``solara run sim.viz.app`` (without serve()'s environment): no telemetry, and no CDN to fall
    back on for a front-end file missing from solara-assets. Leaves solara alone anywhere else."""
    if "solara.server.server" not in sys.modules:
        return
    import solara.server.settings as server_settings
    import solara.settings

    server_settings.telemetry.mixpanel_enable = False
    if not os.environ.get("SOLARA_ASSETS_CDN"):
        solara.settings.assets.cdn = "http://127.0.0.1:9/no-cdn/"


_offline_when_served()


def server_env(scenario_path: str | Path | None = None, base: dict | None = None, *,
               run_dir: str | Path | None = None) -> dict:
    """Environment for an offline solara server. Solara's front end (Vue 2, Vuetify, require.js, fonts)
    is installed by ``solara-assets`` into ``<prefix>/share/solara/cdn``, the folder solara's asset proxy
    serves at ``/_solara/cdn``: keep the proxy on and point the CDN it would fall back to at a closed
    local port, so a missing file fails at once instead of reaching out. No telemetry, no version check.
    Variables already set in the environment (but the proxy and telemetry) win."""
    env = dict(os.environ if base is None else base)
    if scenario_path is not None:
        env[SCENARIO_ENV] = str(Path(scenario_path).resolve())
    env.pop(RUN_DIR_ENV, None)  # a live page, unless a run folder is given now
    if run_dir is not None:
        env[RUN_DIR_ENV] = str(Path(run_dir).resolve())
    env["SOLARA_ASSETS_PROXY"] = "True"
    env.setdefault("SOLARA_ASSETS_CDN", "http://127.0.0.1:9/no-cdn/")
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    # reacton's opt-in renderer skips unchanged parts of the page: with it a frame costs ~60 ms less
    env.setdefault("REACTON_FAST", "1")
    return env


def server_command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    return [sys.executable, "-m", "solara", "run", "sim.viz.app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version", "--log-level", "warning"]


def serve(scenario_path: str | None = None, host: str = "127.0.0.1", port: int = 8765, *,
          run_dir: str | None = None) -> int:
    """Start the page at http://host:port and block until the server stops (Ctrl-C); returns its exit status.
    With ``run_dir`` the page replays that recorded run instead.

    The scenario (or run folder) is checked first, so a bad one raises ``ScenarioError`` before any server starts.
    """
    if run_dir is not None:
        check_run_folder(run_dir)
    elif scenario_path is not None:
        load_scenario(scenario_path)
    else:
        default_scenario(shipped_scenarios())  # raises if there is nothing to show
    print(f"protest-sim viz: http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    proc = subprocess.Popen(server_command(host, port), env=server_env(scenario_path, run_dir=run_dir),
                            start_new_session=True)
    caught: list[int] = []

    def forward(signum, _frame):
        caught.append(signum)
        _stop_group(proc, signum)

    wanted = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    before = {s: signal.signal(s, forward) for s in wanted}
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                forward(signal.SIGINT, None)
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            _stop_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _stop_group(proc, signal.SIGKILL)
    return 128 + caught[0] if caught else code


def _stop_group(proc: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the server's process group (solara and anything it started)."""
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
