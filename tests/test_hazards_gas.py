"""Tear gas on the coarse grid: spreads along corridors, never through walls, decays as specified."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.walk.hazards import GasField, coarse_floor, gas_substeps


def _gas(walkable, **kw):
    args = dict(factor=4, diffusivity=5.0, wind_u=0.0, wind_v=0.0, half_life_s=0.0)
    args.update(kw)
    return GasField(walkable, 0.5, **args)


def test_coarse_floor_keeps_any_cell_with_floor():
    walk = np.zeros((8, 8), np.uint8)
    walk[5, 6] = 1
    assert coarse_floor(walk, 4).tolist() == [[0, 0], [0, 1]]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 7), st.floats(0, 0.3), st.integers(0, 2**32 - 1))
def test_coarse_floor_matches_a_plain_loop(nx, ny, factor, p, seed):
    """Any shape, including ones the factor does not divide (the last coarse row and column are partial)."""
    walk = (np.random.default_rng(seed).random((nx, ny)) < p).astype(np.uint8)
    got = coarse_floor(walk, factor)
    assert got.shape == (-(-nx // factor), -(-ny // factor))
    for cx in range(got.shape[0]):
        for cy in range(got.shape[1]):
            block = walk[cx * factor:(cx + 1) * factor, cy * factor:(cy + 1) * factor]
            assert got[cx, cy] == int((block == 1).any())


def test_gas_spreads_down_a_corridor_and_not_through_a_wall():
    """Two parallel 4 m corridors, drawn as a text map, separated by a 4 m solid wall."""
    from sim.geo.ascii import parse_ascii_map

    rows = ["." * 400] * 8 + ["#" * 400] * 8 + ["." * 400] * 8  # north to south
    walk = parse_ascii_map("\n".join(rows), places={}, exits={}).walkable
    assert walk[:, 0:8].all() and not walk[:, 8:16].any()
    gas = _gas(walk)
    gas.emit(200, 4, 100.0)
    for _ in range(120):
        gas.step(0.5)
    lower = gas.conc[:, 0:2]
    upper = gas.conc[:, 4:6]
    assert upper.max() == 0.0, "gas crossed the wall"
    assert lower[50 + 10, 0] > 0 and lower[50 - 10, 0] > 0, "gas did not spread along the corridor"
    # symmetric spread without wind
    assert lower[50 + 5, 0] == pytest.approx(lower[50 - 5, 0], rel=1e-6)


def test_wind_carries_gas_downwind():
    walk = np.ones((200, 200), np.uint8)
    gas = _gas(walk, wind_u=1.0)
    gas.emit(100, 100, 100.0)
    for _ in range(40):
        gas.step(0.5)
    c = gas.conc
    x = np.arange(c.shape[0])
    centre = (c.sum(axis=1) * x).sum() / c.sum()
    assert centre - 25 == pytest.approx(20 / 2.0, rel=0.1)  # 1 m/s for 20 s on 2 m cells


def test_mass_is_conserved_without_decay_and_decays_at_the_half_life():
    """Away from the open map edge the scheme conserves mass; decay halves it per half-life."""
    walk = np.ones((400, 400), np.uint8)  # 200 m: nothing reaches the open edge in 30 s
    closed = _gas(walk)
    closed.emit(200, 200, 50.0)
    for _ in range(20):
        closed.step(0.5)
    assert closed.mass() == pytest.approx(50.0, rel=1e-9)

    decaying = _gas(walk, half_life_s=30.0)
    decaying.emit(200, 200, 50.0)
    for _ in range(60):
        decaying.step(0.5)
    assert decaying.mass() == pytest.approx(25.0, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.1, 10.0), st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 5.0), st.integers(0, 2**31))
def test_concentration_is_never_negative_or_nan(diffusivity, u, v, dt, seed):
    rng = np.random.default_rng(seed)
    walk = (rng.random((40, 40)) > 0.3).astype(np.uint8)
    gas = _gas(walk, diffusivity=diffusivity, wind_u=u, wind_v=v, half_life_s=60.0)
    floor = np.argwhere(gas.floor)
    for cx, cy in floor[rng.choice(len(floor), size=3)]:
        gas.emit(cx * 4, cy * 4, 10.0)
    total = gas.mass()
    for _ in range(10):
        gas.step(dt)
        assert np.isfinite(gas.conc).all()
        assert (gas.conc >= 0).all()
        assert gas.mass() <= total * (1 + 1e-9)
        assert (gas.conc[gas.floor == 0] == 0).all()


def test_substeps_respect_the_stability_bound():
    n = gas_substeps(1.0, 2.0, 10.0, 3.0, 0.0)
    sub = 1.0 / n
    assert sub * (4 * 10.0 / 4.0 + 3.0 / 2.0) <= 1.0
    assert math.isclose(gas_substeps(0.5, 2.0, 0.1, 0.0, 0.0), 1)
