"""The Mesa model on small text-map scenarios: agents are live views, data is collected, events fire."""

import threading

import numpy as np
import pytest

import sim.protest.model as model_mod
from sim.protest.agents import Police, Protester
from sim.protest.model import ProtestModel
from sim.kinds import load_scenario

EXAMPLES = "scenarios/examples"


@pytest.fixture(scope="module")
def square():
    return load_scenario(f"{EXAMPLES}/square_and_street.toml")


def test_agents_are_views_over_the_arrays(square):
    m = ProtestModel(square)
    protesters = m.agents_by_type[Protester]
    assert len(protesters) == 80 and Police not in m.agents_by_type
    agent = protesters[0]
    before = agent.pos
    assert before == (int(m.arrays.x[agent.index]), int(m.arrays.y[agent.index]))
    for _ in range(40):
        m.step()
    moved = [a for a in protesters if a.pos != before]
    assert agent.pos == (int(m.arrays.x[agent.index]), int(m.arrays.y[agent.index]))
    assert moved, "nobody moved in 20 s of milling"
    assert protesters.agg("speed", np.mean) == pytest.approx(m.arrays.speed.mean())
    assert set(protesters.groupby("state").count()) <= {"quiet", "active", "fleeing"}
    with pytest.raises(AttributeError):
        agent.pos = (1, 1)


def test_the_splinter_event_sends_twenty_to_the_gate(square):
    m = ProtestModel(square)
    while m.running:
        m.step()
    ts = m.timeseries()
    assert [e["label"] for e in m.events_log] == ["splinter group heads for the gate"]
    assert m.events_log[0]["clock"] == "00:02:00"
    assert ts["protesters_in_gate"].iloc[0] == 0
    assert ts["protesters_in_gate"].iloc[-1] == 20, "the splinter group did not all reach the gate"
    states = [f"protesters_{s}" for s in ("quiet", "active", "fleeing", "injured", "arrested", "left")]
    assert (ts[states].sum(axis=1) == 80).all() and (ts[["police_on_duty", "police_injured", "police_left"]] == 0).all().all()
    assert list(ts["clock"][:3]) == ["00:00:00", "00:00:05", "00:00:10"]


def test_same_seed_same_run_and_engines_agree(square):
    runs = []
    for engine in ("numba", "numba", "python"):
        m = ProtestModel(square, engine=engine, duration_s=150)
        while m.running:
            m.step()
        runs.append((m.arrays, m.timeseries()))
    assert runs[0][0].equals(runs[1][0]) and runs[0][0].equals(runs[2][0])
    assert runs[0][1].equals(runs[2][1])
    other = ProtestModel(square, seed=8, duration_s=150)
    while other.running:
        other.step()
    assert not other.arrays.equals(runs[0][0])


def test_free_walkers_leave_the_corridor_at_their_speed():
    m = ProtestModel(load_scenario(f"{EXAMPLES}/corridor.toml"))
    while m.running:
        m.step()
    assert m.state_counts()["left"] == 20
    # the fastest walker needed at least 98 m / 2.2 m/s
    ts = m.timeseries()
    first = ts.loc[ts["protesters_left"] > 0, "time_s"].iloc[0]
    assert first >= 98 / 2.2


def test_startled_people_run_away_from_the_threat(tmp_path):
    text = '''
[scenario]
name = "two ends"
seed = 1
start = "12:00"
end = "12:01"
[map]
ascii = """
#################################
W..............CCC..............E
#################################
"""
[map.places]
C = "middle"
[map.exits]
W = "west_end"
E = "east_end"
[crowds.c]
count = 3
place = "middle"
'''
    path = tmp_path / "two_ends.toml"
    path.write_text(text)
    m = ProtestModel(load_scenario(path))
    a = m.arrays
    west = m.field_targets.index("exits:west")
    east = m.field_targets.index("exits:east")
    threat_east = ((a.x.max() + 5) * m.gridmap.cell_size, 0.75)
    threat_west = ((a.x.min() - 5) * m.gridmap.cell_size, 0.75)
    assert (m.escape_fields(a.x, a.y, threat_east) == west).all()
    assert (m.escape_fields(a.x, a.y, threat_west) == east).all()


def test_long_runs_walk_on_a_copy_of_their_mapped_fields(square, tmp_path, monkeypatch):
    """Cached fields come memory-mapped (a quick start); a long run copies them into ordinary
    memory after its first step and walks on the copy, a short run stays on the mapping."""
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    ProtestModel(square)  # fills the cache: later models map their fields
    short, long = ProtestModel(square), ProtestModel(square)
    assert isinstance(long.core.terrain.fields.base, np.memmap)
    monkeypatch.setattr(model_mod, "FIELDS_TO_MEMORY_MIN_AGENT_STEPS", len(long.arrays) * long.total_steps)
    mapped = long.core.terrain.fields
    short.duration_s -= short.dt  # one step short of the threshold
    long.step(), short.step()
    for thread in threading.enumerate():
        if thread.name == "fields-to-memory":
            thread.join()
    fields = long.core.terrain.fields
    assert fields.base is None and np.array_equal(fields, mapped)
    assert isinstance(short.core.terrain.fields.base, np.memmap)
    for _ in range(5):
        short.step(), long.step()
    assert np.array_equal(short.arrays.x, long.arrays.x) and np.array_equal(short.arrays.y, long.arrays.y)
