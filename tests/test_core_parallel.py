"""What makes the walking step parallel and fast stays exact: bit grids against plain loops, counter-based
draws against their Python twins, and a step on two threads against one thread and the reference."""

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from sim.core.walk import bits
from sim.core import counter_rng
from sim.core.walk.engine import Core, Terrain, WalkParams
from sim.core.walk.strips import PARALLEL_GROUPING_MIN, group_by_strip, plan_slots, turn_sequence
from sim.core.walk.state import FLEEING, LEAVE, MARCH, AgentArrays
from sim.geo.fields import distance_field


@njit(cache=True)
def _window(b, x, y, r):
    return bits.window_count(b, x, y, r)


@njit(cache=True)
def _neighbours(b, x, y):
    return bits.neighbours_taken(b, x, y)


@njit(cache=True)
def _flip_and_get(b, x, y):
    bits.flip(b, x, y)
    return bits.get(b, x, y)


@njit(cache=True)
def _draws(key, i, k):
    return counter_rng.draw64(key, i, k), counter_rng.draw16(key, i, k), counter_rng.uniform(key, i, k)


grids = st.builds(lambda nx, ny, p, seed: np.random.default_rng(seed).random((nx, ny)) < p,
                  st.integers(1, 40), st.integers(1, 150), st.floats(0, 1), st.integers(0, 2**32 - 1))


@settings(max_examples=80, deadline=None)
@given(grids, st.data())
def test_bit_grids_count_like_plain_loops(mask, data):
    nx, ny = mask.shape
    b = bits.pack(mask)
    assert (bits.unpack(b, mask.shape) == mask).all()
    x = data.draw(st.integers(0, nx - 1))
    y = data.draw(st.integers(0, ny - 1))
    r = data.draw(st.integers(0, bits.PAD))
    in_window = mask[max(x - r, 0):x + r + 1, max(y - r, 0):y + r + 1].sum()
    assert _window(b, x, y, r) == in_window
    got = _neighbours(b, x, y)
    for d in range(8):
        qx, qy = x + bits.DX[d], y + bits.DY[d]
        inside = 0 <= qx < nx and 0 <= qy < ny
        assert (got >> d) & 1 == (inside and mask[qx, qy])
    assert _flip_and_get(b, x, y) == (not mask[x, y])
    mask[x, y] = not mask[x, y]
    assert (bits.unpack(b, mask.shape) == mask).all(), "a flip touches one cell only"


@settings(deadline=None)  # the first call compiles
@given(st.integers(0, 2**63 - 1), st.integers(0, 10**7), st.integers(0, counter_rng.STRIDE - 1))
def test_counter_draws_are_the_same_in_both_engines(key, i, k):
    d64, d16, u = _draws(key, i, k)
    assert int(d64) == counter_rng.draw64_py(key, i, k)
    assert d16 == counter_rng.draw16_py(key, i, k)
    assert u == counter_rng.uniform_py(key, i, k) and 0.0 <= u < 1.0


def test_counter_draws_look_uniform():
    u = np.array([counter_rng.uniform_py(12345, i, k) for i in range(2000) for k in range(5)])
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert ((counts > 850) & (counts < 1150)).all()  # 1000 expected per bin; 5 sigma is +-150
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.05


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 500), st.integers(1, 12), st.integers(0, 29), st.integers(0, 1), st.integers(1, 4),
       st.integers(0, 2**32 - 1))
