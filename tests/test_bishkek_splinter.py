"""The 5 October scenario up to the gate: a peaceful rally, then the splinter group walks to the White House.

How fast the splinter group gets there is a question of walking, so it is measured on the variant
where police hold back: in the default scenario the special forces move in as soon as 30 of them
are at the gate, and the dispersal turns the last of the group back before they arrive.
"""

import numpy as np
import pytest

from sim.core.walk.state import MARCH, PROTESTER
from sim.protest.model import ProtestModel
from sim.kinds import load_scenario


def run_to_2030(file: str):
    """19:30 to 20:30; per-step record of the splinter group's arrivals at the gate apron."""
    scenario = load_scenario(f"scenarios/{file}")
    model = ProtestModel(scenario, duration_s=3600)
    splinter = None
    arrived_at = {}
    gate = model.gridmap.place_index("white_house_gate")
    start_xy = None
    at_trigger = None  # walking distances (m) to the gate apron of the group's members when the trigger fires
    while model.running:
        model.step()
        if at_trigger is None and any(e["kind"] == "trigger" for e in model.events_log):
            a = model.arrays
            field = model.core.world.fields[model.field_index("white_house_gate")]
            on = splinter[a.x[splinter] >= 0]
            at_trigger = field[a.x[on], a.y[on]].astype(float)
        if splinter is None and model.events_log:
            a = model.arrays
            splinter = np.flatnonzero((a.kind == PROTESTER) & (a.behaviour == MARCH))
            field = model.core.world.fields[model.field_index("white_house_gate")]
            start_xy = (np.column_stack([a.x[splinter], a.y[splinter]]) * model.gridmap.cell_size,
                        field[a.x[splinter], a.y[splinter]].astype(float))
        if splinter is not None:
            a = model.arrays
            here = splinter[(a.x[splinter] >= 0) & (model.gridmap.place_id[a.x[splinter], a.y[splinter]] == gate)]
            for i in here:
                arrived_at.setdefault(int(i), model.time_s)
    return model, splinter, arrived_at, start_xy, at_trigger


@pytest.fixture(scope="module")
def flagship():
    return run_to_2030("bishkek_2020_10_05.toml")


@pytest.fixture(scope="module")
def police_hold_back():
    return run_to_2030("bishkek_2020_10_05_police_hold_back.toml")


@pytest.mark.parametrize("scenario", ["flagship", "police_hold_back"])
def test_the_rally_is_peaceful_until_the_splinter_group_leaves(scenario, request):
    model, *_ = request.getfixturevalue(scenario)
    ts = model.timeseries()
    before = ts[ts["time_s"] < 2400]  # 20:10
    assert (before["protesters_quiet"] == 5000).all() and (before["police_on_duty"] == 450).all()
    assert (before["protesters_injured"] == 0).all() and (before["police_injured"] == 0).all()
    assert before["protesters_in_ala_too_square"].iloc[-1] == 5000


def test_police_act_only_once_the_splinter_group_is_at_the_gate(flagship):
    model, splinter, arrived_at, _, at_trigger = flagship
    fired = [e["time_s"] for e in model.events_log if e["kind"] == "trigger"]
    assert fired, "the gate trigger fires before 20:30"
    assert fired[0] > 2400
    # the trigger counts 30 actives within 40 m of the gate: the head of the group is at the gate, ten
    # of them on its apron or within 5 m of it
    assert (at_trigger <= 5.0).sum() >= 10


def test_the_splinter_group_reaches_the_gate_in_a_plausible_time(police_hold_back):
    model, splinter, arrived_at, start_xy, _ = police_hold_back
    assert splinter is not None and len(splinter) == 400
    assert model.events_log[0]["clock"] == "20:10:00"
    assert len(arrived_at) >= 0.9 * len(splinter), f"only {len(arrived_at)} of 400 reached the gate apron"
    xy, walk = start_xy
    gate_xy = np.array(model.place_centroid_m("white_house_gate"))
    # the square to the White House gate is ~220-260 m in the sources (geography.md)
    assert 150 < np.median(np.linalg.norm(xy - gate_xy, axis=1)) < 350
    assert 150 < np.median(walk) < 350
    got = np.array([k for k, i in enumerate(splinter) if int(i) in arrived_at])
    times = np.array([arrived_at[int(splinter[k])] - 2400 for k in got])
    free = walk[got] / model.arrays.speed[splinter[got]]
    # nobody beats walking there at their own free speed; the crowd slows them, but not beyond 3x
    assert (times >= 0.95 * free).all()
    assert np.median(times) <= 3 * np.median(free)
    assert 2 * 60 <= np.median(times) <= 10 * 60
