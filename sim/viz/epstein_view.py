"""The browser view of an Epstein (2002) civil-violence scenario, as NetLogo's Rebellion shows it.

The torus grid with each cell coloured by who is on it (quiet citizen, active, jailed where jailed
agents keep their cell, cop, empty), counters and a chart of quiet, active and jailed citizens over
the steps, and Mesa's controls with a legitimacy slider and the seed (they apply on Reset).
One Mesa step of :class:`EpsteinVizModel` is one step of Epstein's model.
"""

from __future__ import annotations

import threading

import mesa
import numpy as np
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from ..core.epstein.world import COP, EMPTY
from ..kinds import load_scenario
from .frame import encode_png
from .loading import Loading

CELL_PX = 14  # pixels per grid cell, drawn nearest-neighbour
COLOURS = {"empty": (0xF4, 0xF4, 0xF0), "quiet": (0x4C, 0x72, 0xB0), "active": (0xD6, 0x27, 0x28),
           "jailed": (0x88, 0x88, 0x88), "cop": (0x10, 0x10, 0x10)}
STATES = ("quiet", "active", "jailed")
_warm = threading.Event()  # the kernels are compiled (once per process)
_warm_lock = threading.Lock()


def epstein_params(path: str) -> dict:
    """Mesa ``model_params``: the file (fixed), the legitimacy L and the seed."""
    sc = load_scenario(path)
    return {"scenario_file": str(path),
            "legitimacy": {"type": "SliderFloat", "label": "Legitimacy L", "value": float(sc.rules.legitimacy),
                           "min": 0.0, "max": 1.0, "step": 0.01},
            "seed": {"type": "InputText", "label": "Random seed", "value": str(sc.seed)}}


class EpsteinVizModel(Loading, mesa.Model):
    """A Mesa model wrapping one :class:`~sim.epstein.model.EpsteinModel` built from a scenario file, the
    legitimacy slider and the seed; ``error`` holds a message instead of raising (a bad seed)."""

    def __init__(self, scenario_file: str, legitimacy: float | None = None, seed: int | str | None = None):
        from ..epstein.model import EpsteinModel

        super().__init__()
        self.scenario_file = str(scenario_file)
        self.error: str | None = None
        self.sim = None
        self.lock = threading.RLock()
        try:
            sc = load_scenario(self.scenario_file)
            if legitimacy is not None:
                sc = sc.with_values({"rules.legitimacy": float(legitimacy)})
            value = None if seed in (None, "") else int(str(seed).strip())
            self.sim = EpsteinModel(sc, seed=value, agent_views=False)
        except Exception as err:  # noqa: BLE001 - shown on the page
            self.error = f"{type(err).__name__}: {err}"
            self.running = False
        # the kernels compile on the first step (17 s after a fresh install): on a throwaway copy
        cold = self.sim is not None and not _warm.is_set()
        self._load(lambda: cold and self._warm(sc), background=cold, name="epstein-warm")

    @staticmethod
    def _warm(sc) -> None:
        from ..epstein.model import EpsteinModel

        with _warm_lock:
            if not _warm.is_set():
                EpsteinModel(sc, steps=1, agent_views=False).step()
                _warm.set()

    def step(self) -> None:
        if self.sim is None or not self.ready:
            return
        with self.lock:
            if self.sim.running:
                self.sim.step()
            self.running = self.sim.running

    def grid_rgb(self) -> np.ndarray:
        """RGB [height * CELL_PX, width * CELL_PX, 3], north (largest y) up."""
        with self.lock:
            w = self.sim.world
            occ = w.occ
        table = np.array([COLOURS["quiet"], COLOURS["active"], COLOURS["jailed"], COLOURS["cop"],
                          COLOURS["empty"]], dtype=np.uint8)
        code = np.full(occ.shape, 4, dtype=np.intp)
        on = occ != EMPTY
        who = occ[on]
        code[on] = np.where(w.kind[who] == COP, 3, w.state[who])
        img = table[code].transpose(1, 0, 2)[::-1]  # [y, x] with y up
        return img.repeat(CELL_PX, axis=0).repeat(CELL_PX, axis=1)

    def chart_png(self) -> bytes:
        data = self.sim.datacollector.model_vars
        fig = Figure(figsize=(4.0, 2.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for name in STATES:
            ax.plot(data["step"], data[name], color="#%02x%02x%02x" % COLOURS[name], lw=1.5, label=name)
        ax.set_xlabel("step")
        ax.set_ylabel("citizens")
        ax.set_xlim(0, max(10, self.sim.steps_done))
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.canvas.draw()
        return encode_png(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())


@solara.component
def EpsteinMain(model: EpsteinVizModel):
    update_counter.get()
    if model.error:
        solara.Error(f"could not build this run: {model.error}", classes=["protest-error"])
        return
    sim = model.sim
    if not model.ready:
        with solara.Card("Compiling the model's kernels"):
            solara.ProgressLinear(True)
            solara.Text("The first time after an install this takes up to half a minute; Play and Step come on "
                        "when it is done.", classes=["protest-loading"])
    with solara.Columns([6, 4], style={"align-items": "flex-start"}, classes=["protest-main"]):
        with solara.Card(style={"min-width": "0"}):
            with solara.Row(style={"align-items": "baseline"}):
                solara.Text(f"step {sim.steps_done}", classes=["protest-clock"])
                solara.Text(f"quiet {sim.quiet} · active {sim.active} · jailed {sim.jailed} · cops {sim.cops} · "
                            f"legitimacy {sim.legitimacy:.2f}", classes=["epstein-counts"])
            solara.Image(encode_png(model.grid_rgb()), format="png", classes=["protest-map", "protest-map-crisp"])
            with solara.Row(gap="0px", style={"flex-wrap": "wrap", "font-size": "0.85rem"}):
                for name in ("quiet", "active", "jailed", "cop", "empty"):
                    solara.HTML(tag="span", unsafe_innerHTML=f'<span class="protest-legend-chip" style="background:'
                                                             f'#{"%02x%02x%02x" % COLOURS[name]}"></span>{name}')
            if not sim.running:
                solara.Success(f"Run finished after {sim.steps_done} steps: press Reset to run again.",
                               classes=["protest-finished"])
        with solara.Card("Citizens by state", style={"min-width": "0"}):
            solara.Image(model.chart_png(), format="png", width="100%")
            solara.Text(f"{sim.spec.grid.width}x{sim.spec.grid.height} torus; one step is one round of Epstein's "
                        "rules. Legitimacy and seed apply on Reset.", style={"font-size": "0.8rem", "color": "#555"})


@solara.component
def EpsteinView(path: str):
    """SolaraViz for an Epstein scenario file."""
    params = solara.use_memo(lambda: epstein_params(path), [path])
    model = solara.use_reactive(solara.use_memo(lambda: EpsteinVizModel(scenario_file=path), [path]))

    def wait_for_kernels():
        current = model.value
        while not current.wait_ready(0.2):  # poll: the thread ends soon after the page moves on
            pass
        force_update()  # the controls come on

    solara.use_thread(wait_for_kernels, dependencies=[model.value])
    SolaraViz(model, components=[], model_params=params, name="protest-sim", play_interval=100, render_interval=1)
    EpsteinMain(model.value)
