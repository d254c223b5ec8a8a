"""The sections of a protest scenario below its head: the map, walking speeds, crowds, police units
and scheduled events, each a frozen dataclass with its parser. Every mistake names its key path."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..config import check_keys, choice, join, number, read_text, required, string_list, suggest
from ..errors import ScenarioError
from ..geo.catalog import builtin_map_names, builtin_place_names
from ..geo.mapfile import place_names, read_map_file
from .police import MEANS, POSTURES, TARGETINGS

BEHAVIOURS = ("rally", "march", "leave")
MAX_PEOPLE = 10_000_000  # in one crowd or unit (each also has to fit in its place, cell by cell)


@dataclass(frozen=True)
class Walking:
    """Free walking speed, m/s: normal(mean, sd) clipped to [min, max] (Weidmann 1993); and, for the
    whole scenario only, how far ahead (m) people look for others coming towards them, to keep out
    of their way (``sim.core.walk.anticipation``; 0: they do not)."""

    speed_mean: float = 1.34
    speed_sd: float = 0.26
    speed_min: float = 0.5
    speed_max: float = 2.2
    anticipation_m: float = 3.5
    # which model walks (scenario-wide, like anticipation_m): "grid", one person a 0.5 m cell
    # (sim.core.walk), or "continuous", the Collision-Free Speed Model at real positions
    # (sim.core.continuous; the protest's decisions still read the cells, sim.protest.continuous_core)
    model: str = "grid"
    continuous_dt_s: float = 0.05  # s, sub-step of the continuous model (JuPedSim's default: 0.01 s)
    # m, body radius on the continuous model: hexagonal packing of 0.17 m discs holds at most 10 per m2,
    # about the highest densities reported in crushes (Fruin 1993), so a sourced crush threshold of
    # 7 per m2 is reachable (JuPedSim's 0.2 m holds at most 7.2)
    radius_m: float = 0.17
    time_gap_s: float = 1.0  # s, the CFSM's T: speed = gap ahead / T (JuPedSim's default)
    # persons/m2 within 1 m (itself included) at which a rallying, marching or holding walker on the
    # continuous model stops walking in: a crowd stands at Fruin's (1971) queueing levels C-D, not
    # pressed to body contact, as the collision-free model alone would leave it
    stop_density: float = 2.0


@dataclass(frozen=True)
class MapSpec:
    builtin: str | None
    ascii: str | None
    places: dict[str, str] = field(default_factory=dict)  # ascii letter -> place name
    exits: dict[str, str] = field(default_factory=dict)  # ascii letter -> exit name
    cell_size: float = 0.5
    file: str | None = None  # an imported map file (sim.geo.mapfile), as an absolute path


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
    targeting: str = "indiscriminate"  # whom its force is aimed at (sim.protest.police.TARGETINGS)


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


def parse_map(table: dict, base_dir: Path | None) -> MapSpec:
    check_keys(table, ("builtin", "file", "ascii", "ascii_file", "places", "exits", "cell_size"), "map")
    cell = number(table.get("cell_size", 0.5), "map.cell_size", low=0.05, high=10, unit="m")
    kinds = [k for k in ("builtin", "file", "ascii", "ascii_file") if k in table]
    if len(kinds) != 1:
        raise ScenarioError("give exactly one of builtin, file, ascii or ascii_file", path="map")
    if "builtin" in table:
        name = table["builtin"]
        if name not in builtin_map_names():
            raise ScenarioError(f"unknown built-in map {name!r}; known: {', '.join(builtin_map_names())}",
                                path="map.builtin")
    if "builtin" in table or "file" in table:
        for key in ("places", "exits"):
            if key in table:
                raise ScenarioError("only text maps have a legend", path=f"map.{key}")
    if "builtin" in table:
        return MapSpec(builtin=table["builtin"], ascii=None, cell_size=cell)
    if "file" in table:
        return MapSpec(builtin=None, ascii=None, cell_size=cell, file=str(_map_file(table["file"], base_dir)))
    if "ascii_file" in table:
        name = table["ascii_file"]
        if not isinstance(name, str) or not name or "\x00" in name:
            raise ScenarioError(f"expected the path of a text map, got {name!r}", path="map.ascii_file")
        path = Path(name)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        text = read_text(path, what="text map", key_path="map.ascii_file")
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


def _map_file(name, base_dir: Path | None) -> Path:
    """The map file a scenario names (relative to the scenario's folder), checked (``sim.geo.mapfile``)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ScenarioError(f"expected the path of a map file, got {name!r}", path="map.file")
    path = Path(name)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    read_map_file(path, key_path="map.file")
    return path.resolve()


def map_names(spec: MapSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if spec.builtin:
        return builtin_place_names(spec.builtin)
    if spec.file:
        return place_names(read_map_file(spec.file, key_path="map.file"))
    exits = tuple(dict.fromkeys(spec.exits.values()))
    return tuple(dict.fromkeys(spec.places.values())) + exits, exits


WALKING_MODELS = ("grid", "continuous")
_MODEL_KEYS = ("model", "continuous_dt_s", "radius_m", "time_gap_s", "stop_density")


def _model_value(key: str, value, path: str):
    """One of the scenario-wide keys of the walking model, checked."""
    if key == "model":
        return choice(value, path, WALKING_MODELS)
    if key == "continuous_dt_s":  # explicit in time: steps well under the time gap T
        return number(value, path, low=0, low_open=True, high=0.25, unit="s")
    if key == "radius_m":
        return number(value, path, low=0.1, high=0.4, unit="m")
    if key == "time_gap_s":
        return number(value, path, low=0.1, high=5.0, unit="s")
    return number(value, path, low=0, low_open=True, high=10.0, unit="persons/m2")


def parse_walking(table, path: str, base: Walking) -> Walking:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, [f.name for f in fields(Walking)], path)
    values = {f.name: getattr(base, f.name) for f in fields(Walking)}
    for key, value in table.items():  # escape-panic desired speeds reach about 5 m/s (Helbing et al. 2000)
        if key in _MODEL_KEYS:
            values[key] = _model_value(key, value, join(path, key))
            if path != "walking" and values[key] != getattr(base, key):
                raise ScenarioError("the walking model is set for everyone, in [walking]", path=join(path, key))
            continue
        if key == "anticipation_m":  # one for everyone: a crowd's table may only repeat it (written scenarios do)
            values[key] = number(value, join(path, key), low=0, high=10.0, unit="m")
            if path != "walking" and values[key] != base.anticipation_m:
                raise ScenarioError("how far people look ahead is set for everyone, in [walking]", path=join(path, key))
            continue
        values[key] = number(value, join(path, key), low=0, low_open=key != "speed_sd", high=10.0, unit="m/s")
    w = Walking(**values)
    if w.speed_min > w.speed_max:
        raise ScenarioError(f"speed_min {w.speed_min} is above speed_max {w.speed_max}", path=join(path, "speed_min"))
    if not w.speed_min <= w.speed_mean <= w.speed_max:
        raise ScenarioError("speed_mean must lie between speed_min and speed_max", path=join(path, "speed_mean"))
    return w


def parse_crowd(name, table, path, places, walking) -> Crowd:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, ("count", "place", "behaviour", "target", "walking", "legitimacy"), path)
    count = number(required(table, "count", path), join(path, "count"), low=1, high=MAX_PEOPLE, integer=True)
    start = place(required(table, "place", path), join(path, "place"), places)
    behaviour, target, legitimacy = _intent(table, path, places, table.get("behaviour", "rally"))
    return Crowd(name=name, count=count, place=start, behaviour=behaviour, target=target,
                 walking=parse_walking(table.get("walking", {}), join(path, "walking"), walking),
                 legitimacy=legitimacy)