def test_strips_partition_the_order_and_slots_cover_each_strip_once(n, nstrips, offset, first, slots, seed):
    rng = np.random.default_rng(seed)
    width = 30
    x = rng.integers(-1, (nstrips - 1) * width, n).astype(np.int32)  # -1: off the map
    grouped, ptr = group_by_strip(x, width, offset, nstrips)
    strip = np.where(x < 0, 0, (x.astype(np.int64) + offset) // width)
    assert list(grouped) == sorted(range(n), key=lambda i: (strip[i], i))  # by strip, then by index
    assert list(np.diff(ptr)) == list(np.bincount(strip, minlength=nstrips))
    sequence = turn_sequence(x, width, offset, nstrips, first, seed)
    phases = [s for phase in (first, 1 - first) for s in range(phase, nstrips, 2)]
    assert sorted(sequence) == list(range(n))
    assert list(strip[sequence]) == [s for s in phases for _ in range(ptr[s + 1] - ptr[s])]
    slot_ptr, slot_strips = plan_slots(ptr, slots, first)
    for p, phase in enumerate((first, 1 - first)):
        got = slot_strips[slot_ptr[p * slots]:slot_ptr[(p + 1) * slots]]
        assert sorted(got) == [s for s in range(phase, nstrips, 2) if ptr[s + 1] > ptr[s]]


def test_large_crowds_are_grouped_in_parallel_to_the_same_order():
    n = 3 * PARALLEL_GROUPING_MIN
    x = np.random.default_rng(5).integers(-1, 29 * 30, n).astype(np.int32)
    grouped, ptr = group_by_strip(x, 30, 7, 31)
    strip = np.where(x < 0, 0, (x.astype(np.int64) + 7) // 30)
    assert np.array_equal(grouped, np.lexsort((np.arange(n), strip)))  # by strip, then by index
    assert np.array_equal(np.diff(ptr), np.bincount(strip, minlength=31))


def test_turns_within_a_strip_are_uniformly_shuffled():
    x = np.zeros(5, np.int32)  # one strip of five agents
    orders = [tuple(turn_sequence(x, 30, 0, 1, 0, key)) for key in range(5000)]
    firsts = np.bincount([order[0] for order in orders], minlength=5)
    assert ((firsts > 850) & (firsts < 1150)).all(), firsts  # 1000 each expected
    orders = set(orders)
    assert len(orders) > 110  # nearly all 120 permutations turn up


@st.composite
def wide_terrains(draw):
    """A terrain many strips wide (a street grid with blocks), a crowd over it, some fleeing (running)."""
    nx = draw(st.integers(120, 260))
    ny = draw(st.integers(12, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    walk = np.ones((nx, ny), np.uint8)
    for bx in range(6, nx - 6, 14):  # blocks of buildings leave streets between them
        for by in range(3, ny - 3, 11):
            if rng.random() < 0.6:
                walk[bx:bx + rng.integers(3, 9), by:by + rng.integers(2, 7)] = 0
    place_id = np.full((nx, ny), -1, np.int16)
    place_id[nx // 2 - 5:nx // 2 + 5, :] = 0
    walk[place_id == 0] = 1
    place_id[[0, -1], :] = 1
    walk[place_id == 1] = 1
    fields = np.stack([distance_field(walk, place_id == 0, 0.5), distance_field(walk, place_id == 1, 0.5)])
    terrain = Terrain(walk, place_id, (place_id == 1).astype(np.uint8), fields, np.array([0, -1], np.int16), 0.5)
    free = np.flatnonzero((walk == 1).ravel() & (place_id.ravel() != 1))
    n = draw(st.integers(10, min(600, free.size)))
    a = AgentArrays.empty(n)
    a.x[:], a.y[:] = np.unravel_index(rng.choice(free, n, replace=False), (nx, ny))
    a.behaviour[:] = rng.choice([MARCH, LEAVE], n)
    a.target[:] = np.where(a.behaviour == LEAVE, 1, 0)
    a.state[:] = np.where(rng.random(n) < 0.3, FLEEING, 0)
    a.speed[:] = rng.uniform(0.5, 2.2, n)
    return terrain, a, seed


@settings(max_examples=12, deadline=None)
@given(wide_terrains(), st.integers(5, 25))
def test_two_threads_one_thread_and_the_reference_agree(terrain_agents, steps):
    terrain, a0, seed = terrain_agents
    params = WalkParams(dt=0.5, max_speed=2.2)
    cores = [Core(terrain, params, a0.copy(), engine) for engine in ("numba", "numba", "python")]
    assert cores[0].walking.strips >= 4
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        plan = cores[0].plan_step(rng)
        left = []
        for core, nthreads in zip(cores, (numba.config.NUMBA_NUM_THREADS, 1, 1)):
            before = numba.get_num_threads()
            numba.set_num_threads(nthreads)
            try:
                left.append(core.step_with(plan))
            finally:
                numba.set_num_threads(before)
        assert left[0] == left[1] == left[2]
        assert cores[0].agents.equals(cores[1].agents) and cores[0].agents.equals(cores[2].agents)
        assert np.array_equal(cores[0].occ, cores[2].occ)
