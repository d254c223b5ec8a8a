"""Epstein scenario files, the Mesa model over the arrays, and the run folder from the CLI."""

import copy
import json
import subprocess
import sys
import tomllib

import mesa
import numpy as np
import pandas as pd
import pytest
from mesa.time import EventGenerator, Schedule

from sim.epstein import mesa_clock
from sim.epstein.model import Citizen, Cop, EpsteinModel
from sim.epstein.scenario import EpsteinScenario
from sim.errors import ScenarioError
from sim.kinds import load_scenario, parse_scenario

CLASSIC = "scenarios/epstein_2002.toml"
MESA = "scenarios/epstein_2002_mesa.toml"


def _raw(path=CLASSIC):
    with open(path, "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("path", [CLASSIC, MESA])
def test_shipped_files_load_and_round_trip(path):
    scenario = load_scenario(path)
    assert isinstance(scenario, EpsteinScenario)
    again = parse_scenario(tomllib.loads(scenario.to_toml()))
    assert again.resolved() == scenario.resolved()


def test_mesa_file_has_the_defaults_of_mesas_example():
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinScenario as Theirs

    theirs, ours = Theirs(), load_scenario(MESA)
    assert (ours.agents.citizen_density, ours.agents.cop_density) == (theirs.citizen_density, theirs.cop_density)
    assert ours.agents.cop_vision == ours.agents.citizen_vision == theirs.cop_vision  # Mesa uses cop_vision for all
    assert (ours.rules.legitimacy, ours.rules.max_jail_term) == (theirs.legitimacy, theirs.max_jail_term)
    assert (ours.rules.k, ours.rules.threshold) == (theirs.arrest_prob_constant, theirs.active_threshold)
    assert (ours.rules.arrest_ratio, ours.rules.neighbourhood, ours.rules.jailed) == ("round", "von_neumann",
                                                                                       "keep_cell")
    assert theirs.grid_type == "Von Neumann" and ours.steps == theirs.max_iters
    assert (ours.grid.width, ours.grid.height) == (40, 40)


MUTATIONS = [
    (lambda d: d["scenario"].update(model="epstein_2003"), "scenario.model"),
    (lambda d: d["scenario"].update(colour="red"), "scenario.colour"),
    (lambda d: d["scenario"].update(steps=0), "scenario.steps"),
    (lambda d: d["scenario"].update(seed="one"), "scenario.seed"),
    (lambda d: d.update(map={}), "map"),
    (lambda d: d["grid"].update(width=2.5), "grid.width"),
    (lambda d: d["agents"].update(citizen_density=1.2), "agents.citizen_density"),
    (lambda d: d["agents"].update(cop_density=-0.1), "agents.cop_density"),
    (lambda d: d["agents"].update(citizen_density=0.9, cop_density=0.2), "agents.cop_density"),
    (lambda d: d["agents"].update(cop_vision=20), "agents.cop_vision"),
    (lambda d: d["agents"].update(citizen_vision=0), "agents.citizen_vision"),
    (lambda d: d["rules"].update(arrest_ratio="ceil"), "rules.arrest_ratio"),
    (lambda d: d["rules"].update(neighbourhood="hex"), "rules.neighbourhood"),
    (lambda d: d["rules"].update(jailed="exile"), "rules.jailed"),
    (lambda d: d["rules"].update(movement="yes"), "rules.movement"),
    (lambda d: d["rules"].update(legitimacy=1.5), "rules.legitimacy"),
    (lambda d: d["rules"].update(vision=7), "rules.vision"),
    (lambda d: d.update(legitimacy=[{"at_step": 10}]), "legitimacy.0.value"),
    (lambda d: d.update(legitimacy=[{"at_step": 10, "value": 0.5, "over": 3}]), "legitimacy.0.over"),
    (lambda d: d.update(legitimacy=[{"at_step": 10, "value": 0.5, "over_steps": 20},
                                    {"at_step": 25, "value": 0.4}]), "legitimacy.1.at_step"),
    (lambda d: d.update(legitimacy={"at_step": 10}), "legitimacy"),
]


@pytest.mark.parametrize("change,path", MUTATIONS)
def test_mistakes_name_file_and_key_path(change, path):
    data = copy.deepcopy(_raw())
    change(data)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, file="x.toml")
    assert err.value.path == path
    assert str(err.value).startswith(f"x.toml: {path}: ")


def test_legitimacy_changes_at_once_or_in_equal_steps():
    scenario = load_scenario(CLASSIC).with_values({"rules.legitimacy": 0.8, "legitimacy": [
        {"at_step": 10, "value": 0.6}, {"at_step": 20, "value": 0.7, "over_steps": 4}]})
    values = [scenario.legitimacy_at(t) for t in range(26)]
    assert values[:10] == [0.8] * 10 and values[10:20] == [0.6] * 10
    assert values[20:26] == pytest.approx([0.625, 0.65, 0.675, 0.7, 0.7, 0.7])