def parse_unit(name, table, path, places, walking) -> PoliceUnit:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path=path)
    check_keys(table, ("count", "place", "posture", "walking", "means", "pursue", "targeting"), path)
    count = number(required(table, "count", path), join(path, "count"), low=1, high=MAX_PEOPLE, integer=True)
    start = place(required(table, "place", path), join(path, "place"), places)
    posture = choice(table.get("posture", "hold"), join(path, "posture"), POSTURES)
    means = string_list(table.get("means", []), join(path, "means"))
    for k, m in enumerate(means):
        if m not in MEANS:
            raise ScenarioError(f"unknown means {m!r}; choose from {', '.join(MEANS)}", path=f"{path}.means.{k}")
    pursue = string_list(table.get("pursue", []), join(path, "pursue"))
    for k, p in enumerate(pursue):
        place(p, f"{path}.pursue.{k}", places)
    return PoliceUnit(name=name, count=count, place=start, posture=posture,
                      walking=parse_walking(table.get("walking", {}), join(path, "walking"), walking),
                      means=tuple(means), pursue=tuple(pursue),
                      targeting=choice(table.get("targeting", "indiscriminate"), join(path, "targeting"), TARGETINGS))


def parse_events(items, path, crowds: dict, places, offset) -> tuple[Event, ...]:
    if not isinstance(items, list):
        raise ScenarioError("expected an array of tables ([[events]])", path=path)
    out = []
    for k, item in enumerate(items):
        p = f"{path}.{k}"
        if not isinstance(item, dict):
            raise ScenarioError("expected a table", path=p)
        check_keys(item, ("at", "crowd", "count", "behaviour", "target", "label", "legitimacy"), p)
        at = required(item, "at", p)
        at_s = offset(at, join(p, "at"))
        crowd = required(item, "crowd", p)
        if not isinstance(crowd, str) or crowd not in crowds:
            raise ScenarioError(f"unknown crowd {crowd!r}{suggest(crowd, crowds)}", path=join(p, "crowd"))
        count = number(required(item, "count", p), join(p, "count"), low=1, integer=True)
        if count > crowds[crowd].count:
            raise ScenarioError(f"moves {count} people but crowd {crowd!r} has {crowds[crowd].count}",
                                path=join(p, "count"))
        behaviour, target, legitimacy = _intent(item, p, places, required(item, "behaviour", p))
        label = item.get("label", f"{count} of {crowd} {behaviour}")
        if not isinstance(label, str):
            raise ScenarioError("expected a string", path=join(p, "label"))
        out.append(Event(at=at, at_s=at_s, crowd=crowd, count=count, behaviour=behaviour, target=target,
                         label=label, legitimacy=legitimacy))
    return tuple(out)


def _intent(table: dict, path: str, places, behaviour) -> tuple[str, str | None, float | None]:
    """behaviour, target and legitimacy, as crowds and events both state them."""
    behaviour = choice(behaviour, join(path, "behaviour"), BEHAVIOURS)
    target = table.get("target")
    if behaviour == "march" and target is None:
        raise ScenarioError("a march needs a target place", path=join(path, "target"))
    if target is not None:
        target = place(target, join(path, "target"), places)
    legitimacy = table.get("legitimacy")
    if legitimacy is not None:
        legitimacy = number(legitimacy, join(path, "legitimacy"), low=0, high=1)
    return behaviour, target, legitimacy




def place(name, path: str, places) -> str:
    """``name`` if the map has such a place, else a ScenarioError suggesting the nearest."""
    if not isinstance(name, str) or name not in places:
        raise ScenarioError(f"unknown place {name!r}{suggest(name, places)}", path=path)
    return name
