"""The browser view: ``protest-sim viz [SCENARIO]`` or ``solara run sim.viz.app``.

A Mesa ``SolaraViz`` page: Mesa's controls (play, pause, step, reset, play and render intervals) and
model-parameter sliders in the sidebar, with a scenario picker above them; the main area shows the
map of the scenario with the people coloured by state, police, water cannon trucks and the tear-gas
cloud (or their density), zoom, the place clicked and the export buttons (``sim.viz.map_view``), the
clock, live charts of the counts by state and of the injured, and the latest events.

The map is one PNG per frame drawn with numpy (``sim.viz.frame``), not one marker per agent, so
5,000 people stay fluid. Slider changes apply on Reset (Mesa re-creates the model from them);
picking another scenario loads it at once, with its own slider values. Epstein scenarios get their
own view (``sim.viz.epstein_view``). Mesa's controller and its "Information" card are replaced by
``sim.viz.controls`` (Play and Step off while nothing runnable is there) and :func:`ShowTime`.

``serve()`` starts solara's server bound to localhost, offline: the page's JavaScript and CSS come
from the ``solara-assets`` package through solara's asset proxy, never from a CDN.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
import mesa.visualization.solara_viz as solara_viz_module
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from ..core.walk.state import STATE_NAMES
from ..geo.render import ESTIMATED_NOTE
from ..kinds import load_scenario
from . import controls, inputs
from .epstein_view import EpsteinView
from .frame import POLICE_RGB, STATE_RGB
from .map_view import MapView
from .replay import RUN_DIR_ENV
from .replay_view import ReplayView
from .server import SCENARIO_ENV
from .session import HELP, VizModel, default_scenario, model_params, shipped_scenarios
from .timeline import Timeline

PLAY_INTERVAL_MS = 21  # Mesa's slider goes 1, 11, 21...
SECONDS_PER_FRAME = 5  # Mesa's "render interval" (odd: its slider goes 1, 3, 5...); a Mesa step is 1 s
EVENTS_SHOWN = 8

CSS = """
img.protest-map { width: 100%; height: auto; max-height: 78vh; object-fit: contain; display: block; }
.protest-clock { font-size: 2.2rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.protest-legend-chip { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 0.9em;
                       border: 1px solid #0003; vertical-align: middle; }
.protest-events { font-size: 0.85rem; }
.protest-map-crisp { image-rendering: pixelated; }
.protest-counts > * { font-size: 0.95rem; line-height: 1.3em; white-space: nowrap; overflow: hidden;
                      text-overflow: ellipsis; }
/* the slider values stay in view, not only while dragging */
.v-slider__thumb-label-container { display: block !important; }
.v-slider--horizontal { margin-top: 26px; }
/* room under the last card, so nothing at the bottom of the page hides the events */
.protest-main { margin-bottom: 64px !important; }
"""


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(rgb)


# --- pieces of the main area --------------------------------------------------------------------------
class Charts:
    """Protesters by state (top) and the injured of each side (bottom) over clock time, the whole run
    on the x axis.

    One matplotlib figure per run, kept between frames and blitted: axes, ticks and legends are drawn
    once (again only when the injured outgrow their axis) and each update draws just the lines, several
    times faster than a new figure, which matters when the page plays at several frames a second.
    """

    def __init__(self, sim):
        self.sim = sim
        self.start = sim.spec.start_clock_s / 60.0
        fig = Figure(figsize=(4.8, 4.8), dpi=100)  # about the width the page gives it, so type keeps its size
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.14, right=0.98, top=0.94, bottom=0.11, hspace=0.28)
        self.fig = fig
        self.top, self.bottom = fig.subplots(2, 1, sharex=True)
        # (time-series column, line): protesters_injured is drawn in both panels
        self.lines = [(f"protesters_{name}", self.top.plot([], [], color=_hex(STATE_RGB[name]), lw=1.6, label=name,
                                                            animated=True)[0]) for name in STATE_NAMES]
        self.lines.append(("protesters_injured", self.bottom.plot([], [], color=_hex(STATE_RGB["injured"]), lw=1.6,
                                                                  label="protesters", animated=True)[0]))
        self.lines.append(("police_injured", self.bottom.plot([], [], color=_hex(POLICE_RGB), lw=1.6, ls="--",
                                                              label="police", animated=True)[0]))
        protesters = sum(sim.side_counts()["protesters"].values())
        self.top.set_ylabel("protesters")
        self.top.set_title("Protesters by state", fontsize=10)
        self.top.legend(fontsize=8, ncol=3, loc="upper left")
        self.top.set_ylim(0, max(protesters, 1) * 1.35)  # every protester, and room for the legend
        self.bottom.set_ylabel("injured")
        self.bottom.set_title("Injured, each side", fontsize=10)
        self.bottom.legend(fontsize=8, loc="upper left")
        self.bottom.set_xlabel("clock time (HH:MM)", fontsize=9)
        self.bottom.set_xlim(self.start, self.start + sim.duration_s / 60.0)
        self.bottom.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 1.5, 3, 6, 10]))
        self.bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v // 60) % 24:02d}:{int(v % 60):02d}"))
        for ax in (self.top, self.bottom):
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=9)
        self.injured_top = 0.0
        self.background = None

    @staticmethod
    def _nice_ceiling(value: float) -> float:
        """10, 20, 50, 100, 200, 500...: the injured axis grows in a few jumps, not every frame."""
        top = 10.0
        while top < value:
            for k in (2.0, 2.5, 2.0):
                top *= k
                if top >= value:
                    break
        return top

    def png(self) -> bytes:
        from .frame import encode_png

        data = self.sim.datacollector.model_vars
        minutes = self.start + np.asarray(data["time_s"], dtype=float) / 60.0
        injured = max(max(data["protesters_injured"], default=0), max(data["police_injured"], default=0))
        wanted = self._nice_ceiling(injured * 1.4)
        if self.background is None or wanted != self.injured_top:
            self.injured_top = wanted
            self.bottom.set_ylim(0, wanted)
            self.fig.canvas.draw()  # everything but the (animated) lines
            self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for key, line in self.lines:
            line.set_data(minutes, np.asarray(data[key], dtype=float))
            line.axes.draw_artist(line)
        return encode_png(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def chart_png(model: VizModel) -> bytes:
    """The charts of a model's current run (one persistent figure per run)."""
    with model.lock:
        charts = getattr(model, "_charts", None)
        if charts is None or charts.sim is not model.sim:
            charts = model._charts = Charts(model.sim)
        return charts.png()


@solara.component
def MapCard(model: VizModel):
    update_counter.get()
    sim = model.sim
    counts = sim.side_counts()
    police = counts["police"]
    with solara.Card(style={"min-width": "0"}):
        solara.Text(sim.clock, classes=["protest-clock"])
        # protesters and police apart, one line each that never wraps, so the map does not jump
        with solara.Column(gap="0px", classes=["protest-counts"]):
            solara.Text("protesters: " + " · ".join(f"{n} {counts['protesters'][n]}" for n in STATE_NAMES))
            solara.Text(f"police: on duty {police['on_duty']} · injured {police['injured']} · left {police['left']}")
        if not sim.running:
            solara.Success(f"The run is over at {sim.clock} (the scenario ends at {sim.spec.end}): "
                           "press Reset to run it again.", classes=["protest-finished"])
        crisp = model.renderer.scale > 1
        MapView(model, crisp)  # layer, zoom, picture, legend, the place clicked, export
        r = model.renderer
        cell = f"one cell ({sim.gridmap.cell_size:g} m) = {r.scale} x {r.scale} pixels" if crisp else \
            f"one pixel = {r.metres_per_pixel:g} m"
        solara.Text(f"{sim.spec.name}: {cell}; north is up. {ESTIMATED_NOTE}.", style={"font-size": "0.8rem", "color": "#555"})


@solara.component
def ChartsCard(model: VizModel):
    update_counter.get()
    sim = model.sim
    rows = len(sim.datacollector.model_vars["time_s"])
    png = solara.use_memo(lambda: chart_png(model), [id(sim), rows])  # redrawn only when a row is added
    with solara.Card("Counts", style={"min-width": "0"}):
        solara.Image(png, format="png", classes=["protest-charts"], width="100%")


@solara.component
def EventsCard(model: VizModel):
    update_counter.get()
    sim = model.sim
    events = sim.events_log[-EVENTS_SHOWN:]
    uses = sim.policing.uses
    with solara.Card("Events", style={"min-width": "0"}), solara.Column(gap="4px"):
        solara.Text(f"tear gas canisters {uses['tear_gas']} · stun grenades {uses['stun_grenades']} · "
                    f"water cannon {uses['water_cannon'] / 60:.1f} jet-minutes · gas in the air "
                    f"{sim.core.decisions.gas.mass():.0f} g", style={"font-size": "0.85rem"})
        if not events:
            solara.Text("nothing yet", style={"font-size": "0.85rem", "color": "#777"})
        with solara.Column(gap="2px", classes=["protest-events"]):
            for e in reversed(events):
                solara.Text(f"{e['clock'][:5]}  {e['label']}")


@solara.component
def Running(model: VizModel, params: dict, built: bool):
    """What the model on screen was built with (slider changes apply on Reset)."""
    if not built or model.spec is None:
        solara.Text("building..." if not model.error else "failed", classes=["protest-running"],
                    style={"font-size": "0.8rem"})
        return
    sc = model.spec
    bits = [f"legitimacy {sc.protest.legitimacy:g}", f"threshold {sc.protest.threshold:g}"]
    if sc.police:
        bits.append(f"police {sum(u.count for u in sc.police)}")
    if any("tear_gas" in u.means for u in sc.police):
        bits.append(f"gas {sc.tear_gas.rate_per_min:g}/min")
    ats = [t.at_least for t in sc.triggers if t.when == "actives_near"]
    if ats:
        bits.append(f"trigger {ats[0]}")
    if model.sim is not None:
        bits.append(f"seed {model.sim.seed}")
        bits.append(f"built in {model.build_s:.1f} s")
    solara.Text("running: " + ", ".join(bits), classes=["protest-running"], style={"font-size": "0.8rem"})
    with solara.Details("What the sliders mean"):
        with solara.Column(gap="2px", style={"font-size": "0.8rem"}):
            solara.Text("Slider changes apply on Reset. One step is one second of protest; "
                        "the render interval is how many seconds pass per picture.")
            for name in params:
                if name in HELP:
                    solara.Text(HELP[name])


@solara.component
def MainView(model: VizModel, built: bool, status: str = ""):
    """The main area: a loading state while the model is built, then map, charts and events."""
    update_counter.get()
    if model.error:
        solara.Error(f"could not build {Path(model.scenario_file).name}: {model.error}", classes=["protest-error"])
        return
    if not (built and model.ready):
        with solara.Card(f"Loading {model.title}"):
            solara.ProgressLinear(True)
            solara.Text(f"Now {model.status}. Building the model rasterises the map and loads the distance "
                        "fields (the first time a map is used they are computed and cached, which can take a "
                        "minute); the controls do nothing until it is ready.", classes=["protest-loading"])
        return
    with solara.Columns([3, 2], style={"align-items": "flex-start"}, classes=["protest-main"]):
        MapCard(model)
        with solara.Column():
            ChartsCard(model)
            EventsCard(model)


@solara.component
def ShowTime(model):
    """Mesa's "Information" card, with the time as people read it: the clock and the seconds since the
    start for a protest, the step for Epstein's model (Mesa's own says "Time: 565.0", no unit)."""
    update_counter.get()
    sim = getattr(model, "sim", None)
    if sim is None:
        solara.Text("Time: not started")
    elif hasattr(sim, "clock"):
        solara.Text(f"Time: {sim.clock} ({sim.time_s:.0f} s after {sim.spec.start})", classes=["protest-time"])
    else:
        solara.Text(f"Step {sim.steps_done} of {sim.total_steps}", classes=["protest-time"])


solara_viz_module.ShowSteps = ShowTime  # SolaraViz looks it up by name when it renders
controls.install()  # and Mesa's controller, which would step a model that is not there
inputs.install()  # and its inputs: a number field beside each slider


# --- the page ------------------------------------------------------------------------------------------
@solara.component
def ScenarioView(path: str, model: solara.Reactive | None = None):
    """SolaraViz for one scenario file; ``model`` lets a caller (a test) hold the reactive model."""
    params = solara.use_memo(lambda: model_params(path), [path])
    own = solara.use_reactive(solara.use_memo(lambda: VizModel(scenario_file=path) if model is None else None, [path]))
    model = model if model is not None else own
    built = solara.use_reactive(None)  # the last model whose build finished
    status = solara.use_reactive("")

    def wait_for_model():
        current = model.value
        while not current.wait_ready(0.2):  # poll: the thread ends soon after the page moves on
            status.set(current.status)
        built.set(current)
        force_update()  # the controls come on

    solara.use_thread(wait_for_model, dependencies=[model.value])
    ready = built.value is model.value
    SolaraViz(model, components=[], model_params=params, name="protest-sim", play_interval=PLAY_INTERVAL_MS,
              render_interval=SECONDS_PER_FRAME)
    with solara.Sidebar():
        with solara.Card("Running now"):
            Running(model.value, params, ready)
        Timeline(model.value, ready)
    MainView(model.value, ready, status.value)


@solara.component
def Page():
    solara.Style(CSS)
    if os.environ.get(RUN_DIR_ENV):  # protest-sim viz RUN_DIR: a recorded run, no scenario picker
        ReplayView(os.environ[RUN_DIR_ENV], MainView, PLAY_INTERVAL_MS, SECONDS_PER_FRAME)
    else:
        ScenarioPage()


@solara.component
def ScenarioPage():
    """The live page: a scenario picker and the picked scenario's view."""
    choices = solara.use_memo(lambda: shipped_scenarios(os.environ.get(SCENARIO_ENV) or None), [])
    first = solara.use_memo(lambda: _first_choice(choices), [])
    choice = solara.use_reactive(first)
    path = str(choices[choice.value])
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select("Scenario", values=list(choices), value=choice)
            sc = solara.use_memo(lambda: load_scenario(path), [path])
            when = f"{sc.start}-{sc.end}" if sc.model == "protest" else f"Epstein (2002), {sc.steps} steps"
            solara.Text(f"{when}: {sc.description}", style={"font-size": "0.85rem"})
    # a new scenario remounts SolaraViz, so its sliders start from that scenario's values
    if sc.model == "protest":
        ScenarioView(path).key(path)
    else:
        EpsteinView(path).key(path)


def _first_choice(choices: dict[str, Path]) -> str:
    wanted = os.environ.get(SCENARIO_ENV)
    if wanted:
        wanted_path = Path(wanted).resolve()
        for label, p in choices.items():
            if p == wanted_path:
                return label
    return default_scenario(choices)


# --- the server (``sim.viz.server``; imported here for the command line and the tests) ------------------------
from .server import serve, server_command, server_env  # noqa: E402,F401
