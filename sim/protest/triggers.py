"""Rules of engagement: conditions on the state of a run that switch police units to a new posture.

A scenario lists ``[[triggers]]``; each fires at most once, the first step its condition holds:

* ``when = "actives_near"``: at least ``at_least`` active protesters within ``radius_m`` of ``place``
  (``at_least = 0``: at once, when the run starts: an order given before anything happens);
* ``when = "gate_strength_below"``: the gate's remaining strength (1 = intact) below ``value``;
* ``when = "clock"``: the clock reaches ``at`` ("HH:MM");
* ``when = "after"``: ``delay_s`` seconds after the trigger labelled ``trigger`` fired.

Firing sets the posture of ``units`` (hold, disperse, pursue, arrest) and, if given, the place
they advance to (``target``) and whom they aim at (``targeting``: indiscriminate or targeted).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ScenarioError
from .police import POSTURES, TARGETINGS
from ..config import check_keys, join, number

CONDITIONS = ("actives_near", "gate_strength_below", "clock", "after")
_KEYS = {
    "actives_near": {"place", "radius_m", "at_least"},
    "gate_strength_below": {"value"},
    "clock": {"at"},
    "after": {"trigger", "delay_s"},
}
_COMMON = {"label", "when", "units", "posture", "target", "targeting"}


@dataclass(frozen=True)
class Trigger:
    label: str
    when: str
    units: tuple[str, ...]
    posture: str
    target: str | None = None
    targeting: str | None = None  # None: the units keep theirs
    place: str | None = None
    radius_m: float = 0.0
    at_least: int = 0
    value: float = 0.0
    at: str | None = None
    at_s: float = 0.0  # seconds since scenario start, for "clock"
    trigger: str | None = None
    delay_s: float = 0.0

    def to_table(self) -> dict:
        table = {"label": self.label, "when": self.when, "units": list(self.units), "posture": self.posture}
        if self.target:
            table["target"] = self.target
        if self.targeting:
            table["targeting"] = self.targeting
        for key in sorted(_KEYS[self.when]):
            table[key] = getattr(self, key)
        return table


def parse_triggers(items, path: str, *, places, units, clock_to_offset) -> tuple[Trigger, ...]:
    """Validate ``[[triggers]]``; ``clock_to_offset("20:10", key_path)`` gives seconds since the start."""
    if not isinstance(items, list):
        raise ScenarioError("expected an array of tables ([[triggers]])", path=path)
    out: list[Trigger] = []
    for k, item in enumerate(items):
        p = f"{path}.{k}"
        if not isinstance(item, dict):
            raise ScenarioError("expected a table", path=p)
        when = item.get("when")
        if when not in CONDITIONS:
            raise ScenarioError(f"expected one of {', '.join(CONDITIONS)}, got {when!r}", path=join(p, "when"))
        check_keys(item, _COMMON | _KEYS[when], p)
        for key in ("label", "units", "posture") + tuple(sorted(_KEYS[when])):
            if key not in item:
                raise ScenarioError("missing required key", path=join(p, key))
        label = item["label"]
        if not isinstance(label, str) or not label:
            raise ScenarioError("expected a non-empty string", path=join(p, "label"))
        if any(t.label == label for t in out):
            raise ScenarioError(f"two triggers are labelled {label!r}", path=join(p, "label"))
        unit_list = item["units"]
        if not isinstance(unit_list, list) or not unit_list or not all(isinstance(u, str) for u in unit_list):
            raise ScenarioError("expected a non-empty list of police unit names", path=join(p, "units"))
        for u in unit_list:
            if u not in units:
                raise ScenarioError(f"unknown police unit {u!r}; units: {', '.join(units)}", path=join(p, "units"))
        if item["posture"] not in POSTURES:
            raise ScenarioError(f"expected one of {', '.join(POSTURES)}, got {item['posture']!r}",
                                path=join(p, "posture"))
        for key in ("target", "place"):
            if key in item and item[key] not in places:
                raise ScenarioError(f"unknown place {item[key]!r}", path=join(p, key))
        if "targeting" in item and item["targeting"] not in TARGETINGS:
            raise ScenarioError(f"expected one of {', '.join(TARGETINGS)}, got {item['targeting']!r}",
                                path=join(p, "targeting"))
        kwargs = dict(label=label, when=when, units=tuple(unit_list), posture=item["posture"],
                      target=item.get("target"), targeting=item.get("targeting"))
        if when == "actives_near":
            kwargs.update(place=item["place"],
                          radius_m=number(item["radius_m"], join(p, "radius_m"), low=0, low_open=True, high=10_000,
                                          unit="m"),
                          at_least=number(item["at_least"], join(p, "at_least"), low=0, high=10**7, integer=True))
        elif when == "gate_strength_below":
            kwargs.update(value=number(item["value"], join(p, "value"), low=0, high=1))
        elif when == "clock":
            if not isinstance(item["at"], str):
                raise ScenarioError("expected a clock time like \"20:45\"", path=join(p, "at"))
            kwargs.update(at=item["at"], at_s=clock_to_offset(item["at"], join(p, "at")))
        else:
            if not any(t.label == item["trigger"] for t in out):
                raise ScenarioError(f"no earlier trigger is labelled {item['trigger']!r}", path=join(p, "trigger"))
            kwargs.update(trigger=item["trigger"],
                          delay_s=number(item["delay_s"], join(p, "delay_s"), low=0, high=86400, unit="s"))
        out.append(Trigger(**kwargs))
    return tuple(out)


class TriggerBook:
    """Which triggers have fired, and when; ``due(probe)`` returns the ones that fire now."""

    def __init__(self, triggers: tuple[Trigger, ...]):
        self.pending = list(triggers)
        self.fired: dict[str, float] = {}

    def due(self, probe) -> list[Trigger]:
        """``probe`` offers ``time_s``, ``gate_strength`` and ``actives_near(place, radius_m)``."""
        now = []
        for trig in list(self.pending):
            if self._holds(trig, probe):
                self.pending.remove(trig)
                self.fired[trig.label] = probe.time_s
                now.append(trig)
        return now

    def _holds(self, trig: Trigger, probe) -> bool:
        if trig.when == "clock":
            return probe.time_s >= trig.at_s - 1e-9
        if trig.when == "after":
            t = self.fired.get(trig.trigger)
            return t is not None and probe.time_s >= t + trig.delay_s - 1e-9
        if trig.when == "gate_strength_below":
            return probe.gate_strength < trig.value
        return probe.actives_near(trig.place, trig.radius_m) >= trig.at_least
