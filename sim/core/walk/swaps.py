"""Swapping places: how people walking towards each other get past (``sim.core.walk.movement``).

A walker blocked ahead by someone coming the other way or crossing its path (for whom its cell is
no step back), or by someone standing at a rally it is leaving, may trade cells with them, with the step's swap chance, once a step each. Without
it two streams meeting in a corridor, or crossing at a junction, lock for good once they are
dense (2 per m2 each way in a 4 m corridor; Nowak and Schadschneider 2012, Phys. Rev. E 85: 066128, find the
plain floor-field model gridlocks far more readily than experiments do); with it they pass, as
in the floor-field model with swapping of Tao and Dong (2017, Physica A 475: 155-168), which
keeps the fundamental diagram. Only people of one kind swap, and nobody holding a line: nobody
squeezes through a police line this way, nor into a rally (only out of it).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import DX, DY, popcount64, u64
from ..counter_rng import draw16
from .state import HOLD, INJURED, RALLY


@njit(cache=True)
def swap_partner(i, ax, ay, here_place, occupied, start, cur, here, flat, step_off, per_metre, key, swap_col,
                 swap_threshold, x, y, kind, state, behaviour, target, swapped, who, fields, field_place, budget):
    """Someone ``i`` (at ax, ay, in place ``here_place``, on field value ``cur``) may swap places with:
    the occupied neighbour (bits ``occupied``) with the most progress per metre on i's field
    (``per_metre``: movement's PER_METRE), first from direction ``start`` on, if the one standing
    there is of i's kind, not holding a line, not hurt, not swapped yet this step, and either walks
    and loses nothing by stepping onto i's cell (not higher on its own field: coming the other way,
    or crossing) and can pay for it, or rallies, i's cell is in its rally's place and i is going
    elsewhere (people at a rally let those leaving through); i must afford its move and win the
    swap chance. Returns (j, direction, i's field value there, what j pays) or (-1, -1, cur, 0)."""
    if draw16(key, i, swap_col) >= swap_threshold:  # first: the cheapest test, and it fails half the time
        return -1, -1, cur, 0.0
    best = cur
    best_rate = 0.0
    bd = -1
    turned = ((occupied >> start) | (occupied << (8 - start))) & 0xFF
    while turned != 0:
        d = (start + np.int64(popcount64((turned & -turned) - 1))) & 7
        turned &= turned - 1
        v = np.float64(flat[u64(here + step_off[d])])
        rate = (cur - v) * per_metre[d]
        if rate > best_rate:
            best_rate = rate
            best = v
            bd = d
    if bd < 0 or budget[i] < cur - best:
        return -1, -1, cur, 0.0
    qx = ax + DX[bd]
    qy = ay + DY[bd]
    j = who[qx, qy]
    if j < 0 or x[j] != qx or y[j] != qy or swapped[j] != 0 or kind[j] != kind[i] or state[j] == INJURED \
            or behaviour[j] == HOLD:
        return -1, -1, cur, 0.0
    fj = target[j]
    if behaviour[j] == RALLY:
        if fj == target[i] or field_place[fj] < 0 or here_place != field_place[fj]:
            return -1, -1, cur, 0.0
        return j, bd, best, 0.0
    drop_j = np.float64(fields[fj, qx, qy]) - np.float64(fields[fj, ax, ay])
    if not drop_j >= 0.0 or budget[j] < drop_j:  # not: a drop from nowhere (inf - inf) is nan
        return -1, -1, cur, 0.0
    return j, bd, best, drop_j


@njit(cache=True)
def swap_places(i, j, ax, ay, bd, cur, best, cost_j, here, step_off, x, y, who, swapped, budget, cells):
    """``i`` and ``j`` trade cells (both stay taken); i pays its field's drop, j ``cost_j``. Returns
    i's new (x, y, cell word, flat field index, field value)."""
    qx = ax + DX[bd]
    qy = ay + DY[bd]
    budget[j] -= cost_j
    budget[i] -= cur - best
    x[j] = ax
    y[j] = ay
    who[ax, ay] = j
    swapped[j] = 1
    return qx, qy, cells[u64(qx), u64(qy)], here + step_off[bd], best
