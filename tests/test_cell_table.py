"""The walkers' packed cell table holds, at every cell, what plain loops over the map say."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.walk import bits, cell_table

maps = st.builds(
    lambda nx, ny, p, seed: _map(np.random.default_rng(seed), nx, ny, p),
    st.integers(1, 40), st.integers(1, 150), st.floats(0, 1), st.integers(0, 2**32 - 1))


def _map(rng, nx, ny, p):
    walk = (rng.random((nx, ny)) < p).astype(np.uint8)
    # place ids over the whole range the table holds, the extremes included
    place = rng.choice(np.array([-1, 0, 1, 7, cell_table.MAX_PLACES - 1], dtype=np.int16), size=(nx, ny))
    place[rng.random((nx, ny)) < 0.5] = -1
    exits = (rng.random((nx, ny)) < 0.1).astype(np.uint8)
    return walk, place, exits


@settings(max_examples=60, deadline=None)
@given(maps, st.integers(0, bits.PAD))
def test_every_cell_holds_its_steps_window_floor_place_and_exit(m, r):
    walk, place, exits = m
    nx, ny = walk.shape
    table = cell_table.build(walk, place, exits, r)
    assert table.dtype == np.uint32 and table.shape == walk.shape
    for x in range(nx):
        for y in range(ny):
            c = table[x, y]
            window = walk[max(x - r, 0):x + r + 1, max(y - r, 0):y + r + 1]
            assert cell_table.area_of(c) == (window == 1).sum() - (walk[x, y] == 1)
            assert cell_table.place_of(c) == place[x, y]
            assert cell_table.exit_of(c) == (exits[x, y] != 0)
            enter = cell_table.enter_of(c)
            for d in range(8):
                # a step goes to a floor cell on the map, and a diagonal one cuts no wall's corner
                qx, qy = x + bits.DX[d], y + bits.DY[d]
                ok = 0 <= qx < nx and 0 <= qy < ny and walk[qx, qy] == 1
                if ok and d % 2 == 1:
                    ok = walk[qx, y] == 1 and walk[x, qy] == 1
                assert (enter >> d) & 1 == ok


def test_walls_hold_no_steps_and_a_window_counts_only_floor():
    walk = np.array([[1, 1, 0],
                     [1, 0, 1],
                     [1, 1, 1]], dtype=np.uint8)
    none = np.full(walk.shape, -1, np.int16)
    table = cell_table.build(walk, none, np.zeros_like(walk), 1)
    assert cell_table.area_of(table[1, 1]) == 7  # its eight neighbours, one of them a wall
    assert cell_table.area_of(table[0, 0]) == 2  # a corner's window is clipped to the map
    # from (0, 1): east to (1, 1) is a wall; north-east to (1, 2) would cut its corner
    enter = cell_table.enter_of(table[0, 1])
    assert enter == (1 << 6)  # south, to (0, 0), only


@pytest.mark.parametrize("bad_place", [-2, cell_table.MAX_PLACES])
def test_place_ids_the_table_cannot_hold_are_refused(bad_place):
    walk = np.ones((2, 2), np.uint8)
    place = np.zeros((2, 2), np.int16)
    place[1, 1] = bad_place
    with pytest.raises(ValueError, match="place ids"):
        cell_table.build(walk, place, np.zeros_like(walk), 1)


def test_a_window_wider_than_the_bit_grids_allow_is_refused():
    walk = np.ones((2, 2), np.uint8)
    with pytest.raises(ValueError, match="window"):
        cell_table.build(walk, np.zeros((2, 2), np.int16), np.zeros_like(walk), bits.PAD + 1)