def test_model_agents_are_views_over_the_arrays():
    scenario = load_scenario(CLASSIC).with_values({"grid.width": 20, "grid.height": 20})
    model = EpsteinModel(scenario, seed=3)
    assert len(model.agents) == len(model.world)
    assert len(model.agents_by_type[Cop]) == model.cops
    for _ in range(20):
        model.step()
    states = model.agents_by_type[Citizen].groupby("state").count()
    assert states == {n: int(c) for n, c in zip(("quiet", "active", "jailed"), model.counts()) if c}
    jailed = [a for a in model.agents_by_type[Citizen] if a.state == "jailed"]
    assert jailed and all(a.pos is None for a in jailed)  # the classic file: jailed agents leave the grid
    row = model.datacollector.get_model_vars_dataframe().iloc[-1]
    assert (row["quiet"], row["active"], row["jailed"]) == tuple(model.counts())


def test_both_engines_give_the_same_run():
    scenario = load_scenario(MESA).with_values({"grid.width": 16, "grid.height": 15, "rules.legitimacy": 0.6})
    runs = []
    for engine in ("numba", "python"):
        model = EpsteinModel(scenario, engine=engine, seed=7, steps=15, agent_views=False)
        while model.running:
            model.step()
        runs.append(model.timeseries())
    pd.testing.assert_frame_equal(*runs)
    assert runs[0]["jailed"].iloc[-1] > 0


def _clock(model) -> dict:
    """What Mesa keeps of a model's time and collected rows: a batched run must leave all of it as
    Mesa's loop stepping one at a time does."""
    schedule = mesa_clock.step_schedule(model)
    return dict(time=model.time, steps=model.steps, next_step=schedule.next_scheduled_time,
                runs=schedule.execution_count, active=schedule.is_active, plan=schedule.schedule,
                events=len(model._event_list), heap=len(model._event_list._events),
                rows=model.datacollector.model_vars, collected_at=model.datacollector._collection_steps)


@pytest.mark.parametrize("engine", ["numba", "python"])
@pytest.mark.parametrize("path", [CLASSIC, MESA])
def test_run_for_gives_what_stepping_gives(path, engine):
    """Mesa's run_for and run_until, which the model runs in one call of the engine: the same
    agents, DataCollector rows (legitimacy changing on the way), clock and next step as step()."""
    scenario = load_scenario(path).with_values({"grid.width": 24, "grid.height": 21, "legitimacy": [
        {"at_step": 6, "value": 0.55, "over_steps": 5}]})
    stepped, batched = (EpsteinModel(scenario, engine=engine, seed=2, steps=40) for _ in range(2))
    runs = []
    engine_run = batched.core.run
    batched.core.run = lambda *args: runs.append(len(args[1])) or engine_run(*args)
    for _ in range(25):
        stepped.step()
    batched.run_for(10)
    batched.run_until(25.5)  # steps 11..25; the clock stops between steps, as Mesa's
    assert runs == [10, 15]  # the batched path, not Mesa's loop
    assert batched.time == 25.5 and batched.steps == stepped.steps == 25
    stepped.run_for(0.5)  # Mesa steps none: both clocks at 25.5
    pd.testing.assert_frame_equal(batched.datacollector.get_model_vars_dataframe(),
                                  stepped.datacollector.get_model_vars_dataframe())
    assert _clock(batched) == _clock(stepped)
    for name in stepped.world.__dataclass_fields__:
        assert np.array_equal(getattr(batched.world, name), getattr(stepped.world, name)), name
    assert batched.legitimacy == stepped.legitimacy and batched.active == stepped.active
    batched.step()
    stepped.step()
    assert batched.time == stepped.time == 26.5 and batched.counts().tolist() == stepped.counts().tolist()
    assert _clock(batched) == _clock(stepped)
    batched.run_for(20)
    assert batched.steps_done == 46 and not batched.running  # past the scenario's 40 steps, as step() goes


class _Counter(mesa.Model):
    """A bare Mesa model whose step counts and collects: Mesa's clock and DataCollector with
    nothing of ours in the way."""

    def __init__(self):
        super().__init__(rng=1)
        self.count = 0
        self.datacollector = mesa.DataCollector(model_reporters={"count": "count"})
        self.datacollector.collect(self)

    def step(self):
        self.count += 1
        self.datacollector.collect(self)


def test_mesa_clock_relies_on_mesa_internals_that_are_as_assumed():
    """The Mesa internals ``sim.epstein.mesa_clock`` uses exist and behave as it assumes (this
    fails first when a Mesa release changes them): the step schedule is an EventGenerator every
    time unit from 1; the event list's len counts the events not cancelled; the DataCollector
    keeps a list per reporter and the model time of each row."""
    model = _Counter()
    schedule = mesa_clock.step_schedule(model)
    assert schedule is model._default_schedule and isinstance(schedule, EventGenerator) and schedule.is_active
    assert schedule.schedule == Schedule(interval=1.0, start=1.0) and schedule.next_scheduled_time == 1.0
    assert schedule._execution_count == schedule.execution_count == 0
    assert len(model._event_list) == 1
    extra = model.schedule_event(model.step, at=2.5)
    assert len(model._event_list) == 2
    extra.cancel()
    assert len(model._event_list) == 1
    assert model._event_list.pop_event() is schedule._current_event  # the due step comes off the list
    model._event_list.add_event(schedule._current_event)
    model.run_for(2)
    assert schedule._execution_count == 2 and schedule.next_scheduled_time == 3.0
    assert model.datacollector.model_vars == {"count": [0, 1, 2]}
    assert model.datacollector._collection_steps == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("runs", [[("for", 7)], [("for", 7.5), ("until", 12)], [("for", 0.5), ("for", 1)],
                                  [("until", 3.25), ("for", 2.75), ("for", 4)]])
