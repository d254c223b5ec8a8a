"""The continuous walking core (Collision-Free Speed Model): the numba kernel against the
plain-Python reference, its invariants on random floors, and the model's rules on cases with
known answers."""

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.continuous.cells import build_cell_list, build_cell_list_near
from sim.core.continuous.directions import desired_direction, direction_grids
from sim.core.continuous.engine import ContinuousCore, floor_from_raster, params_for
from sim.core.continuous.state import Crowd
from sim.core.continuous.walls import point_segment_distance, raster_segments
from sim.geo.fields import distance_field

CELL = 0.5
PAIR_TOLERANCE_M = 0.01  # discs may overlap by this much (the model avoids collisions ahead, not sideways)
WALL_TOLERANCE_M = 0.1  # a disc may press this far into a wall at dt <= 0.05 s (walls only repel)


@st.composite
def floors(draw):
    """A random walled raster with exits on its border and a crowd, one agent per free cell centre."""
    nx, ny = draw(st.integers(6, 24)), draw(st.integers(6, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    walk = (rng.random((nx, ny)) > draw(st.floats(0.0, 0.35))).astype(np.uint8)
    exits = np.zeros((nx, ny), bool)
    exits[-1, rng.integers(0, ny)] = True
    exits[rng.integers(0, nx), 0] = True
    walk[exits] = 1
    field = distance_field(walk, exits, CELL)
    free = np.flatnonzero((walk == 1).ravel() & ~exits.ravel() & np.isfinite(field).ravel())
    if free.size == 0:
        free = np.flatnonzero((walk == 1).ravel() & ~exits.ravel())
    n = min(draw(st.integers(1, 80)), free.size)
    cells = rng.choice(free, size=n, replace=False)
    crowd = Crowd.empty(n)
    cx, cy = np.unravel_index(cells, (nx, ny))
    crowd.x[:], crowd.y[:] = (cx + 0.5) * CELL, (cy + 0.5) * CELL
    crowd.radius[:] = rng.uniform(0.15, 0.25, n)
    crowd.v0[:] = rng.uniform(0.0, 2.0, n)
    crowd.time_gap[:] = rng.uniform(0.5, 1.5, n)
    crowd.target[:] = np.where(rng.random(n) < 0.9, 0, -1)
    params = params_for(crowd)
    floor = floor_from_raster(walk, exits.astype(np.uint8), field[None], CELL, params.cutoff_m)
    return floor, params, crowd, draw(st.sampled_from([0.01, 0.025, 0.05]))


def _wall_clearance(floor, x, y, r):
    w = floor.walls
    return np.array([min(point_segment_distance(px, py, w.x0[k], w.y0[k], w.x1[k], w.y1[k])
                         for k in range(len(w.x0))) - pr for px, py, pr in zip(x, y, r)])


@settings(max_examples=40, deadline=None)
@given(floors(), st.integers(1, 30))
def test_the_kernel_and_the_reference_agree_bit_for_bit(case, steps):
    floor, params, crowd, dt = case
    fast = ContinuousCore(floor, params, crowd.copy(), "numba")
    slow = ContinuousCore(floor, params, crowd.copy(), "python")
    for _ in range(steps):
        assert fast.step(dt) == slow.step(dt)
        assert fast.crowd.equals(slow.crowd)
        assert np.array_equal(fast.gone, slow.gone)


@settings(max_examples=40, deadline=None)
@given(floors(), st.integers(5, 80))
def test_nobody_overlaps_enters_a_wall_or_walks_faster_than_v0(case, steps):
    floor, params, crowd, dt = case
    core = ContinuousCore(floor, params, crowd.copy(), "numba")
    for _ in range(steps):
        x0, y0, on0 = core.crowd.x.copy(), core.crowd.y.copy(), core.crowd.active == 1
        core.step(dt)
        c = core.crowd
        moved = on0 & (c.active == 1)
        speed = np.hypot(c.x - x0, c.y - y0) / dt
        assert (speed[moved] <= c.v0[moved] * (1 + 1e-12) + 1e-12).all(), "faster than v0"
        on = np.flatnonzero(c.active == 1)
        for a in range(on.size):
            i = on[a]
            d = np.hypot(c.x[on[a + 1:]] - c.x[i], c.y[on[a + 1:]] - c.y[i])
            assert (d >= c.radius[i] + c.radius[on[a + 1:]] - PAIR_TOLERANCE_M).all(), "two agents overlap"
        if on.size:
            clearance = _wall_clearance(floor, c.x[on], c.y[on], c.radius[on])
            assert (clearance >= -WALL_TOLERANCE_M).all(), f"pressed {-clearance.min():.3f} m into a wall"


def test_results_do_not_depend_on_the_number_of_threads():
    walk = np.ones((60, 30), np.uint8)
    exits = np.zeros_like(walk)
    exits[-1, :] = 1
    rng = np.random.default_rng(3)
    crowd = Crowd.empty(400)
    cells = rng.choice(50 * 30, 400, replace=False)
    crowd.x[:], crowd.y[:] = (cells // 30 + 0.5) * CELL, (cells % 30 + 0.5) * CELL
    params = params_for(crowd)
    floor = floor_from_raster(walk, exits, distance_field(walk, exits, CELL)[None], CELL, params.cutoff_m)
    runs = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            core = ContinuousCore(floor, params, crowd.copy())
            for _ in range(50):
                core.step(0.05)
            runs.append(core.crowd)
    finally:
        numba.set_num_threads(before)
    assert all(r.equals(runs[0]) for r in runs)


def test_the_cell_list_holds_everyone_within_the_cut_off_in_the_nine_cells_around():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 20, 500), rng.uniform(0, 10, 500)
    active = (rng.random(500) < 0.9).astype(np.uint8)
    side, cx, cy = 2.0, 10, 5
    start, members = build_cell_list(x, y, active, side, cx, cy)
    assert sorted(members.tolist()) == np.flatnonzero(active).tolist()
    for i in np.flatnonzero(active)[:100]:
        ci, cj = int(x[i] // side), int(y[i] // side)
        near = {int(j) for di in (-1, 0, 1) for dj in (-1, 0, 1) if 0 <= ci + di < cx and 0 <= cj + dj < cy
                for j in members[start[(ci + di) * cy + cj + dj]:start[(ci + di) * cy + cj + dj + 1]]}
        within = set(np.flatnonzero(active & (np.hypot(x - x[i], y - y[i]) < side)).tolist())
        assert within <= near
    for c in range(cx * cy):
        assert list(members[start[c]:start[c + 1]]) == sorted(members[start[c]:start[c + 1]])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 400), st.integers(1, 30), st.integers(1, 30))
def test_the_sparse_cell_list_gives_the_full_lists_runs_wherever_a_step_reads_them(seed, n, cx, cy):
    """Same members in the same order, and the same start at both ends of every column run a step
    reads around an occupied cell (off-map points clamp to the edge cells in both)."""
    rng = np.random.default_rng(seed)
    side, reach = 1.0, 2
    x, y = rng.uniform(-1, cx + 1, n), rng.uniform(-1, cy + 1, n)
    active = (rng.random(n) < 0.8).astype(np.uint8)
    start, members = build_cell_list(x, y, active, side, cx, cy)
    sparse_start = np.full(cx * cy + 1, -7, dtype=np.int64)  # stale values: must not be what is read
    for _ in range(2):  # the second call starts from the first's starts, as steps do
        sparse_members = build_cell_list_near(x, y, active, side, cx, cy, reach, sparse_start)
        assert sparse_members.tolist() == members.tolist()
        for i in np.flatnonzero(active):
            ci, cj = min(max(int(x[i] // side), 0), cx - 1), min(max(int(y[i] // side), 0), cy - 1)
            for ni in range(max(ci - reach, 0), min(ci + reach, cx - 1) + 1):
                for c in (ni * cy + max(cj - reach, 0), ni * cy + min(cj + reach, cy - 1) + 1):
                    assert sparse_start[c] == start[c]
        x, y = x + rng.normal(0, 1.5, n), y + rng.normal(0, 1.5, n)
        start, members = build_cell_list(x, y, active, side, cx, cy)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3000), st.sampled_from([1, 7, 2048, 2049, 5_000_000, 2**40]))
def test_the_radix_sort_of_cell_numbers_is_a_stable_sort(seed, n, keys_below):
    """As a stable argsort, for cell numbers of one pass (<= 2048), two and four."""
    from sim.core.continuous.cells import _sort_by_key

    rng = np.random.default_rng(seed)
    key = rng.integers(0, keys_below, n, dtype=np.int64)
    if n and keys_below > 1:
        key[rng.integers(0, n, n // 3)] = keys_below - 1  # the largest key, and many ties
    who = rng.permutation(n).astype(np.int64)
    keys, members = _sort_by_key(key, who, keys_below)
    order = np.argsort(key, kind="stable")
    assert np.array_equal(keys, key[order]) and np.array_equal(members, who[order])


@settings(max_examples=20, deadline=None)
@given(floors(), st.integers(1, 8))
def test_who_stands_still_is_skipped_whole_in_the_kernel_and_the_reference_alike(case, steps):
    """v0 = 0: position and direction unchanged, in the kernel and the reference alike."""
    floor, params, crowd, dt = case
    still = np.arange(len(crowd)) % 3 == 0
    crowd.v0[still] = 0.0
    crowd.ex[:], crowd.ey[:] = 0.6, 0.8
    fast = ContinuousCore(floor, params, crowd.copy(), "numba")
    slow = ContinuousCore(floor, params, crowd.copy(), "python")
    for _ in range(steps):
        assert fast.step(dt) == slow.step(dt)
        assert fast.crowd.equals(slow.crowd)
    stayed = still & (fast.crowd.active == 1)
    assert np.array_equal(fast.crowd.x[stayed], crowd.x[stayed]) and np.all(fast.crowd.ex[stayed] == 0.6)


def test_a_walled_room_becomes_its_four_walls_and_a_door_splits_one():
    walk = np.zeros((6, 4), np.uint8)
    walk[1:5, 1:3] = 1
    seg = raster_segments(walk, 0.5)
    assert len(seg) == 4
    assert {tuple(s) for s in seg} == {(0.5, 0.5, 2.5, 0.5), (0.5, 1.5, 2.5, 1.5), (0.5, 0.5, 0.5, 1.5),
                                       (2.5, 0.5, 2.5, 1.5)}
    walk[5, 1] = 1  # a door in the east wall, floor up to the map's edge
    seg = {tuple(s) for s in raster_segments(walk, 0.5)}
    assert (2.5, 1.0, 2.5, 1.5) in seg and (3.0, 0.5, 3.0, 1.0) in seg and (2.5, 0.5, 2.5, 1.5) not in seg


def test_desired_directions_follow_the_field_and_blend_smoothly():
    walk = np.ones((20, 10), np.uint8)
    exits = np.zeros_like(walk)
    exits[-1, :] = 1
    grids = direction_grids(distance_field(walk, exits, CELL)[None], CELL)
    for x, y in [(1.0, 1.0), (3.3, 2.7), (7.9, 4.9)]:
        ex, ey = desired_direction(grids, 0, x, y, CELL)
        assert ex == pytest.approx(1.0) and ey == pytest.approx(0.0, abs=1e-9)
    # towards a point target the direction turns smoothly: within a cell it differs from its neighbours' little
    target = np.zeros_like(walk)
    target[10, 5] = 1
    grids = direction_grids(distance_field(walk, target, CELL)[None], CELL)
    xs = np.linspace(0.6, 4.4, 200)
    angles = np.unwrap([math.atan2(*desired_direction(grids, 0, x, 1.3, CELL)[::-1]) for x in xs])
    assert np.abs(np.diff(angles)).max() < 0.05
    assert desired_direction(grids, -1, 1.0, 1.0, CELL) == (0.0, 0.0)


def _corridor(length_cells=200, width_cells=8):
    walk = np.ones((length_cells, width_cells), np.uint8)
    exits = np.zeros_like(walk)
    exits[-1, :] = 1
    return walk, exits


def test_a_lone_walker_walks_at_its_free_speed():
    walk, exits = _corridor()
    crowd = Crowd.empty(1)
    crowd.x[:], crowd.y[:], crowd.v0[:] = 2.0, 2.0, 1.34
    params = params_for(crowd)
    core = ContinuousCore(floor_from_raster(walk, exits, distance_field(walk, exits, CELL)[None], CELL,
                                            params.cutoff_m), params, crowd)
    for _ in range(100):
        core.step(0.1)
    assert core.crowd.x[0] == pytest.approx(2.0 + 1.34 * 10.0, abs=1e-9)
    assert core.crowd.y[0] == pytest.approx(2.0, abs=1e-12)


def test_a_follower_walks_at_its_gap_over_the_time_gap():
    """Speed = min(v0, max(0, s / T)): a standing leader 0.9 m ahead (gap 0.5 m) and T = 1 s -> 0.5 m/s."""
    walk, exits = _corridor()
    crowd = Crowd.empty(2)
    crowd.x[:], crowd.y[:] = [2.0, 2.9], [2.0, 2.0]
    crowd.v0[:] = [1.34, 0.0]
    params = params_for(crowd)
    core = ContinuousCore(floor_from_raster(walk, exits, distance_field(walk, exits, CELL)[None], CELL,
                                            params.cutoff_m), params, crowd)
    core.step(0.01)
    # the leader pushes the follower's direction a little (8 exp(-5) ~ 0.05 against a unit desire)
    assert core.crowd.ex[0] == pytest.approx(1.0) and core.crowd.x[0] - 2.0 == pytest.approx(0.5 * 0.01, rel=1e-9)
    assert core.crowd.x[1] == 2.9


@settings(max_examples=15, deadline=None)
@given(floors(), st.integers(1, 10))
def test_an_agent_with_more_neighbours_than_its_scratch_holds_searches_again_with_the_same_result(case, steps):
    from sim.core.continuous.kernel import scratch

    floor, params, crowd, dt = case
    fast = ContinuousCore(floor, params, crowd.copy(), "numba")
    fast._scratch = scratch(numba.config.NUMBA_NUM_THREADS, floor.walls, neighbours=1)
    slow = ContinuousCore(floor, params, crowd.copy(), "python")
    for _ in range(steps):
        assert fast.step(dt) == slow.step(dt)
        assert fast.crowd.equals(slow.crowd)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.floats(0.5, 2.0))
def test_local_density_counts_as_a_plain_pairwise_loop(seed, n, radius):
    """Everyone within the radius (itself included) per m2; with keys, only the same key; with
    ``ask``, only those asked get a number."""
    from sim.core.continuous.local_density import local_density

    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 12, n), rng.uniform(0, 6, n)
    active = (rng.random(n) < 0.85).astype(np.uint8)
    key_self, key_other = rng.integers(0, 3, n), rng.integers(-1, 3, n)
    ask = active & (rng.random(n) < 0.5)
    near = (np.hypot(x[:, None] - x[None], y[:, None] - y[None]) <= radius) & (active[None] == 1)
    same = (key_other[None] == key_self[:, None]) | np.eye(n, dtype=bool)
    area = math.pi * radius * radius
    plain = np.where(active == 1, near.sum(1), 0) / area
    keyed = np.where(ask == 1, (near & same).sum(1), 0) / area
    assert np.allclose(local_density(x, y, active, (12.0, 6.0), radius), plain, rtol=0, atol=1e-12)
    got = local_density(x, y, active, (12.0, 6.0), radius, key_self=key_self, key_other=key_other,
                        ask=ask.astype(np.uint8))
    assert np.allclose(got, keyed, rtol=0, atol=1e-12)


def test_a_crowd_standing_still_keeps_every_state_and_still_leaves_from_an_exit_cell():
    """All v0 = 0: the engine skips the kernel, with the kernel's answer (and the reference's)."""
    walk, exits = _corridor(40, 8)
    crowd = Crowd.empty(3)
    crowd.x[:], crowd.y[:], crowd.v0[:] = [2.0, 2.5, 19.9], [2.0, 2.0, 2.0], 0.0
    crowd.ex[:] = 0.6
    params = params_for(crowd)
    floor = floor_from_raster(walk, exits, distance_field(walk, exits, CELL)[None], CELL, params.cutoff_m)
    fast, slow = ContinuousCore(floor, params, crowd.copy()), ContinuousCore(floor, params, crowd.copy(), "python")
    assert fast.step(0.05) == slow.step(0.05) == 1  # the one on the exit cell leaves
    assert fast.crowd.equals(slow.crowd) and fast.crowd.x[0] == 2.0 and fast.crowd.ex[1] == 0.6
