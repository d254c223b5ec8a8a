"""Rules of engagement: parsing with key paths, and firing once, in order, when conditions hold."""

from types import SimpleNamespace

import pytest

from sim.errors import ScenarioError
from sim.protest.triggers import TriggerBook, parse_triggers

PLACES = ("ala_too_square", "white_house_gate")
UNITS = ("guard", "riot")


def _parse(items):
    return parse_triggers(items, "triggers", places=PLACES, units=UNITS,
                          clock_to_offset=lambda clock, path: {"20:45": 4500.0}[clock])


GATE = {"label": "gate", "when": "actives_near", "place": "white_house_gate", "radius_m": 30, "at_least": 20,
        "units": ["riot"], "posture": "disperse", "target": "ala_too_square"}


def test_triggers_fire_once_when_their_condition_holds():
    trigs = _parse([GATE, {"label": "chase", "when": "after", "trigger": "gate", "delay_s": 60,
                           "units": ["riot"], "posture": "pursue"},
                    {"label": "late", "when": "clock", "at": "20:45", "units": ["guard"], "posture": "arrest"}])
    book = TriggerBook(trigs)
    probe = SimpleNamespace(time_s=0.0, gate_strength=1.0, actives_near=lambda place, r: 5)
    assert book.due(probe) == []
    probe.actives_near = lambda place, r: 25 if place == "white_house_gate" and r == 30 else 0
    probe.time_s = 100.0
    assert [t.label for t in book.due(probe)] == ["gate"]
    probe.time_s = 150.0
    assert book.due(probe) == []
    probe.time_s = 160.0
    assert [t.label for t in book.due(probe)] == ["chase"]
    probe.time_s = 4500.0
    assert [t.label for t in book.due(probe)] == ["late"]
    assert book.due(probe) == [] and book.fired == {"gate": 100.0, "chase": 160.0, "late": 4500.0}


@pytest.mark.parametrize("change, path", [
    ({"when": "sometimes"}, "triggers.0.when"),
    ({"units": ["nobody"]}, "triggers.0.units"),
    ({"posture": "charge"}, "triggers.0.posture"),
    ({"place": "moon"}, "triggers.0.place"),
    ({"radius_m": -3}, "triggers.0.radius_m"),
    ({"at_least": 2.5}, "triggers.0.at_least"),
    ({"colour": "red"}, "triggers.0.colour"),
])
def test_bad_triggers_name_the_key(change, path):
    with pytest.raises(ScenarioError) as err:
        _parse([{**GATE, **change}])
    assert err.value.path == path


def test_after_needs_an_earlier_trigger():
    with pytest.raises(ScenarioError, match="no earlier trigger"):
        _parse([{"label": "x", "when": "after", "trigger": "gate", "delay_s": 1, "units": ["riot"],
                 "posture": "hold"}])
