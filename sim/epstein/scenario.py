"""Epstein scenario files: TOML -> a frozen dataclass; every user mistake names file and key path.

The file kind is marked by ``[scenario] model = "epstein_2002"``. Sections: ``[scenario]``
(name, seed, steps), ``[grid]`` (torus size), ``[agents]`` (densities, visions), ``[rules]``
(legitimacy, k, threshold, jail, and the rule variants of the two reference implementations)
and ``[[legitimacy]]`` changes over time. See ``scenarios/epstein_2002.toml`` for every key.
``sim.kinds.load_scenario`` reads the file and hands it to :func:`parse_epstein` (``sim.epstein.kind``).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from ..core.epstein.world import MAX_VISION
from ..errors import ScenarioError
from ..config import as_table, check_keys, dumps_toml, join, number, set_path, table_to_dataclass

MODEL = "epstein_2002"
ARREST_RATIOS = ("floor", "round")
NEIGHBOURHOODS = ("von_neumann", "moore")
JAILED = ("leave_grid", "keep_cell")
MAX_STEPS = 10_000_000  # an hour or more of the fastest grids; beyond that a run is a mistake


@dataclass(frozen=True)
class Grid:
    """A torus of width x height cells, at most one agent per cell."""

    width: int = 40
    height: int = 40


@dataclass(frozen=True)
class Agents:
    """Each cell starts with a citizen, a cop or nothing with these probabilities."""

    citizen_density: float = 0.7
    cop_density: float = 0.04
    citizen_vision: int = 7  # cells; also how far a citizen moves in a step
    cop_vision: int = 7


@dataclass(frozen=True)
class Rules:
    """Epstein's model 1; the three strings choose among the reference implementations' variants."""

    legitimacy: float = 0.82  # at step 0; [[legitimacy]] changes it later
    k: float = 2.3
    threshold: float = 0.1
    max_jail_term: int = 30  # jail terms are uniform on 0 .. max_jail_term steps
    arrest_ratio: str = "floor"  # floor(C / (1 + A)) (NetLogo, Epstein) or round(C / A) (Mesa's example)
    neighbourhood: str = "von_neumann"  # or "moore": the vision window's shape
    jailed: str = "leave_grid"  # or "keep_cell": jailed agents keep blocking their cell (Mesa's example)
    movement: bool = True


@dataclass(frozen=True)
class LegitimacyChange:
    """From step ``at_step`` legitimacy moves to ``value`` in ``over_steps`` equal steps, one per step."""

    at_step: int
    value: float
    over_steps: int = 1


@dataclass(frozen=True)
class EpsteinScenario:
    name: str
    description: str
    seed: int
    steps: int
    grid: Grid
    agents: Agents
    rules: Rules
    changes: tuple[LegitimacyChange, ...]
    source: str | None
    raw: dict = field(compare=False, repr=False)
    model: str = MODEL

    def legitimacy_at(self, step: int) -> float:
        """Legitimacy during step ``step`` (1 is the first step)."""
        value = self.rules.legitimacy
        for c in self.changes:
            if step < c.at_step:
                break
            done = min(step - c.at_step + 1, c.over_steps)
            value = value + (c.value - value) * done / c.over_steps
        return value

    def with_seed(self, seed: int) -> "EpsteinScenario":
        """The same scenario with another seed (nothing else to validate, so nothing is parsed again)."""
        seed = number(seed, "scenario.seed", low=0, integer=True)
        raw = copy.deepcopy(self.raw)
        raw.setdefault("scenario", {})["seed"] = seed
        return dataclasses.replace(self, seed=seed, raw=raw)

    def with_values(self, overrides: dict) -> "EpsteinScenario":
        """The same scenario with dotted key paths set (``rules.legitimacy``, ``legitimacy.0.value``)."""
        raw = copy.deepcopy(self.raw)
        for path, value in overrides.items():
            set_path(raw, path, value, creatable=("grid", "agents", "rules"))
        return parse_epstein(raw, file=self.source)

    def resolved(self) -> dict:
        out = {"scenario": {"model": self.model, "name": self.name, "description": self.description,
                            "seed": self.seed, "steps": self.steps},
               "grid": as_table(self.grid), "agents": as_table(self.agents), "rules": as_table(self.rules)}
        if self.changes:
            out["legitimacy"] = [as_table(c) for c in self.changes]
        return out

    def to_toml(self) -> str:
        """The scenario as resolved (defaults filled in), readable back by ``parse_epstein``."""
        return dumps_toml(self.resolved()).lstrip("\n")

    def describe(self) -> str:
        """One line for ``protest-sim validate``."""
        g, a, r = self.grid, self.agents, self.rules
        return (f"Epstein 2002, {g.width}x{g.height} torus, densities {a.citizen_density:g}/{a.cop_density:g}, "
                f"{self.steps} steps, {r.arrest_ratio}, {r.neighbourhood}, jailed {r.jailed}, "
                f"{len(self.changes)} legitimacy changes")


def parse_epstein(data: dict, *, file: str | None = None) -> EpsteinScenario:
    try:
        return _parse(data, file)
    except ScenarioError as err:
        raise err.with_file(file) if file and not err.file else err


def _parse(data: dict, file: str | None) -> EpsteinScenario:
    check_keys(data, ("scenario", "grid", "agents", "rules", "legitimacy"), "")
    head = data.get("scenario")
    if not isinstance(head, dict):
        raise ScenarioError("missing required table", path="scenario")
    check_keys(head, ("model", "name", "description", "seed", "steps"), "scenario")
    if head.get("model") != MODEL:
        raise ScenarioError(f"unknown model {head.get('model')!r}; known: {MODEL!r} (or no model key for the "
                            "protest model)", path="scenario.model")
    for key in ("name", "description"):
        if not isinstance(head.get(key, ""), str):
            raise ScenarioError(f"expected a string, got {head[key]!r}", path=f"scenario.{key}")
    if "name" not in head:
        raise ScenarioError("missing required key", path="scenario.name")
    seed = number(head.get("seed", 0), "scenario.seed", low=0, integer=True)
    steps = number(head.get("steps", 500), "scenario.steps", low=1, high=MAX_STEPS, integer=True)

    grid = table_to_dataclass(Grid, data.get("grid", {}), "grid",
                              bounds={"width": {"low": 3, "high": 100_000}, "height": {"low": 3, "high": 100_000}})
    agents = table_to_dataclass(Agents, data.get("agents", {}), "agents", bounds={
        "citizen_density": {"low": 0, "high": 1}, "cop_density": {"low": 0, "high": 1},
        "citizen_vision": {"low": 1, "high": MAX_VISION}, "cop_vision": {"low": 1, "high": MAX_VISION}})
    if agents.citizen_density + agents.cop_density > 1:
        raise ScenarioError(f"citizen_density + cop_density = {agents.citizen_density + agents.cop_density:g} "
                            "is over 1", path="agents.cop_density")
    for key in ("citizen_vision", "cop_vision"):
        vision = getattr(agents, key)
        if 2 * vision + 1 > min(grid.width, grid.height):
            raise ScenarioError(f"a vision of {vision} sees round the {grid.width}x{grid.height} torus onto "
                                f"itself; at most {(min(grid.width, grid.height) - 1) // 2}", path=f"agents.{key}")
    rules = table_to_dataclass(Rules, data.get("rules", {}), "rules", bounds={
        "legitimacy": {"low": 0, "high": 1}, "k": {"low": 0, "high": 100}, "threshold": {"low": -1, "high": 1},
        "max_jail_term": {"low": 0, "high": 10**9}})
    for key, options in (("arrest_ratio", ARREST_RATIOS), ("neighbourhood", NEIGHBOURHOODS), ("jailed", JAILED)):
        if getattr(rules, key) not in options:
            raise ScenarioError(f"expected one of {', '.join(options)}, got {getattr(rules, key)!r}",
                                path=f"rules.{key}")
    changes = _parse_changes(data.get("legitimacy", []))
    return EpsteinScenario(name=head["name"], description=head.get("description", ""), seed=seed, steps=steps,
                           grid=grid, agents=agents, rules=rules, changes=changes, source=file,
                           raw=copy.deepcopy(data))


def _parse_changes(items) -> tuple[LegitimacyChange, ...]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ScenarioError("expected [[legitimacy]] tables (at_step, value, over_steps)", path="legitimacy")
    changes = []
    for n, item in enumerate(items):
        path = join("legitimacy", str(n))
        check_keys(item, ("at_step", "value", "over_steps"), path)
        for key in ("at_step", "value"):
            if key not in item:
                raise ScenarioError("missing required key", path=join(path, key))
        change = LegitimacyChange(at_step=number(item["at_step"], join(path, "at_step"), low=1, high=MAX_STEPS,
                                                 integer=True),
                                  value=number(item["value"], join(path, "value"), low=0, high=1),
                                  over_steps=number(item.get("over_steps", 1), join(path, "over_steps"), low=1,
                                                    high=MAX_STEPS,
                                                    integer=True))
        if changes and change.at_step < changes[-1].at_step + changes[-1].over_steps:
            raise ScenarioError(f"starts at step {change.at_step}, before the previous change ends (step "
                                f"{changes[-1].at_step + changes[-1].over_steps - 1})", path=join(path, "at_step"))
        changes.append(change)
    return tuple(changes)
