"""Making way in a standing crowd on the continuous model: a walker held up trades places with a stander ahead.

People standing in a dense crowd let someone through who needs to pass: in the experiment of
Kleinmeier, Koester & Drury (2020, J. R. Soc. Interface 17: 20200396) people crossing a dense static
crowd got through because those standing cooperated, and their model lets an agent swap places with
the one in its way; Nicolas et al. (2019, Sci. Rep. 9: 105) saw people in static crowds at 3-6 per m2
move aside, mostly sideways, before an intruder even touched them. The collision-free speed model has
no such rule: a stander is only an obstacle (or drifts along its neighbours' pushes), and a march
through a rally packed at ~2.7 per m2 jams at its edge. So, once a scenario step, a walker held up in
the last step (``ContinuousProtestCore``: under a quarter of its free speed) trades positions with the
stander its body touches or nearly touches (centres within both radii plus ``REACH_M``) that is most
ahead of it (within ``AHEAD_COS`` of its desired direction): someone of its own kind (protesters with
protesters, officers with officers), standing for another target (its own crowd it joins, it does not
pass), not injured and not holding a line. Each person trades at most once a step; walkers are served
in index order, so the result is the same on every run. All bodies have one radius, so a trade leaves
every body where one stood: no overlap, nobody in a wall. It is the continuous twin of the grid's swaps
(``sim.core.walk.swaps``: people at a rally let those leaving through).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.continuous.directions import desired_direction

REACH_M = 0.45  # m: gap between two bodies over which one still reaches the other (a hand on a shoulder)
WALL_SHARE = 0.9  # the reach stays under this share of a cell: two bodies either side of a wall cell are
# at least a cell plus both radii apart, so nobody trades through a wall
AHEAD_COS = 0.5  # the stander must be within 60 degrees of the walker's desired direction


def trade_places(x: np.ndarray, y: np.ndarray, radius: np.ndarray, target: np.ndarray, walkers: np.ndarray,
                 standers: np.ndarray, stood_for: np.ndarray, kind: np.ndarray, grids: np.ndarray,
                 cell_size: float) -> int:
    """Swaps the positions (m, in place) of held-up ``walkers`` (indices, ascending; walking down field
    ``target``) with the ``standers`` (bool per agent; standing for field ``stood_for``) ahead of them;
    returns how many pairs traded. ``kind``: who may trade with whom (same kind only)."""
    if walkers.size == 0 or not standers.any():
        return 0
    who = np.flatnonzero(standers)
    reach = min(REACH_M, WALL_SHARE * cell_size)
    bin_m = float(2.0 * radius.max() + reach)
    bx = np.floor(x[who] / bin_m).astype(np.int64)
    by = np.floor(y[who] / bin_m).astype(np.int64)
    nby = int(by.max()) + 3
    keys = (bx + 1) * nby + (by + 1)
    order = np.argsort(keys, kind="stable")
    return _trade(x, y, radius, target.astype(np.int64), walkers.astype(np.int64), who[order], keys[order],
                  stood_for.astype(np.int64), kind.astype(np.int64), grids, float(cell_size), reach, bin_m, nby,
                  np.zeros(len(x), dtype=np.uint8))


@njit(cache=True)
def _trade(x, y, radius, target, walkers, members, keys, stood_for, kind, grids, cell_size, reach, bin_m, nby, taken):
    traded = 0
    for k in range(walkers.size):
        i = walkers[k]
        if taken[i]:
            continue
        ex, ey = desired_direction(grids, target[i], x[i], y[i], cell_size)
        if ex == 0.0 and ey == 0.0:
            continue
        bi = np.int64(np.floor(x[i] / bin_m)) + 1
        bj = np.int64(np.floor(y[i] / bin_m)) + 1
        best = -1
        best_ahead = 0.0
        for di in range(-1, 2):
            for dj in range(-1, 2):
                if bj + dj < 0 or bj + dj >= nby:
                    continue
                key = (bi + di) * nby + bj + dj
                lo = np.searchsorted(keys, key)
                hi = np.searchsorted(keys, key, side="right")
                for m in range(lo, hi):
                    j = members[m]
                    if taken[j] or kind[j] != kind[i] or stood_for[j] == target[i] or radius[j] != radius[i]:
                        continue
                    dx = x[j] - x[i]
                    dy = y[j] - y[i]
                    d = np.sqrt(dx * dx + dy * dy)
                    if d == 0.0 or d > radius[i] + radius[j] + reach:
                        continue
                    ahead = ex * dx + ey * dy
                    if ahead >= AHEAD_COS * d and ahead > best_ahead:
                        best = j
                        best_ahead = ahead
        if best >= 0:
            x[i], x[best] = x[best], x[i]
            y[i], y[best] = y[best], y[i]
            taken[i] = 1
            taken[best] = 1
            traded += 1
    return traded
