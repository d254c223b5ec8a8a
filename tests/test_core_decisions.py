"""The decision pass (Epstein activation, gas, flight, arrests, injuries): engines agree, invariants hold."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.walk.behaviour import DecisionParams
from sim.core.walk.engine import Core, Decisions, WalkParams, arrest_probability_table
from sim.core.walk.hazards import GasField
from sim.core.walk.state import (
    ACTIVE, ARREST_ACTIVE, ARREST_ALL, ARRESTED, FLEEING, INJURED, LEFT, POLICE, PROTESTER, QUIET,
)
from tests.test_core_properties import terrains


def _params(rng, dt):
    return DecisionParams(
        interval_s=dt, threshold=0.1, flee_concentration=rng.uniform(0.05, 1), dose_injure=rng.uniform(0.5, 5),
        gas_injury_per_s=rng.uniform(0, 0.5), flee_time_s=rng.uniform(1, 20), contagion_per_s=rng.uniform(0, 2),
        crush_per_s=rng.uniform(0, 0.5), arrest_per_s=rng.uniform(0, 1), baton_per_s=rng.uniform(0, 0.5),
        projectile_per_s=rng.uniform(0, 0.2), projectile_cap=10, backup=rng.integers(1, 4),
        legitimacy_loss=rng.uniform(0, 1), active_force_share=rng.uniform(0, 1), half_seen=rng.uniform(0.5, 20),
        legitimacy_recovery_per_s=rng.uniform(0, 0.2), fatigue_per_s=rng.uniform(0, 0.3),
        rest_per_s=rng.uniform(0, 0.1), tired_energy=rng.uniform(0, 1), tired_leave_per_s=rng.uniform(0, 0.5),
        regroup_scale=rng.uniform(0, 3))


def _decisions(terrain, rng, dt, regroup, dynamics=False):
    gas = GasField(terrain.walkable, terrain.cell_size, factor=2, diffusivity=2.0, wind_u=0.3, wind_v=0.0,
                   half_life_s=60.0)
    gas.conc[:] = rng.exponential(0.5, gas.conc.shape) * (rng.random(gas.conc.shape) < 0.3) * gas.floor
    return Decisions(params=_params(rng, dt), arrest_p_table=arrest_probability_table(2.3, 8), gas=gas,
                     coarse_factor=int(rng.integers(1, 4)), vision_r=int(rng.integers(0, 3)), exit_target=1,
                     regroup=regroup, crush_count=int(rng.integers(1, 6)), dynamics=dynamics)


def _populate(a, rng):
    """Random kinds, states and Epstein attributes on a crowd from ``terrains()``."""
    n = len(a)
    a.kind[:] = np.where(rng.random(n) < 0.25, POLICE, PROTESTER)
    a.state[:] = rng.choice([QUIET, QUIET, ACTIVE, FLEEING], size=n)
    a.state[a.kind == POLICE] = QUIET
    a.grievance[:] = rng.random(n)
    a.risk[:] = rng.random(n)
    a.timer[:] = np.where(a.state == FLEEING, rng.uniform(0, 10, n), 0)
    a.arresting[:] = np.where(a.kind == POLICE, rng.integers(0, 3, n), 0)  # none, actives only, all
    a.home[:] = 0
    a.hardship[:] = rng.random(n)
    a.legitimacy_base[:] = rng.random(n)
    a.legitimacy[:] = a.legitimacy_base * rng.uniform(0.5, 1, n)
    a.energy[:] = rng.random(n)


@settings(max_examples=60, deadline=None)
@given(terrains(), st.integers(1, 15), st.booleans(), st.booleans())
def test_engines_agree_on_full_steps_with_decisions(terrain_agents, steps, regroup, dynamics):
    terrain, a0, dt, seed = terrain_agents
    rng = np.random.default_rng(seed)
    _populate(a0, rng)
    cores = []
    for engine in ("numba", "python"):
        d = _decisions(terrain, np.random.default_rng(seed + 1), dt, regroup, dynamics)
        cores.append(Core(terrain, WalkParams(dt=dt, max_speed=2.2), a0.copy(), engine, decisions=d))
    rngs = [np.random.default_rng(seed), np.random.default_rng(seed)]
    n = len(a0)
    injured_before = arrested_before = 0
    dose_before = a0.dose.copy()
    hits = np.random.default_rng(seed + 2)
    for _ in range(steps):
        # force the police's means used on random people since the last step, the same for both engines
        who = np.flatnonzero(cores[0].agents.on_map() & (hits.random(n) < 0.3))
        active = hits.random(who.size) < 0.5
        for c, r in zip(cores, rngs):
            c.saw_force(c.agents.x[who], c.agents.y[who], active)
            c.step(r)
        fast, slow = cores
        assert fast.agents.equals(slow.agents)
        assert np.array_equal(fast.occ, slow.occ)
        assert np.array_equal(fast.decisions.gas.conc, slow.decisions.gas.conc)
        a = fast.agents
        # conservation: everyone is on the map, or left, or arrested
        assert int(a.on_map().sum() + (a.state == LEFT).sum() + (a.state == ARRESTED).sum()) == n
        assert (a.state[~a.on_map()] >= ARRESTED).all()
        assert int(fast.occupied().sum()) == int(a.on_map().sum())
        # injuries and arrests only grow, and the counters match the states
        injured = int((a.state == INJURED).sum())
        arrested = int((a.state == ARRESTED).sum())
        assert injured >= injured_before and arrested >= arrested_before
        assert injured == fast.injured_total and arrested == fast.arrested_total
        assert (a.cause[a.state == INJURED] > 0).all()
        injured_before, arrested_before = injured, arrested
        assert ((a.legitimacy >= 0) & (a.legitimacy <= 1)).all() and ((a.energy >= 0) & (a.energy <= 1)).all()
        if not dynamics:
            assert np.array_equal(a.legitimacy, a0.legitimacy) and np.array_equal(a.energy, a0.energy)
        assert (a.dose >= dose_before).all(), "a dose went down"
        dose_before = a.dose.copy()


def test_epstein_rule_without_police_makes_the_aggrieved_active():
    """No cops in sight -> P = 0 -> active iff G > T."""
    from tests.builders import exit_terrain, leavers

    walk = np.ones((20, 20), np.uint8)
    exits = np.zeros_like(walk, bool)
    exits[0, 0] = True
    _, terrain = exit_terrain(walk, exits)
    a = leavers((np.arange(1, 11), np.full(10, 10)), np.full(10, 1.0))
    a.behaviour[:] = 3  # hold
    a.grievance[:] = np.linspace(0, 0.2, 10)
    d = _decisions(terrain, np.random.default_rng(0), 0.5, False)
    d.gas.conc[:] = 0
    d = dataclasses.replace(d, params=d.params._replace(contagion_per_s=0.0))
    c = Core(terrain, WalkParams(dt=0.5, max_speed=2.2), a, "numba", decisions=d)
    c.decide_with(key=1)
    assert ((a.state == ACTIVE) == (a.grievance > 0.1)).all()


@pytest.mark.parametrize("cops, expected", [(0, ACTIVE), (6, QUIET)])
def test_police_in_sight_deter_activation(cops, expected):
    from tests.builders import exit_terrain, leavers

    walk = np.ones((30, 30), np.uint8)
    exits = np.zeros_like(walk, bool)
    exits[0, 0] = True
    _, terrain = exit_terrain(walk, exits)
    xs = np.concatenate([[15], np.arange(10, 10 + cops)])
    ys = np.concatenate([[15], np.full(cops, 18)])
    a = leavers((xs, ys), np.ones(len(xs)))
    a.behaviour[:] = 3
    a.kind[1:] = POLICE
    a.grievance[0], a.risk[0] = 0.5, 0.9
    d = _decisions(terrain, np.random.default_rng(0), 0.5, False)
    d.gas.conc[:] = 0
    d = dataclasses.replace(d, coarse_factor=2, vision_r=4, params=d.params._replace(projectile_per_s=0.0))
    c = Core(terrain, WalkParams(dt=0.5, max_speed=2.2), a, "numba", decisions=d)
    c.decide_with(key=1)
    assert a.state[0] == expected


@pytest.mark.parametrize("engine", ["numba", "python"])
@pytest.mark.parametrize("arresting, arrested", [(ARREST_ACTIVE, False), (ARREST_ALL, True)])
def test_targeted_officers_let_the_fleeing_go(engine, arresting, arrested):
    """An arrest team for actives only (``ARREST_ACTIVE``) never takes a fleeing person; others do."""
    from tests.builders import exit_terrain, leavers

    walk = np.ones((30, 30), np.uint8)
    exits = np.zeros_like(walk, bool)
    exits[0, 0] = True
    _, terrain = exit_terrain(walk, exits)
    xs, ys = np.array([15, 14, 16, 15, 15]), np.array([15, 15, 15, 14, 16])
    a = leavers((xs, ys), np.ones(5))
    a.behaviour[:] = 3
    a.kind[1:] = POLICE
    a.arresting[1:] = arresting
    a.state[0], a.timer[0] = FLEEING, 100.0
    d = _decisions(terrain, np.random.default_rng(0), 1.0, False)
    d.gas.conc[:] = 0
    d = dataclasses.replace(d, coarse_factor=4, params=d.params._replace(arrest_per_s=1.0, backup=3.0,
                                                                         projectile_per_s=0.0))
    c = Core(terrain, WalkParams(dt=1.0, max_speed=2.2), a, engine, decisions=d)
    c.decide_with(key=1)
    assert (a.state[0] == ARRESTED) == arrested
