"""What the browser page drives: a Mesa model that builds a ProtestModel in the background.

Mesa's SolaraViz re-creates the model on Reset as ``type(model)(**slider_values)``, so the page
needs a model class whose keyword arguments are the sliders. :class:`VizModel` is that class: it
loads a scenario file, applies the slider values with ``Scenario.with_values`` and builds the
:class:`~sim.protest.model.ProtestModel` in a thread, because building the Bishkek model takes seconds
(more the first time, while the distance fields are computed and cached). Until it is ready the
page shows a loading state and ``step()`` does nothing.

Nothing here imports solara.
"""

from __future__ import annotations

import threading
from pathlib import Path

import mesa

from ..errors import ScenarioError
from ..kinds import load_scenario
from ..protest.scenario import Scenario, seconds_to_clock
from .loading import Loading

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT_SCENARIO = "bishkek_2020_10_05.toml"


# --- which scenarios the picker offers --------------------------------------------------------------
def shipped_scenarios(extra: str | Path | None = None) -> dict[str, Path]:
    """Label -> file of every scenario that loads: ``scenarios/*.toml`` then ``scenarios/examples/*.toml``
    (sweep files are not scenarios), plus ``extra`` (the file given on the command line) first."""
    files: list[Path] = []
    if extra is not None:
        files.append(Path(extra).resolve())
    for folder in (REPO_SCENARIOS, REPO_SCENARIOS / "examples"):
        files.extend(sorted(folder.glob("*.toml")) if folder.is_dir() else [])
    out: dict[str, Path] = {}
    for path in files:
        path = path.resolve()
        if path in out.values():
            continue
        try:
            load_scenario(path)
        except ScenarioError:
            if extra is not None and path == Path(extra).resolve():
                raise
            continue
        label = path.stem if path.parent == REPO_SCENARIOS else f"{path.parent.name}/{path.stem}"
        if label in out:
            label = str(path)
        out[label] = path
    return out


def default_scenario(choices: dict[str, Path]) -> str:
    """The label to open first: the Bishkek evening if shipped, else the first one."""
    if not choices:
        raise ScenarioError(f"no scenario files in {REPO_SCENARIOS}: name one, e.g. protest-sim viz my.toml")
    for label, path in choices.items():
        if path.name == DEFAULT_SCENARIO:
            return label
    return next(iter(choices))


# --- sliders --------------------------------------------------------------------------------------
def _first(items, test):
    return next(((i, x) for i, x in enumerate(items) if test(x)), (None, None))


def model_params(path: str | Path) -> dict:
    """Mesa ``model_params`` for a scenario: the file (fixed) and the sliders people most want to move,
    each starting at the scenario's own value (labels are short: Mesa puts label and slider on one
    line; :data:`HELP` explains them). Sliders that mean nothing for a scenario (no police, no tear
    gas, no trigger, no march) are left out."""
    sc = load_scenario(path)
    rules = sc.protest
    params: dict = {"scenario_file": str(Path(path).resolve())}
    if any(c.legitimacy is None for c in sc.crowds):  # crowds with their own legitimacy keep it
        params["legitimacy"] = {"type": "SliderFloat", "label": "Legitimacy L",
                                "value": float(rules.legitimacy), "min": 0.0, "max": 1.0, "step": 0.05}
    params["threshold"] = {"type": "SliderFloat", "label": "Threshold T",
                           "value": float(rules.threshold), "min": 0.0, "max": 0.5, "step": 0.01}
    _, trig = _first(sc.triggers, lambda t: t.when == "actives_near")
    if trig is not None:
        params["trigger_actives"] = {
            "type": "SliderInt", "label": "Police trigger",
            "value": int(trig.at_least), "min": 1, "max": max(200, 3 * int(trig.at_least)), "step": 1}
    if any("tear_gas" in u.means for u in sc.police):
        params["gas_rate"] = {"type": "SliderFloat", "label": "Gas canisters/min",
                              "value": float(sc.tear_gas.rate_per_min), "min": 0.0, "max": 10.0, "step": 0.5}
    if sc.police:
        total = sum(u.count for u in sc.police)
        step = 10 if total >= 100 else 1
        params["police_total"] = {"type": "SliderInt", "label": "Police officers",
                                  "value": total, "min": max(step, len(sc.police)), "max": 3 * total, "step": step}
    _, event = _first(sc.events, lambda e: e.behaviour == "march")
    if event is not None:
        crowd = next(c for c in sc.crowds if c.name == event.crowd)
        params["splinter"] = {"type": "SliderInt", "label": "Splinter marchers",
                              "value": int(event.count), "min": 1, "max": crowd.count,
                              "step": 10 if crowd.count >= 500 else 1}
    params["seed"] = {"type": "InputText", "label": "Random seed", "value": str(sc.seed)}
    return params


HELP = {
    "legitimacy": "Legitimacy L: how legitimate the crowd finds the government; grievance = hardship x (1 - L) "
                  "(crowds and events that set their own keep it)",
    "threshold": "Threshold T: Epstein's activation threshold (active when grievance - risk x P(arrest) > T)",
    "trigger_actives": "Police trigger: active protesters near the gate before the police act",
    "gas_rate": "Gas canisters/min: tear-gas canisters per minute per unit using it",
    "police_total": "Police officers: all units, scaled in proportion",
    "splinter": "Splinter marchers: how many leave the rally to march (the scenario's first march)",
    "seed": "Random seed: same seed and settings, same run",
}


