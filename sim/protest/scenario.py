"""Scenario files: TOML -> frozen dataclasses. Every user mistake raises ScenarioError naming the key path.

A scenario says where (map, cell size), when (start and end clock, time step), who (crowds
and police units), what happens on the clock (events such as the splinter group), and the
rules of engagement (triggers, police means, protest rules). ``Scenario.with_values`` sets any
dotted key path and re-validates, which is how sweeps vary parameters.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import ScenarioError
from ..geo.catalog import builtin_map_names, builtin_place_names
from .police import MEANS, POSTURES, StunGrenades, TearGas, WaterCannon
from .police import parse_stun_grenades, parse_tear_gas, parse_water_cannon
from .rules import Gate, ProtestRules, parse_gate, parse_protest
from ..config import check_keys, join, number
from .triggers import Trigger, parse_triggers

BEHAVIOURS = ("rally", "march", "leave")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
DAY = 24 * 3600


# --- clock ------------------------------------------------------------------------------------
def clock_to_seconds(text: str, path: str = "") -> int:
    """"20:10" -> 72600 (seconds since midnight)."""
    m = _CLOCK.match(text) if isinstance(text, str) else None
    if not m:
        raise ScenarioError(f"expected a clock time \"HH:MM\" or \"HH:MM:SS\", got {text!r}", path=path)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ScenarioError(f"not a clock time: {text!r}", path=path)
    return h * 3600 + mi * 60 + s


def seconds_to_clock(seconds: float) -> str:
    """72600.5 -> "20:10:00"; wraps past midnight."""
    s = int(seconds) % DAY
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --- the dataclasses ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Walking:
    """Free walking speed, m/s: normal(mean, sd) clipped to [min, max] (Weidmann 1993)."""

    speed_mean: float = 1.34
    speed_sd: float = 0.26
    speed_min: float = 0.5
    speed_max: float = 2.2


@dataclass(frozen=True)
class MapSpec:
    builtin: str | None
    ascii: str | None
    places: dict[str, str] = field(default_factory=dict)  # ascii letter -> place name
    exits: dict[str, str] = field(default_factory=dict)  # ascii letter -> exit name
    cell_size: float = 0.5


@dataclass(frozen=True)
class Crowd:
    name: str
    count: int
    place: str
    behaviour: str
    target: str | None
    walking: Walking
    legitimacy: float | None = None  # overrides [protest] legitimacy for this crowd


@dataclass(frozen=True)
class PoliceUnit:
    name: str
    count: int
    place: str
    posture: str
    walking: Walking
    means: tuple[str, ...] = ()  # what the unit uses when dispersing or pursuing
    pursue: tuple[str, ...] = ()  # streets the unit may follow people into


@dataclass(frozen=True)
class Event:
    at: str
    at_s: float
    crowd: str
    count: int
    behaviour: str
    target: str | None
    label: str
    legitimacy: float | None = None  # the chosen people's perceived legitimacy from now on


@dataclass(frozen=True)
class Scenario:
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

    def place_names(self) -> tuple[str, ...]:
        return _map_names(self.map)[0]

    def exit_names(self) -> tuple[str, ...]:
        return _map_names(self.map)[1]

    def with_values(self, overrides: dict) -> "Scenario":
        """The same scenario with dotted key paths set (``police.guard.count``, ``events.0.count``)."""
        raw = copy.deepcopy(self.raw)
        for path, value in overrides.items():
            _set_path(raw, path, value)
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
        else:
            map_table.update(ascii=m.ascii, places=dict(m.places), exits=dict(m.exits))
        out = {
            "scenario": {"name": self.name, "description": self.description, "seed": self.seed,
                         "start": self.start, "end": self.end, "dt": self.dt, "record_every": self.record_every},
            "map": map_table,
            "walking": _as_table(self.walking),
            "protest": _as_table(self.protest),
            "tear_gas": _as_table(self.tear_gas),
            "water_cannon": _as_table(self.water_cannon),
            "stun_grenades": _as_table(self.stun_grenades),
        }
        if self.crowds:
            out["crowds"] = {c.name: _drop_none({"count": c.count, "place": c.place, "behaviour": c.behaviour,
                                                 "target": c.target, "legitimacy": c.legitimacy,
                                                 "walking": _as_table(c.walking)}) for c in self.crowds}
        if self.police:
            out["police"] = {u.name: {"count": u.count, "place": u.place, "posture": u.posture,
                                      "means": list(u.means), "pursue": list(u.pursue),
                                      "walking": _as_table(u.walking)} for u in self.police}
        if self.events:
            out["events"] = [_drop_none({"at": e.at, "crowd": e.crowd, "count": e.count, "behaviour": e.behaviour,
                                         "target": e.target, "label": e.label, "legitimacy": e.legitimacy})
                             for e in self.events]
        if self.gate:
            out["gate"] = _as_table(self.gate)
        if self.triggers:
            out["triggers"] = [t.to_table() for t in self.triggers]
        return out


# --- loading ----------------------------------------------------------------------------------------
def load_scenario(path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read: {err}", file=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"malformed TOML: {err}", file=str(path)) from None
    return parse_scenario(data, file=str(path), base_dir=path.parent)


def parse_scenario(data: dict, *, file: str | None = None, base_dir=None) -> Scenario:
    """A protest scenario; a file whose ``[scenario]`` names a ``model`` is that model's kind
    (``model = "epstein_2002"``: an ``EpsteinScenario`` from ``sim.epstein.scenario``)."""
    head = data.get("scenario") if isinstance(data, dict) else None
    if isinstance(head, dict) and "model" in head:
        from ..epstein.scenario import parse_epstein

        return parse_epstein(data, file=file)
    try:
        return _parse(data, file, Path(base_dir) if base_dir else None)
    except ScenarioError as err:
        raise err.with_file(file) if file and not err.file else err


_TOP = ("scenario", "map", "walking", "crowds", "police", "events", "protest", "tear_gas", "water_cannon",
        "stun_grenades", "gate", "triggers")


def _parse(data: dict, file: str | None, base_dir: Path | None) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a TOML document of tables")
    check_keys(data, _TOP, "")
    head = _table(data, "scenario", required=True)
    check_keys(head, ("name", "description", "seed", "start", "end", "dt", "record_every"), "scenario")
    name = _string(head, "name", "scenario", required=True)
    description = _string(head, "description", "scenario") or ""
    seed = number(_req(head, "seed", "scenario"), "scenario.seed", low=0, integer=True)
    start = _req(head, "start", "scenario")
    end = _req(head, "end", "scenario")
    start_s = clock_to_seconds(start, "scenario.start")
    end_s = clock_to_seconds(end, "scenario.end")
    duration = (end_s - start_s) % DAY or DAY
    dt = number(head.get("dt", 0.5), "scenario.dt", low=0, low_open=True, high=5.0)
    record_every = number(head.get("record_every", 10.0), "scenario.record_every", low=dt)

    def offset(clock: str, path: str) -> float:
        t = (clock_to_seconds(clock, path) - start_s) % DAY
        if t > duration:
            raise ScenarioError(f"{clock} is outside the scenario's {start}-{end}", path=path)
        return float(t)

    map_spec = _parse_map(_table(data, "map", required=True), base_dir)
    places, exits = _map_names(map_spec)
    walking = _parse_walking(data.get("walking", {}), "walking", Walking())
    protest = parse_protest(data.get("protest", {}))

    crowds = []
    for cname, table in _table(data, "crowds").items():
        crowds.append(_parse_crowd(cname, table, f"crowds.{cname}", places, walking))
    units = []
    for uname, table in _table(data, "police").items():
        units.append(_parse_unit(uname, table, f"police.{uname}", places, walking))
    if not crowds and not units:
        raise ScenarioError("a scenario needs at least one crowd or police unit", path="crowds")
    names = [c.name for c in crowds] + [u.name for u in units]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(f"a crowd and a police unit share the name {sorted(dup)[0]!r}", path="police")

    events = _parse_events(data.get("events", []), "events", {c.name: c for c in crowds}, places, offset)
    gate = None
    if "gate" in data:
        gate = parse_gate(data["gate"])
        if gate.place not in places:
            raise ScenarioError(f"unknown place {gate.place!r}{_suggest(gate.place, places)}", path="gate.place")
    triggers = parse_triggers(data.get("triggers", []), "triggers", places=places,
                              units=tuple(u.name for u in units), clock_to_offset=offset)
    return Scenario(
        name=name, description=description, seed=seed, start=start, end=end, start_clock_s=float(start_s),
        duration_s=float(duration), dt=dt, record_every=record_every, map=map_spec, walking=walking,
        crowds=tuple(crowds), police=tuple(units), events=events, source=file, raw=copy.deepcopy(data),
        protest=protest, tear_gas=parse_tear_gas(data.get("tear_gas", {})),
        water_cannon=parse_water_cannon(data.get("water_cannon", {})),
        stun_grenades=parse_stun_grenades(data.get("stun_grenades", {})), gate=gate, triggers=triggers)


def _parse_map(table: dict, base_dir: Path | None) -> MapSpec:
    check_keys(table, ("builtin", "ascii", "ascii_file", "places", "exits", "cell_size"), "map")
    cell = number(table.get("cell_size", 0.5), "map.cell_size", low=0, low_open=True)
    kinds = [k for k in ("builtin", "ascii", "ascii_file") if k in table]
    if len(kinds) != 1:
        raise ScenarioError("give exactly one of builtin, ascii or ascii_file", path="map")
    if "builtin" in table:
        name = table["builtin"]
        if name not in builtin_map_names():
            raise ScenarioError(f"unknown built-in map {name!r}; known: {', '.join(builtin_map_names())}",
                                path="map.builtin")
        for key in ("places", "exits"):
            if key in table:
                raise ScenarioError("only text maps have a legend", path=f"map.{key}")
        return MapSpec(builtin=name, ascii=None, cell_size=cell)
    if "ascii_file" in table:
        path = Path(table["ascii_file"])
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ScenarioError(f"cannot read {path}", path="map.ascii_file") from None
    else:
        text = table["ascii"]
        if not isinstance(text, str):
            raise ScenarioError("expected the map as a multi-line string", path="map.ascii")
    legends = {}
    for key in ("places", "exits"):
        legend = table.get(key, {})
        if not isinstance(legend, dict):
            raise ScenarioError("expected a table of letter = name", path=f"map.{key}")
        for letter, name in legend.items():
            if len(letter) != 1 or not letter.isalpha() or not isinstance(name, str) or not name:
                raise ScenarioError("expected a single letter = a place name", path=f"map.{key}.{letter}")
        legends[key] = dict(legend)
    spec = MapSpec(builtin=None, ascii=text, places=legends["places"], exits=legends["exits"], cell_size=cell)
    # the text map's own errors (unknown characters, unused letters) carry their key paths
    from ..geo.ascii import parse_ascii_map

    parse_ascii_map(text, places=spec.places, exits=spec.exits, cell_size=cell)
    return spec


def _map_names(spec: MapSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if spec.builtin:
        return builtin_place_names(spec.builtin)
    exits = tuple(dict.fromkeys(spec.exits.values()))
    return tuple(dict.fromkeys(spec.places.values())) + exits, exits


def _parse_walking(table, path: str, base: Walking) -> Walking:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, [f.name for f in fields(Walking)], path)
    values = {f.name: getattr(base, f.name) for f in fields(Walking)}
    for key, value in table.items():
        values[key] = number(value, join(path, key), low=0, low_open=key != "speed_sd")
    w = Walking(**values)
    if w.speed_min > w.speed_max:
        raise ScenarioError(f"speed_min {w.speed_min} is above speed_max {w.speed_max}", path=join(path, "speed_min"))
    if not w.speed_min <= w.speed_mean <= w.speed_max:
        raise ScenarioError("speed_mean must lie between speed_min and speed_max", path=join(path, "speed_mean"))
    return w


def _parse_crowd(name, table, path, places, walking) -> Crowd:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, ("count", "place", "behaviour", "target", "walking", "legitimacy"), path)
    count = number(_req(table, "count", path), join(path, "count"), low=1, integer=True)
    place = _place(_req(table, "place", path), join(path, "place"), places)
    behaviour, target, legitimacy = _intent(table, path, places, table.get("behaviour", "rally"))
    return Crowd(name=name, count=count, place=place, behaviour=behaviour, target=target,
                 walking=_parse_walking(table.get("walking", {}), join(path, "walking"), walking),
                 legitimacy=legitimacy)


def _parse_unit(name, table, path, places, walking) -> PoliceUnit:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, ("count", "place", "posture", "walking", "means", "pursue"), path)
    count = number(_req(table, "count", path), join(path, "count"), low=1, integer=True)
    place = _place(_req(table, "place", path), join(path, "place"), places)
    posture = _choice(table.get("posture", "hold"), join(path, "posture"), POSTURES)
    means = _string_list(table.get("means", []), join(path, "means"))
    for k, m in enumerate(means):
        if m not in MEANS:
            raise ScenarioError(f"unknown means {m!r}; choose from {', '.join(MEANS)}", path=f"{path}.means.{k}")
    pursue = _string_list(table.get("pursue", []), join(path, "pursue"))
    for k, p in enumerate(pursue):
        _place(p, f"{path}.pursue.{k}", places)
    return PoliceUnit(name=name, count=count, place=place, posture=posture,
                      walking=_parse_walking(table.get("walking", {}), join(path, "walking"), walking),
                      means=tuple(means), pursue=tuple(pursue))


def _parse_events(items, path, crowds: dict, places, offset) -> tuple[Event, ...]:
    if not isinstance(items, list):
        raise ScenarioError("expected an array of tables ([[events]])", path=path)
    out = []
    for k, item in enumerate(items):
        p = f"{path}.{k}"
        if not isinstance(item, dict):
            raise ScenarioError("expected a table", path=p)
        check_keys(item, ("at", "crowd", "count", "behaviour", "target", "label", "legitimacy"), p)
        at = _req(item, "at", p)
        at_s = offset(at, join(p, "at"))
        crowd = _req(item, "crowd", p)
        if crowd not in crowds:
            raise ScenarioError(f"unknown crowd {crowd!r}{_suggest(crowd, crowds)}", path=join(p, "crowd"))
        count = number(_req(item, "count", p), join(p, "count"), low=1, integer=True)
        if count > crowds[crowd].count:
            raise ScenarioError(f"moves {count} people but crowd {crowd!r} has {crowds[crowd].count}",
                                path=join(p, "count"))
        behaviour, target, legitimacy = _intent(item, p, places, _req(item, "behaviour", p))
        label = item.get("label", f"{count} of {crowd} {behaviour}")
        if not isinstance(label, str):
            raise ScenarioError("expected a string", path=join(p, "label"))
        out.append(Event(at=at, at_s=at_s, crowd=crowd, count=count, behaviour=behaviour, target=target,
                         label=label, legitimacy=legitimacy))
    return tuple(out)


def _intent(table: dict, path: str, places, behaviour) -> tuple[str, str | None, float | None]:
    """behaviour, target and legitimacy, as crowds and events both state them."""
    behaviour = _choice(behaviour, join(path, "behaviour"), BEHAVIOURS)
    target = table.get("target")
    if behaviour == "march" and target is None:
        raise ScenarioError("a march needs a target place", path=join(path, "target"))
    if target is not None:
        target = _place(target, join(path, "target"), places)
    legitimacy = table.get("legitimacy")
    if legitimacy is not None:
        legitimacy = number(legitimacy, join(path, "legitimacy"), low=0, high=1)
    return behaviour, target, legitimacy


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


# --- small helpers ------------------------------------------------------------------------------------
def _table(data: dict, key: str, required: bool = False) -> dict:
    if key not in data:
        if required:
            raise ScenarioError("missing required table", path=key)
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise ScenarioError("expected a table", path=key)
    return value


def _req(table: dict, key: str, path: str):
    if key not in table:
        raise ScenarioError("missing required key", path=join(path, key))
    return table[key]


def _string(table: dict, key: str, path: str, required: bool = False) -> str | None:
    if key not in table:
        if required:
            raise ScenarioError("missing required key", path=join(path, key))
        return None
    if not isinstance(table[key], str):
        raise ScenarioError(f"expected a string, got {table[key]!r}", path=join(path, key))
    return table[key]


def _string_list(value, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError("expected a list of strings", path=path)
    return list(value)


def _choice(value, path: str, options) -> str:
    if value not in options:
        raise ScenarioError(f"expected one of {', '.join(options)}, got {value!r}", path=path)
    return value


def _suggest(name, options) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else f"; e.g. {', '.join(list(options)[:5])}"


def _place(name, path: str, places) -> str:
    if not isinstance(name, str) or name not in places:
        raise ScenarioError(f"unknown place {name!r}{_suggest(name, places)}", path=path)
    return name


def _as_table(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _drop_none(table: dict) -> dict:
    return {k: v for k, v in table.items() if v is not None}


def _set_path(raw: dict, path: str, value) -> None:
    parts = path.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(f"no item {part} (there are {len(node)})", path=here)
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                if here in ("protest", "tear_gas", "water_cannon", "stun_grenades", "walking"):
                    node[part] = {}
                else:
                    raise ScenarioError(f"unknown key path {path!r}: nothing at {here!r}", path=here)
            node = node[part]
        else:
            raise ScenarioError(f"unknown key path {path!r}: {here!r} is a value, not a table", path=here)
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError(f"no item {last}", path=path)
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"unknown key path {path!r}", path=path)


# --- a small TOML writer for resolved scenarios ---------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        if "\n" in v:
            return '"""\n' + v.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def dumps_toml(data: dict, prefix: str = "") -> str:
    """TOML for nested dicts of scalars, lists of scalars, tables and arrays of tables."""
    lines, tables, arrays = [], [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_toml_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in tables:
        name = f"{prefix}{_key(k)}"
        out += f"\n[{name}]\n" + dumps_toml(v, name + ".")
    for k, items in arrays:
        name = f"{prefix}{_key(k)}"
        for item in items:
            out += f"\n[[{name}]]\n" + dumps_toml(item, name + ".")
    return out
