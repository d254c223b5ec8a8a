"""Police means on hand-placed crowds: each acts within its reach only."""

import numpy as np
import pytest

from sim.core.walk.behaviour import CAUSE_STUN_GRENADE, CAUSE_WATER_CANNON
from sim.core.walk.state import FLEEING, INJURED, LEAVE, PROTESTER, QUIET, AgentArrays
from sim.errors import ScenarioError
from sim.protest.police import (
    StunGrenades,
    WaterCannon,
    densest_protesters,
    parse_tear_gas,
    parse_water_cannon,
    stun_grenade,
    water_jet,
)

CELL = 0.5


def _escape(field):
    """An escape chooser that sends everyone to one field, remembering the threat it was told."""
    def choose(xs, ys, threat_m):
        choose.threats.append(threat_m)
        return np.full(xs.shape, field, dtype=np.int16)
    choose.threats = []
    return choose


def _line_of_people(n=100, spacing_cells=2):
    """People on a line along x (every ``spacing_cells`` cells), at y = 50."""
    a = AgentArrays.empty(n)
    a.x[:] = np.arange(n) * spacing_cells
    a.y[:] = 50
    a.kind[:] = PROTESTER
    a.state[:] = QUIET
    return a


def test_water_jet_hits_only_within_reach_and_width():
    a = _line_of_people()  # x from 0 to 99 m
    spec = WaterCannon(reach_m=30.0, width_m=4.0, knockdown_m=10.0, knockdown_per_s=0.0)
    water_jet(a, (0.0, 25.0), (50.0, 25.0), spec, CELL, 0.5, np.ones(len(a)), 60.0, _escape(7))
    dist = a.x * CELL
    hit = a.state == FLEEING
    assert hit.any()
    assert (dist[hit] > 0).all() and (dist[hit] <= 30.0).all()
    assert not hit[dist > 30.0].any()
    assert (a.behaviour[hit] == LEAVE).all() and (a.target[hit] == 7).all()
    # aimed along a parallel line 3 m off: nobody is within the 2 m half-width
    b = _line_of_people()
    water_jet(b, (0.0, 28.0), (50.0, 28.0), spec, CELL, 0.5, np.ones(len(b)), 60.0, _escape(7))
    assert not (b.state == FLEEING).any()


def test_water_jet_knocks_down_only_close_people():
    a = _line_of_people()
    spec = WaterCannon(reach_m=40.0, width_m=4.0, knockdown_m=12.0, knockdown_per_s=1.0)
    water_jet(a, (0.0, 25.0), (50.0, 25.0), spec, CELL, 2.0, np.zeros(len(a)), 60.0, _escape(0))
    down = a.state == INJURED
    assert down.any() and (a.x[down] * CELL <= 12.0).all()
    assert (a.cause[down] == CAUSE_WATER_CANNON).all()


def test_stun_grenade_empties_its_radius():
    a = _line_of_people()
    spec = StunGrenades(startle_radius_m=15.0, injury_radius_m=2.0, injury_chance=1.0)
    hurt = stun_grenade(a, (50.0, 25.0), spec, CELL, np.zeros(len(a)), 60.0, _escape(0))
    d = np.abs(a.x * CELL - 50.0)
    assert ((a.state == FLEEING) | (a.state == INJURED))[d <= 15.0].all()
    assert (a.state[d > 15.0] == QUIET).all()
    assert hurt == int((d <= 2.0).sum()) and (a.cause[a.state == INJURED] == CAUSE_STUN_GRENADE).all()


def test_densest_protesters_respects_range():
    counts = np.zeros((20, 20), int)
    counts[18, 18] = 50  # dense but far
    counts[5, 6] = 10
    assert densest_protesters(counts, (5.0, 5.0), 4.0) == (5, 6)
    assert densest_protesters(counts, (5.0, 5.0), 30.0) == (18, 18)
    assert densest_protesters(np.zeros((5, 5), int), (2.0, 2.0), 3.0) is None


def test_means_blocks_reject_bad_values_with_key_paths():
    with pytest.raises(ScenarioError, match=r"tear_gas\.rate_per_min"):
        parse_tear_gas({"rate_per_min": -1})
    with pytest.raises(ScenarioError, match=r"water_cannon\.trucks"):
        parse_water_cannon({"trucks": 1.5})
    with pytest.raises(ScenarioError, match=r"tear_gas\.colour"):
        parse_tear_gas({"colour": "white"})
    assert parse_tear_gas({"rate_per_min": 4}).rate_per_min == 4.0