def overrides(sc: Scenario, *, legitimacy=None, threshold=None, trigger_actives=None, gas_rate=None,
              police_total=None, splinter=None) -> dict:
    """Dotted key paths for ``Scenario.with_values`` from slider values (``None``: keep the scenario's)."""
    out: dict = {}
    if legitimacy is not None:
        out["protest.legitimacy"] = float(legitimacy)
    if threshold is not None:
        out["protest.threshold"] = float(threshold)
    if trigger_actives is not None:
        for i, t in enumerate(sc.triggers):
            if t.when == "actives_near":
                out[f"triggers.{i}.at_least"] = int(trigger_actives)
    if gas_rate is not None:
        out["tear_gas.rate_per_min"] = float(gas_rate)
    if police_total is not None and sc.police:
        total = sum(u.count for u in sc.police)
        for u in sc.police:
            out[f"police.{u.name}.count"] = max(1, int(round(u.count * int(police_total) / total)))
    if splinter is not None:
        i, _ = _first(sc.events, lambda e: e.behaviour == "march")
        if i is not None:
            out[f"events.{i}.count"] = int(splinter)
    return out


# --- compiled kernels -----------------------------------------------------------------------------------
WARM_SCENARIO = REPO_SCENARIOS / "examples" / "square_and_street.toml"
_warm_lock = threading.Lock()
_warm = False


def warm_kernels() -> None:
    """Compile (or load from numba's cache) the kernels a step needs, the gas's too, once per process, by
    stepping a tiny scenario with some tear gas for a second: the first Step (and the first canister) on the
    page then run at once instead of hanging while they compile (42-58 s after a fresh install). Called
    while the page shows its loading state."""
    global _warm
    from ..protest.model import ProtestModel

    with _warm_lock:
        if _warm or not WARM_SCENARIO.is_file():
            return
        tiny = ProtestModel(load_scenario(WARM_SCENARIO))
        # a canister's worth of gas, so the gas kernels compile now too, not at the first canister on the page
        xs, ys = (tiny.gridmap.walkable == 1).nonzero()
        tiny.core.decisions.gas.emit(int(xs[xs.size // 2]), int(ys[ys.size // 2]), 50.0)
        for _ in range(max(1, int(round(1.0 / tiny.dt)))):
            tiny.step()
        _warm = True


# --- the model the page drives --------------------------------------------------------------------------
class VizModel(Loading, mesa.Model):
    """A Mesa model wrapping one :class:`~sim.protest.model.ProtestModel`, built from a scenario file and the
    page's slider values; ``background=True`` builds it in a thread (see :meth:`wait_ready`).
    One Mesa step is one second of protest, so Mesa's "render interval" counts seconds.

    ``self.sim`` is the ProtestModel once ready, ``self.error`` a message if building failed.
    """

    def __init__(self, scenario_file: str | None = None, legitimacy: float | None = None,
                 threshold: float | None = None, trigger_actives: int | None = None, gas_rate: float | None = None,
                 police_total: int | None = None, splinter: int | None = None, seed: int | str | None = None,
                 background: bool = True):
        super().__init__()
        if scenario_file is None:
            choices = shipped_scenarios()
            scenario_file = str(choices[default_scenario(choices)])
        self.scenario_file = str(scenario_file)
        self.values = dict(legitimacy=legitimacy, threshold=threshold, trigger_actives=trigger_actives,
                           gas_rate=gas_rate, police_total=police_total, splinter=splinter)
        self.seed_value = seed
        self.spec: Scenario | None = None
        self.sim = None
        self.renderer = None
        self.error: str | None = None
        self.status = "building the model"  # what the loading state says is going on
        self.lock = threading.RLock()  # stepping and drawing never overlap
        self.busy: str | None = None  # what a jump is doing (the controls are off meanwhile)
        self._load(self._build, background=background, name="protest-sim-build")

    def _build(self) -> None:
        from ..protest.model import ProtestModel
        from .frame import renderer_for

        base = load_scenario(self.scenario_file)
        self.spec = base.with_values(overrides(base, **self.values))
        seed = None if self.seed_value in (None, "") else int(str(self.seed_value).strip())
        sim = ProtestModel(self.spec, seed=seed)
        self.renderer = renderer_for(sim.gridmap)
        self.status = "compiling the simulation kernels (the first time after an install: up to a minute)"
        warm_kernels()
        self.sim = sim

    # --- state ------------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.spec.name if self.spec is not None else Path(self.scenario_file).stem

    @property
    def clock(self) -> str:
        if self.sim is not None:
            return self.sim.clock
        return seconds_to_clock(self.spec.start_clock_s) if self.spec is not None else "--:--:--"

    def step(self) -> None:
        """One second of protest (``1 / dt`` model steps); nothing while the model is still being built."""
        if self.sim is None:
            return
        with self.lock:
            for _ in range(max(1, int(round(1.0 / self.sim.dt)))):
                if not self.sim.running:
                    break
                self.sim.step()
            self.running = self.sim.running

    def restart(self) -> None:
        """The same run again from its start: same scenario, slider values and seed, so stepping it to a
        time gives what the page showed there before (a jump back re-runs, it does not rewind)."""
        from ..protest.model import ProtestModel

        with self.lock:
            self.sim = ProtestModel(self.spec, seed=self.sim.seed)
            self.running = True

    def frame_png(self, *, zoom: bool = False) -> bytes:
        from .frame import encode_png

        with self.lock:  # drawn under the lock, encoded outside it: stepping waits only for the drawing
            img = self.renderer.picture(self.sim, zoom=zoom)
        return encode_png(img)
