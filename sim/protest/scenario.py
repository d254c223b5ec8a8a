"""Protest scenario files: TOML -> a frozen :class:`Scenario`. Every user mistake raises ScenarioError
naming the key path.

A scenario says where (map, cell size), when (start and end clock, time step), who (crowds
and police units), what happens on the clock (events such as the splinter group), and the
rules of engagement (triggers, police means, protest rules). The sections below the head are
parsed in ``sim.protest.sections``, the police means, rules and triggers in their own modules.
``Scenario.with_values`` sets any dotted key path and re-validates, which is how sweeps vary
parameters; ``with_seed`` changes only the seed, without parsing again.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..config import as_table, check_keys, dumps_toml, number, required, set_path, string, subtable, suggest
from ..errors import ScenarioError
from .clock import DAY, clock_to_seconds, run_length, seconds_to_clock  # noqa: F401  (the model's clock reads it here)
from .output_options import Output, parse_output
from .police import StunGrenades, TearGas, WaterCannon, parse_stun_grenades, parse_tear_gas, parse_water_cannon
from .rules import Gate, ProtestRules, parse_gate, parse_protest
from .sections import (
    Crowd, Event, MapSpec, PoliceUnit, Walking, map_names, parse_crowd, parse_events, parse_map,
    parse_unit, parse_walking,
)
from .triggers import Trigger, parse_triggers

MODEL = "protest"
_TOP = ("scenario", "map", "walking", "crowds", "police", "events", "protest", "tear_gas", "water_cannon",
        "stun_grenades", "gate", "triggers", "output")
_HEAD = ("model", "name", "description", "seed", "start", "end", "dt", "record_every")
MIN_DT = 0.05  # s: a walker at 1.34 m/s crosses a 0.5 m cell in 0.37 s; shorter steps only cost time
_OPTIONAL_SECTIONS = ("protest", "tear_gas", "water_cannon", "stun_grenades", "walking", "output")


@dataclass(frozen=True)
class Scenario:
    model: ClassVar[str] = MODEL
    name: str
    description: str
    seed: int
    start: str
    end: str
    start_clock_s: float
    duration_s: float
    dt: float
    record_every: float
    map: MapSpec
    walking: Walking
    crowds: tuple[Crowd, ...]
    police: tuple[PoliceUnit, ...]
    events: tuple[Event, ...]
    source: str | None
    raw: dict = field(compare=False, repr=False)
    protest: ProtestRules = ProtestRules()
    tear_gas: TearGas = TearGas()
    water_cannon: WaterCannon = WaterCannon()
    stun_grenades: StunGrenades = StunGrenades()
    gate: Gate | None = None
    triggers: tuple[Trigger, ...] = ()
    output: Output = Output()

    def place_names(self) -> tuple[str, ...]:
        return map_names(self.map)[0]

    def exit_names(self) -> tuple[str, ...]:
        return map_names(self.map)[1]

    def with_seed(self, seed: int) -> "Scenario":
        """The same scenario with another seed (nothing else to validate, so nothing is parsed again)."""
        seed = number(seed, "scenario.seed", low=0, integer=True)
        raw = copy.deepcopy(self.raw)
        raw.setdefault("scenario", {})["seed"] = seed
        return dataclasses.replace(self, seed=seed, raw=raw)

    def with_values(self, overrides: dict) -> "Scenario":
        """The same scenario with dotted key paths set (``police.guard.count``, ``events.0.count``)."""
        raw = copy.deepcopy(self.raw)
        for path, value in overrides.items():
            set_path(raw, path, value, creatable=_OPTIONAL_SECTIONS)
        base = Path(self.source).parent if self.source else None
        try:
            return parse_scenario(raw, file=self.source, base_dir=base)
        except ScenarioError as err:
            raise err.with_file(self.source) if self.source and not err.file else err

    def to_toml(self) -> str:
        """The scenario as resolved (defaults filled in), readable back by ``parse_scenario``."""
        return dumps_toml(self.resolved()).lstrip("\n")

    def resolved(self) -> dict:
        m = self.map
        map_table = {"cell_size": m.cell_size}
        if m.builtin:
            map_table["builtin"] = m.builtin
        elif m.file:
            map_table["file"] = m.file
        else:
            map_table.update(ascii=m.ascii, places=dict(m.places), exits=dict(m.exits))
        out = {
            "scenario": {"name": self.name, "description": self.description, "seed": self.seed,
                         "start": self.start, "end": self.end, "dt": self.dt, "record_every": self.record_every},
            "map": map_table,
            "walking": as_table(self.walking),
            "protest": as_table(self.protest),
            "tear_gas": as_table(self.tear_gas),
            "water_cannon": as_table(self.water_cannon),
            "stun_grenades": as_table(self.stun_grenades),
        }
        if self.crowds:
            out["crowds"] = {c.name: _drop_none({"count": c.count, "place": c.place, "behaviour": c.behaviour,
                                                 "target": c.target, "legitimacy": c.legitimacy,
                                                 "walking": as_table(c.walking)}) for c in self.crowds}
        if self.police:
            out["police"] = {u.name: {"count": u.count, "place": u.place, "posture": u.posture,
                                      "means": list(u.means), "pursue": list(u.pursue), "targeting": u.targeting,
                                      "walking": as_table(u.walking)} for u in self.police}
        if self.events:
            out["events"] = [_drop_none({"at": e.at, "crowd": e.crowd, "count": e.count, "behaviour": e.behaviour,
                                         "target": e.target, "label": e.label, "legitimacy": e.legitimacy})
                             for e in self.events]
        if self.gate:
            out["gate"] = as_table(self.gate)
        if self.triggers:
            out["triggers"] = [t.to_table() for t in self.triggers]
        if not self.output.is_default():  # absent by default: scenario.toml as before the section existed
            out["output"] = as_table(self.output)
        return out


def parse_scenario(data: dict, *, file: str | None = None, base_dir=None) -> Scenario:
    """A protest scenario from a TOML document (``base_dir``: where a text map file is looked for)."""
    try:
        return _parse(data, file, Path(base_dir) if base_dir else None)
    except ScenarioError as err:
        raise err.with_file(file) if file and not err.file else err


def _parse(data: dict, file: str | None, base_dir: Path | None) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a TOML document of tables")
    check_keys(data, _TOP, "")
    head = subtable(data, "scenario", required=True)
    check_keys(head, _HEAD, "scenario")
    if head.get("model", MODEL) != MODEL:
        raise ScenarioError(f"this is the protest model's parser, not {head['model']!r}", path="scenario.model")
    name = string(head, "name", "scenario", required=True)
    description = string(head, "description", "scenario") or ""
    seed = number(required(head, "seed", "scenario"), "scenario.seed", low=0, integer=True)
    start = required(head, "start", "scenario")
    end = required(head, "end", "scenario")
    start_s, duration = run_length(start, end)
    dt = number(head.get("dt", 0.5), "scenario.dt", low=MIN_DT, high=5.0, unit="s")
    record_every = number(head.get("record_every", 10.0), "scenario.record_every", low=dt, high=duration, unit="s")

    def offset(clock: str, path: str) -> float:
        t = (clock_to_seconds(clock, path) - start_s) % DAY
        if t > duration:
            raise ScenarioError(f"{clock} is outside the scenario's {start}-{end}", path=path)
        return float(t)

    map_spec = parse_map(subtable(data, "map", required=True), base_dir)
    places, _ = map_names(map_spec)
    walking = parse_walking(data.get("walking", {}), "walking", Walking())
    protest = parse_protest(data.get("protest", {}))

    crowds = [parse_crowd(cname, table, f"crowds.{cname}", places, walking)
              for cname, table in subtable(data, "crowds").items()]
    units = [parse_unit(uname, table, f"police.{uname}", places, walking)
             for uname, table in subtable(data, "police").items()]
    if not crowds and not units:
        raise ScenarioError("a scenario needs at least one crowd or police unit", path="crowds")
    names = [c.name for c in crowds] + [u.name for u in units]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(f"a crowd and a police unit share the name {sorted(dup)[0]!r}", path="police")

    events = parse_events(data.get("events", []), "events", {c.name: c for c in crowds}, places, offset)
    gate = None
    if "gate" in data:
        gate = parse_gate(data["gate"])
        if gate.place not in places:
            raise ScenarioError(f"unknown place {gate.place!r}{suggest(gate.place, places)}", path="gate.place")
    triggers = parse_triggers(data.get("triggers", []), "triggers", places=places,
                              units=tuple(u.name for u in units), clock_to_offset=offset)
    return Scenario(
        name=name, description=description, seed=seed, start=start, end=end, start_clock_s=float(start_s),
        duration_s=float(duration), dt=dt, record_every=record_every, map=map_spec, walking=walking,
        crowds=tuple(crowds), police=tuple(units), events=events, source=file, raw=copy.deepcopy(data),
        protest=protest, tear_gas=parse_tear_gas(data.get("tear_gas", {})),
        water_cannon=parse_water_cannon(data.get("water_cannon", {})),
        stun_grenades=parse_stun_grenades(data.get("stun_grenades", {})), gate=gate, triggers=triggers,
        output=parse_output(data.get("output", {})))


def check_capacity(scenario: Scenario, gridmap) -> None:
    """Refuse crowds and units that do not fit, at one person per cell, in the place they start in."""
    free = gridmap.place_cell_counts()
    demand: dict[str, list] = {}
    for group, kind in [(c, "crowds") for c in scenario.crowds] + [(u, "police") for u in scenario.police]:
        demand.setdefault(group.place, []).append((group, kind))
    for place, groups in demand.items():
        total = sum(g.count for g, _ in groups)
        if total > free.get(place, 0):
            g, kind = groups[-1]
            raise ScenarioError(f"{total} people start in {place!r}, which holds at most {free.get(place, 0)} "
                                f"at {gridmap.cell_size} m cells", path=f"{kind}.{g.name}.count",
                                file=scenario.source)


def _drop_none(table: dict) -> dict:
    return {k: v for k, v in table.items() if v is not None}
