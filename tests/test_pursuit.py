"""Pursuit follows the active protesters into their side street (scenarios/examples/pursuit.toml)."""

import numpy as np

from sim.core.walk.state import POLICE
from sim.protest.model import ProtestModel
from sim.kinds import load_scenario


def test_pursuit_follows_people_into_their_street():
    m = ProtestModel(load_scenario("scenarios/examples/pursuit.toml"))
    while m.running:
        m.step()
    pursuits = [e for e in m.events_log if e["kind"] == "pursuit"]
    assert pursuits and "west_street" in pursuits[0]["label"]
    a = m.arrays
    police = (a.kind == POLICE) & a.on_map()
    places = m.gridmap.place_id[a.x[police], a.y[police]]
    west, east = m.gridmap.place_index("west_street"), m.gridmap.place_index("east_street")
    assert (places == west).sum() >= 0.75 * police.sum()
    assert not (places == east).any()
    assert m.state_counts()["arrested"] > 0, "pursuing officers with backup arrest active protesters"


def test_police_that_hold_do_not_move_or_arrest():
    scenario = load_scenario("scenarios/examples/pursuit.toml").with_values({"triggers.0.posture": "hold"})
    m = ProtestModel(scenario)
    start = (m.arrays.x.copy(), m.arrays.y.copy())
    police = np.flatnonzero(m.arrays.kind == POLICE)
    while m.running:
        m.step()
    assert m.state_counts()["arrested"] == 0
    assert all(m.gridmap.place_id[m.arrays.x[i], m.arrays.y[i]] == m.gridmap.place_index("police_post") for i in police)
    del start