def test_mesa_clock_leaves_a_model_as_mesas_loop_does(runs):
    """Steps run by the caller and accounted for by ``mesa_clock`` leave Mesa's clock, step
    schedule, event list and DataCollector exactly as Mesa's ``run_for`` / ``run_until`` running
    them one at a time; Mesa's loop then goes on from there alike."""
    looped, batched = _Counter(), _Counter()
    for kind, value in runs:
        until = looped.time + value if kind == "for" else value
        (looped.run_for(value) if kind == "for" else looped.run_until(value))
        times = mesa_clock.due_step_times(batched, until)
        if times:
            values = list(range(batched.count + 1, batched.count + 1 + len(times)))
            batched.count = values[-1]
            mesa_clock.append_rows(batched.datacollector, {"count": values}, times)
            mesa_clock.finish_steps(batched, times, until)
        else:
            batched.run_until(until)
        assert _clock(batched) == _clock(looped), (kind, value)
    looped.run_for(3)
    batched.run_for(3)
    assert _clock(batched) == _clock(looped)


def test_mesa_clock_leaves_to_mesa_what_it_cannot_batch():
    """No batch when something else is on the event list, the step schedule is stopped or not
    once per time unit, or no step is due; none with reporters of one's own."""
    model = _Counter()
    assert mesa_clock.due_step_times(model, 3.5) == [1.0, 2.0, 3.0]
    assert mesa_clock.due_step_times(model, 0.5) == []
    extra = model.schedule_event(model.step, at=10)
    assert mesa_clock.due_step_times(model, 3.5) == []
    extra.cancel()
    schedule = mesa_clock.step_schedule(model)
    schedule.stop()
    assert mesa_clock.due_step_times(model, 3.5) == []
    other = _Counter()
    mesa_clock.step_schedule(other).schedule = Schedule(interval=2.0, start=1.0)
    assert mesa_clock.due_step_times(other, 3.5) == []
    reporters = {"count": "count"}
    assert mesa_clock.collects_exactly(model.datacollector, reporters)
    assert not mesa_clock.collects_exactly(mesa.DataCollector(model_reporters={"count": lambda m: 0}), reporters)
    assert not mesa_clock.collects_exactly(mesa.DataCollector(model_reporters=reporters,
                                                              agent_reporters={"id": "unique_id"}), reporters)


def test_run_for_leaves_other_scheduled_events_and_reporters_to_mesa():
    """With an event of the user's on the list the steps go through Mesa's loop, in time order;
    so do they with a DataCollector of the user's, which then gets a row every step."""
    scenario = load_scenario(MESA).with_values({"grid.width": 16, "grid.height": 16})
    model = EpsteinModel(scenario, seed=1, steps=10)
    seen = []

    def note():
        seen.append(model.steps_done)

    model.schedule_event(note, at=3.5)
    model.run_for(6)
    assert seen == [3] and model.steps_done == 6 and len(model.datacollector.model_vars["step"]) == 7
    model.datacollector = mesa.DataCollector(model_reporters={"cops near": lambda m: m.cops})  # one's own
    model.run_for(3)
    assert model.datacollector.model_vars["cops near"] == [model.cops] * 3


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


def test_cli_runs_an_epstein_scenario_into_a_run_folder(tmp_path):
    out = tmp_path / "run"
    done = _cli("run", CLASSIC, "--seed", "4", "--duration", "120", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["steps"] == 120 and summary["seed"] == 4
    assert summary["outbursts"] and summary["citizens"] + summary["cops"] > 1000
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns[:6]) == ["step", "time_s", "clock", "quiet", "active", "jailed"]
    assert len(ts) == 121 and (ts[["quiet", "active", "jailed"]].sum(axis=1) == summary["citizens"]).all()
    assert {p.name for p in (out / "figures").iterdir()} == {"counts.png", "grid.png"}
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4


@pytest.mark.parametrize("args,message", [
    (["run", CLASSIC, "--duration", "10.5"], "whole steps"),
    (["validate", "BAD"], "agents.cop_density"),
])
def test_cli_mistakes_exit_2_with_one_line(tmp_path, args, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(open(CLASSIC).read().replace("cop_density = 0.04", "cop_density = 0.5"))
    done = _cli(*[str(bad) if a == "BAD" else a for a in args])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
