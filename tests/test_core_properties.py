"""Invariants of the core on random small terrains, and the numba engine against the Python reference."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.walk.engine import Core, Terrain, WalkParams
from sim.core.walk.state import HOLD, LEAVE, LEFT, MARCH, RALLY, AgentArrays
from sim.geo.fields import distance_field


@st.composite
def terrains(draw):
    """A random walled grid with a square (place 0), an exit (place 1) and a crowd on it."""
    nx = draw(st.integers(4, 16))
    ny = draw(st.integers(4, 16))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    walk = (rng.random((nx, ny)) > draw(st.floats(0.0, 0.4))).astype(np.uint8)
    place_id = np.full((nx, ny), -1, np.int16)
    sx, sy = rng.integers(0, nx - 1), rng.integers(0, ny - 1)
    place_id[sx: sx + 3, sy: sy + 3] = 0
    walk[sx: sx + 3, sy: sy + 3] = 1
    border = np.zeros((nx, ny), bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    exits = border & (rng.random((nx, ny)) < 0.3) & (place_id < 0)
    if not exits.any():
        exits[0, 0] = place_id[0, 0] < 0
        exits[-1, -1] = place_id[-1, -1] < 0
    walk[exits] = 1
    place_id[exits] = 1
    fields = np.stack([distance_field(walk, place_id == 0, 0.5), distance_field(walk, place_id == 1, 0.5)])
    terrain = Terrain(walk, place_id, (place_id == 1).astype(np.uint8), fields, np.array([0, -1], np.int16), 0.5)

    free = np.flatnonzero((walk == 1).ravel() & (place_id.ravel() != 1))
    n = draw(st.integers(1, max(1, free.size)))
    cells = rng.choice(free, size=min(n, free.size), replace=False)
    a = AgentArrays.empty(cells.size)
    a.x[:], a.y[:] = np.unravel_index(cells, (nx, ny))
    a.behaviour[:] = rng.choice([RALLY, MARCH, LEAVE, HOLD], size=cells.size)
    a.target[:] = np.where(a.behaviour == LEAVE, 1, 0)
    a.speed[:] = rng.uniform(0.5, 2.2, cells.size)
    dt = draw(st.sampled_from([0.25, 0.5, 1.0]))
    return terrain, a, dt, seed


def _assert_consistent(terrain: Terrain, a: AgentArrays, occupied: np.ndarray, n0: int, left_so_far: int) -> None:
    on = a.on_map()
    assert len(a) == n0
    assert int((a.state == LEFT).sum()) == left_so_far == int((~on).sum())
    xs, ys = a.x[on], a.y[on]
    assert (terrain.walkable[xs, ys] == 1).all(), "an agent stands on a wall"
    assert len(set(zip(xs.tolist(), ys.tolist()))) == on.sum(), "two agents share a cell"
    assert occupied[xs, ys].all() and int(occupied.sum()) == int(on.sum()), "the occupancy grid is off"
    assert (terrain.is_exit[xs, ys] == 0).all(), "an agent stays on an exit"


@settings(max_examples=60, deadline=None)
@given(terrains(), st.integers(1, 25))
def test_engines_agree_and_invariants_hold(terrain_agents, steps):
    terrain, a0, dt, seed = terrain_agents
    params = WalkParams(dt=dt, max_speed=2.2)
    fast = Core(terrain, params, a0.copy(), "numba")
    slow = Core(terrain, params, a0.copy(), "python")
    rng = np.random.default_rng(seed)
    left = 0
    for _ in range(steps):
        plan = fast.plan_step(rng)
        left_fast = fast.step_with(plan)
        left_slow = slow.step_with(plan)
        assert left_fast == left_slow
        assert fast.agents.equals(slow.agents)
        assert np.array_equal(fast.occ, slow.occ)
        left += left_fast
        _assert_consistent(terrain, fast.agents, fast.occupied(), len(a0), left)
        assert (fast.agents.budget >= 0).all()


@settings(max_examples=25, deadline=None)
@given(terrains())
def test_same_seed_same_trajectory(terrain_agents):
    terrain, a0, dt, seed = terrain_agents
    runs = []
    for _ in range(2):
        c = Core(terrain, WalkParams(dt=dt, max_speed=2.2), a0.copy(), "numba")
        rng = np.random.default_rng(seed)
        trail = []
        for _ in range(10):
            c.step(rng)
            trail.append((c.agents.x.copy(), c.agents.y.copy()))
        runs.append(trail)
    for (x1, y1), (x2, y2) in zip(*runs):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)


@settings(max_examples=25, deadline=None)
@given(terrains())
def test_rally_and_hold_agents_never_leave_their_place_once_in_it(terrain_agents):
    """Milling stays inside; holding walks only further in (or aside along the place's level)."""
    terrain, a0, dt, seed = terrain_agents
    c = Core(terrain, WalkParams(dt=dt, max_speed=2.2), a0.copy(), "numba")
    rng = np.random.default_rng(seed)
    a = c.agents
    for _ in range(15):
        inside = a.on_map() & (terrain.place_id[a.x, a.y] == 0) & np.isin(a.behaviour, [RALLY, HOLD])
        c.step(rng)
        assert (terrain.place_id[a.x[inside], a.y[inside]] == 0).all()
