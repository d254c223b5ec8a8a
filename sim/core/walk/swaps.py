"""Swapping places: how people walking towards each other get past (``sim.core.walk.movement``).

A walker blocked ahead by someone coming the other way or crossing its path (for whom its cell is
no step back) may trade cells with them, with the step's swap chance, once a step each. Without
it two streams meeting in a corridor, or crossing at a junction, lock for good once they are
dense (2 per m2 each way in a 4 m corridor; Nowak and Schadschneider 2012, Phys. Rev. E 85: 066128, find the
plain floor-field model gridlocks far more readily than experiments do); with it they pass, as
in the floor-field model with swapping of Tao and Dong (2017, Physica A 475: 155-168), which
keeps the fundamental diagram. Only people of one kind who are walking (not rallying, not
holding a line) swap, and both must afford their move: nobody squeezes through a police line or
a standing crowd this way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import DX, DY, popcount64, u64
from ..counter_rng import draw16
from .state import HOLD, INJURED, RALLY


@njit(cache=True)
def swap_partner(i, ax, ay, occupied, start, cur, here, flat, step_off, per_metre, key, swap_col, swap_threshold, x,
                 y, kind, state, behaviour, target, swapped, who, fields, budget):
    """Someone ``i`` (at ax, ay, on field value ``cur``) may swap places with: the occupied neighbour
    (bits ``occupied``) with the most progress per metre on i's field (``per_metre``: movement's
    PER_METRE), first from direction ``start`` on, if the
    one standing there walks (not rallying, not holding), is of i's kind, has not been swapped this
    step and loses nothing by stepping onto i's cell (not higher on its own field: coming the other
    way, or crossing); both must afford their moves, and i
    must win the swap chance. Returns (j, direction, i's field value there) or (-1, -1, cur)."""
    if draw16(key, i, swap_col) >= swap_threshold:  # first: the cheapest test, and it fails half the time
        return -1, -1, cur
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
        return -1, -1, cur
    qx = ax + DX[bd]
    qy = ay + DY[bd]
    j = who[qx, qy]
    if j < 0 or x[j] != qx or y[j] != qy or swapped[j] != 0 or kind[j] != kind[i] or state[j] == INJURED \
            or behaviour[j] == RALLY or behaviour[j] == HOLD:
        return -1, -1, cur
    fj = target[j]
    drop_j = np.float64(fields[fj, qx, qy]) - np.float64(fields[fj, ax, ay])
    if not drop_j >= 0.0 or budget[j] < drop_j:  # not: a drop from nowhere (inf - inf) is nan
        return -1, -1, cur
    return j, bd, best


@njit(cache=True)
def swap_places(i, j, ax, ay, bd, best, here, step_off, x, y, who, swapped, budget, fields, target, cells):
    """``i`` and ``j`` trade cells (both stay taken); each pays its own field's drop. Returns i's new
    (x, y, cell word, flat field index, field value)."""
    qx = ax + DX[bd]
    qy = ay + DY[bd]
    fj = target[j]
    budget[j] -= np.float64(fields[fj, qx, qy]) - np.float64(fields[fj, ax, ay])
    budget[i] -= np.float64(fields[target[i], ax, ay]) - best
    x[j] = ax
    y[j] = ay
    who[ax, ay] = j
    swapped[j] = 1
    return qx, qy, cells[u64(qx), u64(qy)], here + step_off[bd], best
