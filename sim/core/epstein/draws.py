"""The random choices of the Epstein phases: an integer in a range, an empty cell of a window.

Random numbers are counter-based (``sim.core.counter_rng``): draw ``k`` of agent ``i`` under
the phase's key, the same in any order, on any thread, and in the reference engine
(``sim.core.epstein.reference``, whose ``pick_py`` and ``try_pick_py`` are the plain-Python
twins of :func:`pick` and :func:`try_pick`), so the engines agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..counter_rng import draw64
from .cells import FREE, wrap

MOVE_TRIES = 24  # random cells tried (two per 64-bit draw) before counting the empty ones (uniform either way)


@njit(cache=True, inline="always")
def pick(key, i, k, m):
    """A uniform integer in [0, m) from draw ``k`` of agent ``i`` (top 32 bits times m, shifted)."""
    return np.int64(((draw64(key, i, k) >> np.uint64(32)) * np.uint64(m)) >> np.uint64(32))


@njit(cache=True, inline="always")
def try_pick(draw, half, m):
    """The window index in [0, m) of a movement try: the low (``half`` 0) or high (1) 32 bits of
    ``draw`` times m, shifted; try ``t`` takes half ``t % 2`` of draw ``t // 2`` (two tries per
    hash). Unsigned, as it indexes: numba wraps signed indices, which costs a third of a try."""
    bits = (draw >> np.uint64(32 * half)) & np.uint64(0xFFFFFFFF)
    return np.uint64((bits * np.uint64(m)) >> np.uint64(32))



@njit(cache=True, inline="always")
def random_empty(flat, x, y, w, h, dx, dy, key, i, empty):
    """The flat index (``x * h + y``) of a uniformly random cell among (x + dx, y + dy) on the
    torus where ``flat`` holds ``empty``, or -1 if none: ``MOVE_TRIES`` random cells first (two
    per draw, :func:`try_pick`), then one of the empty ones (draw ``MOVE_TRIES // 2``)."""
    m = dx.shape[0]
    for t in range(MOVE_TRIES // 2):
        d = draw64(key, i, t)
        o = try_pick(d, 0, m)
        n = wrap(x + dx[o], w) * h + wrap(y + dy[o], h)
        if flat[np.uint64(n)] == empty:
            return n
        o = try_pick(d, 1, m)
        n = wrap(x + dx[o], w) * h + wrap(y + dy[o], h)
        if flat[np.uint64(n)] == empty:
            return n
    free = 0
    for o in range(m):
        free += flat[np.uint64(wrap(x + dx[o], w) * h + wrap(y + dy[o], h))] == empty
    if free == 0:
        return -1
    j = pick(key, i, MOVE_TRIES // 2, free)
    for o in range(m):
        n = wrap(x + dx[o], w) * h + wrap(y + dy[o], h)
        if flat[np.uint64(n)] == empty:
            if j == 0:
                return n
            j -= 1
    return -1


@njit(cache=True, inline="always")
def random_empty_inside(flat, c, off, key, i):
    """:func:`random_empty` for a window that does not cross the torus seam, on the flat grid:
    the index into ``off`` of the cell chosen, or -1."""
    m = off.shape[0]
    for t in range(MOVE_TRIES // 2):
        d = draw64(key, i, t)
        o = try_pick(d, 0, m)
        if flat[np.uint64(c + off[o])] == FREE:
            return np.int64(o)
        o = try_pick(d, 1, m)
        if flat[np.uint64(c + off[o])] == FREE:
            return np.int64(o)
    free = 0
    for o in range(m):
        free += flat[np.uint64(c + off[o])] == FREE
    if free == 0:
        return -1
    j = pick(key, i, MOVE_TRIES // 2, free)
    for o in range(m):
        if flat[c + off[o]] == FREE:
            if j == 0:
                return o
            j -= 1
    return -1

