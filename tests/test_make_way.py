"""Making way on the continuous model (sim/protest/make_way.py): a walker held up trades places with
someone standing for another target just ahead of it, and with nobody else."""

import numpy as np

from sim.core.continuous.directions import direction_grids
from sim.protest.make_way import trade_places

CELL = 0.5
R = 0.17


def _east_grids():
    """One field on a 20 x 8 cell floor (10 m x 4 m) falling to the east: everyone wants to walk +x."""
    field = np.tile((20 - np.arange(20, dtype=float))[:, None] * CELL, (1, 8))[None]
    return direction_grids(field, CELL)


def _trade(xy, walkers, standers, stood_for=None, kind=None):
    xy = np.array(xy, dtype=float)
    n = len(xy)
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    stood = np.full(n, 1) if stood_for is None else np.array(stood_for)
    mask = np.zeros(n, dtype=bool)
    mask[list(standers)] = True
    traded = trade_places(x, y, np.full(n, R), np.zeros(n, dtype=np.int32), np.array(walkers, dtype=np.int64),
                          mask, stood, np.zeros(n, dtype=np.int8) if kind is None else np.array(kind), _east_grids(),
                          CELL)
    return traded, x, y


def test_a_held_up_walker_trades_places_with_the_stander_ahead():
    traded, x, y = _trade([(3.0, 2.0), (3.5, 2.0), (2.5, 2.0)], walkers=[0], standers=[1, 2])
    assert traded == 1
    np.testing.assert_array_equal(x, [3.5, 3.0, 2.5])  # the one behind stays where it stood
    np.testing.assert_array_equal(y, [2.0, 2.0, 2.0])


def test_nobody_trades_with_someone_behind_beside_out_of_reach_or_of_its_own_crowd():
    beside_behind_far = [(3.0, 2.0), (2.5, 2.0), (3.0, 2.5), (3.0 + 2 * R + 0.5, 2.0)]
    assert _trade(beside_behind_far, walkers=[0], standers=[1, 2, 3])[0] == 0
    own_crowd = [(3.0, 2.0), (3.5, 2.0)]
    assert _trade(own_crowd, walkers=[0], standers=[1], stood_for=[0, 0])[0] == 0, "pushed into its own crowd"
    officer = [(3.0, 2.0), (3.5, 2.0)]
    assert _trade(officer, walkers=[0], standers=[1], kind=[0, 1])[0] == 0, "a protester traded with an officer"
    assert _trade(officer, walkers=[], standers=[1])[0] == 0


def test_each_person_trades_once_a_step_and_the_nearest_ahead_goes_first():
    # two walkers side by side wanting the one stander ahead of both: the first (by index) gets it
    xy = [(3.0, 2.0), (3.0, 2.36), (3.45, 2.18), (3.6, 2.9)]
    traded, x, y = _trade(xy, walkers=[0, 1], standers=[2, 3])
    assert traded == 1
    assert (x[0], y[0]) == (3.45, 2.18) and (x[1], y[1]) == (3.0, 2.36)
    # of two ahead, the one most ahead along the way wins
    traded, x, _ = _trade([(3.0, 2.0), (3.3, 2.2), (3.55, 2.0)], walkers=[0], standers=[1, 2])
    assert traded == 1 and x[0] == 3.55


def test_a_trade_moves_no_body_into_another():
    rng = np.random.default_rng(4)
    xs, ys = np.meshgrid(np.arange(1.0, 9.0, 0.6), np.arange(0.5, 3.6, 0.6), indexing="ij")
    xy = np.column_stack([xs.ravel(), ys.ravel()]) + rng.uniform(-0.1, 0.1, (xs.size, 2))
    before = {tuple(p) for p in xy}
    walkers = np.arange(0, len(xy), 3)
    standers = np.setdiff1d(np.arange(len(xy)), walkers)
    traded, x, y = _trade(xy, walkers=walkers, standers=standers)
    assert traded > 0
    assert {tuple(p) for p in np.column_stack([x, y])} == before  # the same places, only who stands there changed
