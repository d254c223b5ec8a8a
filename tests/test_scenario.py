"""Scenario files: every shipped one validates; every mistake is one ScenarioError naming its key."""

import copy
import glob
import subprocess
import sys
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.geo.loader import load_map
from sim.kinds import load_scenario, parse_scenario
from sim.protest.clock import clock_to_seconds, seconds_to_clock
from sim.protest.scenario import check_capacity

SHIPPED = sorted(glob.glob("scenarios/*.toml") + glob.glob("scenarios/examples/*.toml"))
BISHKEK = "scenarios/bishkek_2020_10_05.toml"


def _raw(path=BISHKEK):
    with open(path, "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("path", SHIPPED)
def test_shipped_scenarios_validate(path):
    scenario = load_scenario(path)
    if getattr(scenario, "model", None) != "epstein_2002":  # a torus, no map: see test_epstein_scenario.py
        check_capacity(scenario, load_map(scenario.map))
    again = parse_scenario(tomllib.loads(scenario.to_toml()), base_dir="scenarios/examples")
    assert again.resolved() == scenario.resolved()


# (mutation, the key path the error must name)
MUTATIONS = [
    (lambda d: d["scenario"].pop("seed"), "scenario.seed"),
    (lambda d: d["scenario"].update(seed=True), "scenario.seed"),
    (lambda d: d["scenario"].update(start="25:00"), "scenario.start"),
    (lambda d: d["scenario"].update(dt=-1), "scenario.dt"),
    (lambda d: d["scenario"].update(colour="red"), "scenario.colour"),
    (lambda d: d.update(wheather={}), "wheather"),
    (lambda d: d["map"].update(builtin="atlantis"), "map.builtin"),
    (lambda d: d["map"].update(cell_size=0), "map.cell_size"),
    (lambda d: d["crowds"]["main"].update(count=-5), "crowds.main.count"),
    (lambda d: d["crowds"]["main"].update(count="many"), "crowds.main.count"),
    (lambda d: d["crowds"]["main"].update(place="red_square"), "crowds.main.place"),
    (lambda d: d["crowds"]["main"].update(behaviour="dance"), "crowds.main.behaviour"),
    (lambda d: d["crowds"]["main"].update(legitimacy=2), "crowds.main.legitimacy"),
    (lambda d: d["walking"].update(speed_min=3.0), "walking.speed_min"),
    (lambda d: d["police"]["special_forces"].update(means=["tanks"]), "police.special_forces.means.0"),
    (lambda d: d["police"]["white_house_guard"].update(posture="sleep"), "police.white_house_guard.posture"),
    (lambda d: d["events"][0].update(crowd="nobody"), "events.0.crowd"),
    (lambda d: d["events"][0].update(count=10**6), "events.0.count"),
    (lambda d: d["events"][0].update(at="05:00"), "events.0.at"),
    (lambda d: d["events"][0].update(target="moon"), "events.0.target"),
    (lambda d: d["tear_gas"].update(rate_per_min=-1), "tear_gas.rate_per_min"),
    (lambda d: d["triggers"][0].update(units=["ghosts"]), "triggers.0.units"),
    (lambda d: d["gate"].update(place="nowhere"), "gate.place"),
    (lambda d: d["protest"].update(k="high"), "protest.k"),
]


@settings(max_examples=len(MUTATIONS) * 2, deadline=None)
@given(st.sampled_from(MUTATIONS))
def test_mutated_scenarios_are_rejected_with_the_key_path(mutation):
    change, path = mutation
    data = copy.deepcopy(_raw())
    change(data)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, file="x.toml")
    assert err.value.path == path
    assert str(err.value).startswith(f"x.toml: {path}: ")


def test_capacity_is_checked():
    scenario = load_scenario("scenarios/examples/square_and_street.toml").with_values({"crowds.main.count": 500})
    with pytest.raises(ScenarioError) as err:
        check_capacity(scenario, load_map(scenario.map))
    assert err.value.path == "crowds.main.count"


def test_with_values_sets_and_refuses_key_paths():
    s = load_scenario(BISHKEK)
    t = s.with_values({"police.white_house_guard.count": 200, "events.0.count": 300, "tear_gas.rate_per_min": 6,
                       "scenario.seed": 9})
    assert t.police[0].count == 200 and t.events[0].count == 300 and t.tear_gas.rate_per_min == 6 and t.seed == 9
    assert s.police[0].count == 150, "the original is unchanged"
    for bad, path in (("police.nobody.count", "police.nobody"), ("crowds.main.colour", "crowds.main.colour"),
                      ("events.7.count", "events.7"), ("protest.speedy", "protest.speedy")):
        with pytest.raises(ScenarioError) as err:
            s.with_values({bad: 1})
        assert err.value.path == path


def test_malformed_toml_and_missing_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname = 1")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


def test_cli_validate_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    data = open(BISHKEK).read().replace("count = 5000", "count = -5000")
    bad.write_text(data)
    out = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "crowds.main.count" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("clock, seconds", [("20:10", 72600), ("00:00:05", 5), ("23:59:59", 86399)])
def test_clocks(clock, seconds):
    assert clock_to_seconds(clock) == seconds
    assert seconds_to_clock(seconds) == (clock if clock.count(":") == 2 else clock + ":00")
    assert seconds_to_clock(86400 + 61) == "00:01:01"


def test_a_scenario_may_run_past_midnight_when_it_says_so():
    s = load_scenario(BISHKEK).with_values({"scenario.end": "03:30+1"})
    assert s.duration_s == 8 * 3600
    with pytest.raises(ScenarioError, match=r'not after start 19:30; a run past midnight ends "03:30\+1"'):
        load_scenario(BISHKEK).with_values({"scenario.end": "03:30"})  # an end before the start is a slip
