"""Epstein core: the numba kernels and the plain-Python reference agree bit for bit, on any
thread count, the parallel kernels, their serial twins and the two-worker runs alike; counts from
summed-area tables equal window scans; a step keeps its invariants; a run in one call equals its
steps; bands of one colour never share a cell their agents see."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core import spin
from sim.core.activation import FLOOR, ROUND_HALF_EVEN, cop_ratio_py
from sim.core.counter_rng import new_key
from sim.core.epstein import engine
from sim.core.epstein.cells import ACTIVE_CITIZEN, COP_CELL, FREE, STAYS, build_cells
from sim.core.epstein.counts import COUNT_BITS, window_counts
from sim.core.epstein.engine import PARALLEL_CELLS, Kernels
from sim.core.epstein.kernels import PARALLEL, SERIAL
from sim.core.epstein.reference import Reference
from sim.core.epstein.world import (CITIZEN, COP, KEEP_CELL, LEAVE_GRID, MOORE, VON_NEUMANN, CitizenState, Rules, World,
                                    move_bands, populate, window_offsets)

BUILDS = {"SERIAL": SERIAL, "PARALLEL": PARALLEL}


def _rules(w, h, cv, pv, neighbourhood, rounding, jail_mode, max_jail=8, movement=True):
    return Rules(width=w, height=h, citizen_vision=cv, cop_vision=pv, neighbourhood=neighbourhood,
                 rounding=rounding, jail_mode=jail_mode, k=2.3, threshold=0.1, max_jail_term=max_jail,
                 movement=movement)


def _assert_same(a: World, b: World, step: int) -> None:
    for name in World.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x, y), f"{name} differs after step {step} at {np.argwhere(x != y)[:5].tolist()}"


@st.composite
def configs(draw):
    w = draw(st.integers(5, 22))
    h = draw(st.integers(5, 14))
    vmax = min(3, (min(w, h) - 1) // 2)
    return dict(
        rules=_rules(w, h, draw(st.integers(1, vmax)), draw(st.integers(1, vmax)),
                     draw(st.sampled_from([VON_NEUMANN, MOORE])), draw(st.sampled_from([FLOOR, ROUND_HALF_EVEN])),
                     draw(st.sampled_from([KEEP_CELL, LEAVE_GRID])), max_jail=draw(st.integers(0, 6)),
                     movement=draw(st.booleans())),
        densities=(draw(st.floats(0.2, 0.75)), draw(st.floats(0.0, 0.2))),
        legitimacy=draw(st.floats(0.3, 0.95)),
        steps=draw(st.integers(1, 6)),
        seed=draw(st.integers(0, 2**32 - 1)),
        kernels=draw(st.sampled_from(["SERIAL", "PARALLEL"])),
    )


@settings(max_examples=60, deadline=None)
@given(configs())
def test_numba_and_reference_agree_exactly(cfg):
    rules, rng = cfg["rules"], np.random.default_rng(cfg["seed"])
    fast = populate(rules.width, rules.height, *cfg["densities"], rng)
    slow = fast.copy()
    kernels, reference = Kernels(rules, fast), Reference(rules, slow)
    kernels.kernels = BUILDS[cfg["kernels"]]  # small grids step on the serial twins; check both
    for step in range(cfg["steps"]):
        keys = (new_key(rng), new_key(rng), new_key(rng))
        kernels.step(fast, cfg["legitimacy"], keys)
        counts = kernels.state_counts(fast)  # from the cells, before the agent arrays are synced
        kernels.sync(fast)
        reference.step(slow, cfg["legitimacy"], keys)
        _assert_same(fast, slow, step)
        assert counts == reference.state_counts(slow)


@pytest.mark.parametrize("variant", ["SERIAL", "PARALLEL"])
@pytest.mark.parametrize("neighbourhood,jail_mode", [(VON_NEUMANN, LEAVE_GRID), (MOORE, KEEP_CELL)])
def test_numba_and_reference_agree_on_a_wider_grid(neighbourhood, jail_mode, variant):
    """Windows far from the seam (the kernels' flat fast paths), several blocks of the arrests' map,
    different visions for citizens and cops, and outbursts with arrests."""
    rules = _rules(53, 44, 6, 4, neighbourhood, ROUND_HALF_EVEN, jail_mode, max_jail=3)
    rng = np.random.default_rng(17)
    fast = populate(rules.width, rules.height, 0.68, 0.05, rng)
    slow = fast.copy()
    kernels, reference = Kernels(rules, fast), Reference(rules, slow)
    kernels.kernels = BUILDS[variant]
    arrests = 0
    for step in range(4):
        keys = (new_key(rng), new_key(rng), new_key(rng))
        before = fast.state.copy()
        kernels.step(fast, 0.45, keys)
        kernels.sync(fast)
        reference.step(slow, 0.45, keys)
        _assert_same(fast, slow, step)
        arrests += int(np.count_nonzero((fast.state == CitizenState.JAILED) & (before != CitizenState.JAILED)))
    assert arrests > 0


@pytest.mark.parametrize("variant", ["SERIAL", "PARALLEL"])
def test_a_run_in_one_call_equals_its_steps(variant):
    """``Kernels.run`` (a batch of steps in one call) gives the steps' worlds, and after each the
    counts ``state_counts`` would."""
    rules = _rules(34, 29, 4, 3, VON_NEUMANN, ROUND_HALF_EVEN, LEAVE_GRID, max_jail=5)
    rng = np.random.default_rng(8)
    one = populate(rules.width, rules.height, 0.7, 0.06, rng)
    batch = one.copy()
    stepper, runner = Kernels(rules, one), Kernels(rules, batch)
    stepper.kernels = runner.kernels = BUILDS[variant]
    legitimacies = np.linspace(0.8, 0.4, 9)
    keys = rng.integers(0, 1 << 63, size=(9, 3), dtype=np.int64)
    counts = []
    for legitimacy, k in zip(legitimacies, keys):
        stepper.step(one, float(legitimacy), tuple(int(v) for v in k))
        counts.append(stepper.state_counts(one))
    tally = runner.run(batch, legitimacies, keys)
    stepper.sync(one)
    runner.sync(batch)
    _assert_same(one, batch, 9)
    assert tally.tolist() == [list(c) for c in counts] and len({c[1] for c in counts}) > 1


@pytest.mark.skipif(not spin.AVAILABLE, reason="the two-worker path needs x86 (pause, rdtsc)")
@settings(max_examples=40, deadline=None)
@given(configs(), st.sampled_from([1, 2]))
def test_a_run_on_two_workers_agrees_with_the_reference(cfg, threads):
    """The two-worker run of small grids (``sim.core.epstein.duo``) gives the reference's worlds and counts; with
    one thread its first worker runs alone, and a second that never came does nothing."""
    rules, rng = cfg["rules"], np.random.default_rng(cfg["seed"])
    fast = populate(rules.width, rules.height, *cfg["densities"], rng)
    slow = fast.copy()
    kernels, reference = Kernels(rules, fast), Reference(rules, slow)
    steps = cfg["steps"]
    legitimacies = np.linspace(cfg["legitimacy"], cfg["legitimacy"] / 2, steps)
    keys = rng.integers(0, 1 << 63, size=(steps, 3), dtype=np.int64)
    kernels.duo = True
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        tally = kernels.run(fast, legitimacies, keys)
    finally:
        numba.set_num_threads(before)
    kernels.sync(fast)
    assert tally.tolist() == reference.run(slow, legitimacies, keys).tolist()
    _assert_same(fast, slow, steps)


def test_where_two_workers_cannot_run_a_run_takes_one_even_if_asked(monkeypatch):
    """Off x86 (``spin.AVAILABLE`` false) ``Kernels.run`` never compiles the two-worker kernel, even with
    ``duo`` forced on, and still agrees with the reference."""
    monkeypatch.setattr(spin, "AVAILABLE", False)
    monkeypatch.setattr(engine, "duo_run_kernel", None)  # calling it would fail the test
    rules = _rules(30, 27, 3, 3, VON_NEUMANN, ROUND_HALF_EVEN, LEAVE_GRID, max_jail=4)
    rng = np.random.default_rng(3)
    fast = populate(rules.width, rules.height, 0.7, 0.06, rng)
    slow = fast.copy()
    kernels, reference = Kernels(rules, fast), Reference(rules, slow)
    kernels.duo = True
    legitimacies = np.linspace(0.8, 0.4, 6)
    keys = rng.integers(0, 1 << 63, size=(6, 3), dtype=np.int64)
    tally = kernels.run(fast, legitimacies, keys)
    kernels.sync(fast)
    assert tally.tolist() == reference.run(slow, legitimacies, keys).tolist()
    _assert_same(fast, slow, 6)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 400), st.integers(0, 40))
def test_move_bands_of_one_colour_share_no_cell_their_agents_see(width, vision):
    """Bands cover the columns once; bands of one colour are more than 2 * vision columns apart, also
    across the seam; two threads get two bands a colour wherever some colouring allows it."""
    bounds, k = move_bands(width, vision)
    n = len(bounds) - 1
    assert bounds[0] == 0 and bounds[-1] == width and np.all(np.diff(bounds) > 0) and n % k == 0
    v = max(vision, 1)
    if n > 1:
        for b in range(n):  # columns from the end of band b to the start of the next of its colour
            gap = (bounds[(b + k) % n] - bounds[b + 1]) % width if n > k else None
            assert gap is None or gap >= 2 * v
        assert n >= 3
    best = max(width // (c * -(-2 * v // (c - 1))) for c in range(3, 2 * v + 2))
    assert (n // k >= 2) == (best >= 2)


def _run(rules, threads, steps=12, seed=5):
    rng = np.random.default_rng(seed)
    world = populate(rules.width, rules.height, 0.7, 0.05, rng)
    kernels = Kernels(rules, world)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        for _ in range(steps):
            kernels.step(world, 0.7, (new_key(rng), new_key(rng), new_key(rng)))
            kernels.sync(world)
    finally:
        numba.set_num_threads(before)
    return world


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
@pytest.mark.parametrize("neighbourhood", [VON_NEUMANN, MOORE])
def test_result_does_not_depend_on_thread_count(neighbourhood):
    rules = _rules(520, 490, 4, 5, neighbourhood, FLOOR, LEAVE_GRID)
    assert rules.width * rules.height >= PARALLEL_CELLS  # big enough to run on several threads
    _assert_same(_run(rules, 1, steps=5), _run(rules, 2, steps=5), 5)


@pytest.mark.parametrize("neighbourhood", [VON_NEUMANN, MOORE])
@pytest.mark.parametrize("shape,vision,pad", [((7, 9), 3, 4), ((31, 12), 5, 6), ((20, 20), 1, 4), ((9, 8), 2, 3),
                                              ((16, 11), 4, 5), ((9, 5), 3, 7), ((40, 33), 7, 8), ((23, 30), 6, 9),
                                              ((6, 5), 1, 2)])
def test_window_counts_of_every_cell_equal_window_scans(neighbourhood, shape, vision, pad):
    """The decisions' counts (separable sums over the padded grid; the diamond slid along rows by
    running sums along the diagonals) equal scans of the window, odd and even visions, padding
    one wider than the vision, or wider than the grid."""
    rng = np.random.default_rng(vision * 31 + pad)
    cells = rng.integers(FREE, STAYS + 1, shape).astype(np.uint8)
    w, h = shape
    scratch = [np.empty((w + 2 * pad, h + 2 * pad), np.uint32) for _ in range(3)]
    out = np.empty(shape, np.uint32)
    window_counts(cells, pad, vision, neighbourhood, *scratch, out)
    value = ((cells == COP_CELL).astype(np.int64) << COUNT_BITS) | (cells == ACTIVE_CITIZEN)
    dx, dy = window_offsets(vision, neighbourhood)
    for x in range(w):
        for y in range(h):
            want = int(value[x, y]) + sum(int(value[(x + a) % w, (y + b) % h]) for a, b in zip(dx, dy))
            assert int(out[x, y]) == want, (x, y)


@pytest.mark.parametrize("jail_mode", [KEEP_CELL, LEAVE_GRID])
@pytest.mark.parametrize("neighbourhood", [VON_NEUMANN, MOORE])
def test_a_step_keeps_the_invariants(jail_mode, neighbourhood):
    rules = _rules(45, 36, 5, 4, neighbourhood, FLOOR, jail_mode, max_jail=6)
    rng = np.random.default_rng(11)
    world = populate(rules.width, rules.height, 0.72, 0.06, rng)
    kernels = Kernels(rules, world)
    kinds = world.kind.copy()
    saw_release = saw_arrest = False
    for _ in range(60):
        old = world.copy()
        kernels.step(world, 0.6, (new_key(rng), new_key(rng), new_key(rng)))
        kernels.sync(world)
        assert np.array_equal(world.kind, kinds)  # nobody appears, vanishes or changes side
        assert np.all(world.state[world.kind == COP] == CitizenState.QUIET)
        on = world.occ[world.occ >= 0]
        assert len(np.unique(on)) == len(on)  # one agent per cell
        placed = np.zeros(len(world), bool)
        placed[on] = True
        jailed, was_jailed = world.state == CitizenState.JAILED, old.state == CitizenState.JAILED
        if jail_mode == KEEP_CELL:
            assert placed.all()
        else:
            assert np.array_equal(placed, ~jailed)  # off the grid exactly while in jail
        assert np.all(world.occ[world.x[placed], world.y[placed]] == np.flatnonzero(placed))
        stayed = jailed & was_jailed & (old.jail > 0)
        assert np.all(world.jail[stayed] == old.jail[stayed] - 1)  # terms count down by one a step
        new = jailed & ~was_jailed
        assert np.all((world.jail[new] >= 0) & (world.jail[new] <= rules.max_jail_term))
        saw_arrest |= bool(new.any())
        saw_release |= bool(was_jailed.any() and (~jailed & was_jailed).any())
        # every move lands within the agent's vision of where it was
        ddx = np.abs(world.x - old.x)
        ddy = np.abs(world.y - old.y)
        ddx, ddy = np.minimum(ddx, rules.width - ddx), np.minimum(ddy, rules.height - ddy)
        reach = np.where(kinds == COP, rules.cop_vision, rules.citizen_vision)
        dist = ddx + ddy if neighbourhood == VON_NEUMANN else np.maximum(ddx, ddy)
        released = was_jailed & ~jailed  # came back within vision, then moved like everyone
        assert np.all(dist <= np.where(released, 2 * reach, reach))
        assert np.all(dist[was_jailed & (old.jail > 0)] == 0)  # nobody walks out of jail
        # what the kernels keep on each cell between steps is what a rebuild from the agents gives
        fresh = np.empty_like(kernels.cells)
        build_cells(world.x, world.y, world.kind, world.state, fresh, jail_mode)
        assert np.array_equal(kernels.cells, fresh)
    assert saw_arrest and saw_release


def test_a_world_changed_between_steps_is_picked_up_by_refresh():
    """The kernels keep what is on each cell between steps; after a change from outside, ``refresh``
    makes them step as the reference does on the changed world, float64 traits included."""
    rules = _rules(30, 24, 3, 3, MOORE, FLOOR, KEEP_CELL, max_jail=4)
    rng = np.random.default_rng(3)
    fast = populate(rules.width, rules.height, 0.7, 0.06, rng)
    kernels = Kernels(rules, fast)
    kernels.step(fast, 0.5, (1, 2, 3))
    kernels.sync(fast)
    citizens = np.flatnonzero(fast.kind == CITIZEN)
    fast.state[citizens[:40]] = CitizenState.JAILED  # e.g. a user jails some
    fast.jail[citizens[:40]] = 2
    fast.hardship[citizens[40:80]] = 0.1  # and gives some a hardship float32 cannot hold
    slow = fast.copy()
    kernels.refresh(fast)
    assert kernels.traits.dtype == np.float64  # kept exactly
    reference = Reference(rules, slow)
    for step in range(4):
        keys = (new_key(rng), new_key(rng), new_key(rng))
        kernels.step(fast, 0.5, keys)
        if step == 2:
            kernels.refresh(fast)  # straight after a step, before a sync: nothing is lost
        kernels.sync(fast)
        reference.step(slow, 0.5, keys)
        _assert_same(fast, slow, step)


@pytest.mark.parametrize("rounding", [FLOOR, ROUND_HALF_EVEN])
def test_the_arrest_probability_grid_is_the_rule_s_table_lookup(rounding):
    """``p_grid[C, A]`` (what the kernels read) is the float Epstein's rule uses for every count."""
    rules = _rules(30, 30, 7, 7, VON_NEUMANN, rounding, KEEP_CELL)
    table, grid = rules.arrest_table(), rules.arrest_grid()
    window = len(rules.offsets(7)[0])
    assert grid.shape == (window + 1, window + 2)
    for cops in range(window + 1):
        for actives in range(1, window + 2):
            want = table[min(cop_ratio_py(cops, actives, rounding), len(table) - 1)]
            assert grid[cops, actives] == want, (cops, actives)
