"""Anticipation: walkers keep out of the way of people coming towards them, so counterflow forms lanes.

Without it a walker takes the free neighbour with the most progress and meets whoever comes the
other way head on; the two then swap or dodge one by one, and two streams pass through each
other as a random mixture. In the floor-field models that form lanes the walker looks ahead
(Nowak and Schadschneider 2012, Phys. Rev. E 85: 066128, whose plain model forms lanes only
weakly and jams too readily; Cirillo and Muntean 2020, "Anticipation decides on lane formation in
pedestrian counterflow", arXiv 2002.06548: lanes form once walkers look a cell or more beyond
the next): here a walker about to step onto a cell whose lane ahead (in its heading, up to the
horizon) first holds someone walking towards it takes instead the best other move that makes
progress without such a face-off, or else a step aside along its level line (:func:`dodge`).
Taking it, it slips in behind whoever walks its way, and lanes grow. Where the streams have
packed solid and nobody can step aside, one held up by someone coming trades cells sideways
with a neighbour walking the other way if both then face nobody (:func:`side_partner`): mixed
files sort into lanes.

The heading is the straight direction (east, north, west or south) in which the walker's field
falls fastest from where it starts its turn. Only walkers with someone in their density window
look, and a move is looked at more closely (:func:`dodge`, called by the walk) only if the first
person in its lane within the horizon (``first_taken``: one read of the bit grid north or south)
comes towards it (:func:`oncoming`, one read of ``movement.Contacts.heads``), so people alone pay
nothing for it. Which way someone heads is what was written on its cell by the last walker that
looked there; a walker that does not look does not write it (0: nobody coming).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import DX, DY, PAD, bits_at, get, popcount64, u64
from .cell_table import enter_of
from .state import HOLD, INJURED, RALLY


@njit(cache=True)
def heading(free_or_walled, cur, here, flat, step_off):
    """The straight direction (0, 2, 4, 6) the field falls fastest in from where the walker stands, among those the
    walls allow (bits ``free_or_walled``: the enterable directions); -1 if it falls in none."""
    h = -1
    drop = 0.0
    for d in range(0, 8, 2):
        if (free_or_walled >> d) & 1:
            v = cur - np.float64(flat[u64(here + step_off[d])])
            if v > drop:
                drop = v
                h = d
    return h


@njit(cache=True, inline="always")
def faces_someone(qx, qy, h, horizon, occ, heads):
    """True if the first person within ``horizon`` cells of (qx, qy) in direction ``h`` heads straight
    back towards it (``heads``: movement.Contacts.heads). Someone else, or nobody, first: False."""
    k = first_taken(qx, qy, h, horizon, occ)
    return k > 0 and heads[u64(qx + k * DX[h]), u64(qy + k * DY[h])] == ((h + 4) & 7) + 1


@njit(cache=True, inline="always")
def oncoming(ax, ay, bd, h, horizon, occ, heads):
    """True if the walker on (ax, ay) about to move in direction ``bd`` should look for another move
    (:func:`dodge`): someone within ``horizon`` cells beyond bd's cell in heading ``h`` comes towards
    it; with no move (``bd`` -1), the one next to it in heading ``h`` does (held up by someone walking
    its way, or by nobody in its heading, it has nothing to dodge). Inlined in the walk: most moves
    face nobody, and this is then one or a few reads of the bit grid."""
    if bd >= 0:
        return faces_someone(ax + DX[bd], ay + DY[bd], h, horizon, occ, heads)
    return faces_someone(ax, ay, h, 1, occ, heads)


@njit(cache=True, inline="always")
def first_taken(qx, qy, h, horizon, occ):
    """How many cells from (qx, qy) in straight direction ``h`` the first taken one is (1..horizon),
    0 if none is. North and south the cells lie in one row of the bit grid: one read."""
    if h == 2:
        v = np.int64(bits_at(occ, qx + PAD, qy + 1 + PAD, horizon))
        return 0 if v == 0 else np.int64(popcount64((v & -v) - 1)) + 1
    if h == 6:
        v = np.int64(bits_at(occ, qx + PAD, qy - horizon + PAD, horizon))
        if v == 0:
            return 0
        k = horizon
        while not (v >> (k - 1)) & 1:
            k -= 1
        return horizon - k + 1
    for k in range(1, horizon + 1):
        if get(occ, qx + k * DX[h], qy):
            return k
    return 0


@njit(cache=True)
def dodge(ax, ay, bd, best, free, start, cur, here, flat, step_off, per_metre, occ, heads, h, horizon):
    """The move ``i`` makes instead of ``bd`` (to field value ``best``; -1: none makes progress), called
    only where someone comes towards it: towards bd's cell within ``horizon`` cells in heading ``h``
    (:func:`oncoming`, the caller's test). The free move (bits ``free``) with the most progress per
    metre that faces nobody (ties: the first from ``start``, counter-clockwise), else the first such
    step aside along the level line (field value ``cur``), else ``bd``. Returns (direction, field
    value there)."""
    alt = -1
    alt_v = cur
    alt_rate = 0.0
    side = -1
    turned = ((free >> start) | (free << (8 - start))) & 0xFF
    while turned != 0:
        d = (start + np.int64(popcount64((turned & -turned) - 1))) & 7
        turned &= turned - 1
        if d == bd:
            continue
        v = np.float64(flat[u64(here + step_off[d])])
        rate = (cur - v) * per_metre[d]
        if (rate > alt_rate or (v == cur and side < 0 and alt < 0)) \
                and not faces_someone(ax + DX[d], ay + DY[d], h, horizon, occ, heads):
            if rate > alt_rate:
                alt_rate = rate
                alt_v = v
                alt = d
            else:
                side = d
    if alt >= 0:
        return alt, alt_v
    if side >= 0:
        return side, cur
    return bd, best


@njit(cache=True)
def side_partner(i, ax, ay, c_enter, taken, h, start, horizon, cell_size, occ, who, heads, x, y, kind, state,
                 behaviour, target, swapped, budget, fields, cells):
    """Someone beside ``i`` to trade cells with, sideways, when ``i`` is held up by someone coming
    towards it: a walker of i's kind walking the other way (its field falls in direction h + 4),
    not swapped yet this step, standing on the side (direction h + 2 or h - 2, the first from
    ``start``'s parity) where i's lane ahead faces nobody and whose own lane ahead after the trade
    (from i's cell) faces nobody; both can pay a cell's length. In a packed counterflow, where nobody
    can step aside, this is how mixed files sort into lanes. Returns (partner, direction) or (-1, -1)."""
    if budget[i] < cell_size or not faces_someone(ax, ay, h, 1, occ, heads):
        return -1, -1
    back = (h + 4) & 7
    for k in range(2):
        sd = (h + 2 + 4 * ((k + start) & 1)) & 7
        if not (c_enter >> sd) & 1 or not (taken >> sd) & 1:
            continue
        sx = ax + DX[sd]
        sy = ay + DY[sd]
        j = who[sx, sy]
        if j < 0 or x[j] != sx or y[j] != sy or swapped[j] != 0 or kind[j] != kind[i] or state[j] == INJURED \
                or behaviour[j] == HOLD or behaviour[j] == RALLY or target[j] == target[i] or budget[j] < cell_size:
            continue
        if not (enter_of(cells[sx, sy]) >> back) & 1:
            continue
        tj = target[j]
        if not np.float64(fields[tj, sx + DX[back], sy + DY[back]]) < np.float64(fields[tj, sx, sy]):
            continue
        if faces_someone(sx, sy, h, horizon, occ, heads) or (faces_someone(ax, ay, back, horizon, occ, heads)
                                                             and not faces_someone(sx, sy, back, 1, occ, heads)):
            continue
        return j, sd
    return -1, -1


@njit(cache=True)
def side_swap(i, j, ax, ay, sd, cell_size, x, y, who, heads, swapped, budget):
    """``i`` and ``j`` (beside it in direction ``sd``) trade cells, each paying a cell's length; returns
    i's new cell. j's heading on it is not known until its turn."""
    budget[i] -= cell_size
    budget[j] -= cell_size
    x[j] = ax
    y[j] = ay
    who[ax, ay] = j
    heads[ax, ay] = 0
    swapped[j] = 1
    return ax + DX[sd], ay + DY[sd]
