"""The order in which walkers take their turns: by vertical strips of the map, so two threads can walk
them at once and get the sequential result.

Agents take their turns one at a time in a random order. The order is grouped by vertical
strips (:func:`group_by_strip`); each strip is then shuffled (:func:`shuffle_strip`) in the walk
itself, by the thread that walks it. A strip is wider than twice the farthest an agent can reach
in a step (its moves plus its density window, :func:`strip_width`), so agents of strips two
apart never see each other's cells: all strips of one parity are walked in parallel, then all
of the other. That is exactly a sequential pass over the strips of the first parity, then the
second, each strip in its random order (:func:`turn_sequence`), which is what the reference
engine walks. The strips' offset and which parity goes first are drawn afresh every step, so no
boundary stays in one place. Walking a strip at a time also keeps what a step reads in the
caches. :func:`plan_slots` spreads a parity's strips over the threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..counter_rng import draw64
from ..parallel import PRANGE_ONLY
from .state import NOWHERE

assert NOWHERE == -1  # group_by_strip's strip lookup holds off-map agents at index NOWHERE + 1 = 0


def strip_width(max_moves: int, sight: int) -> int:
    """Cells per strip: agents of strips two apart can neither reach nor see each other's cells.

    An agent moves at most ``max_moves + 2`` cells in x (moves, a step aside, and being swapped
    back a cell by someone coming the other way) and reads ``max(sight, 1)`` cells beyond where
    it stands (its density window, or as far as it looks ahead); two such reaches must fit in a strip.
    """
    return 2 * (max_moves + 2 + max(sight, 1)) + 2


GROUPING_CHUNKS = 8  # agents are grouped by strip in this many index ranges at once, whatever the thread count
PARALLEL_GROUPING_MIN = 20_000  # agents: below this, grouping them on one thread is quicker


@njit(cache=True, parallel=PRANGE_ONLY)
def group_by_strip(x, width, offset, nstrips):
    """Agents grouped by strip (``(x + offset) // width``; agents off the map in strip 0), each strip's
    in index order. Returns (order, strip start offsets): strip ``s`` is ``order[ptr[s]:ptr[s + 1]]``.

    A counting sort over fixed index ranges: each range counts, then places, its own agents, so
    the result is the serial one on any number of threads.
    """
    n = x.shape[0]
    # strip_of[x + 1] is the strip of column x (NOWHERE = -1 to strip 0): a load, not a division per
    # agent; the table is counted up column by column (a division per column, 3,264 of them on the
    # Bishkek map, costs more than grouping a thousand walkers)
    last = nstrips * width - offset - 1  # the last column the strips cover: the map's are all inside
    strip_of = np.empty(last + 2, dtype=np.int64)
    strip_of[0] = 0
    s = offset // width
    into = offset - s * width  # column 0's place inside its strip
    for col in range(last + 1):
        strip_of[col + 1] = s
        into += 1
        if into == width:
            into = 0
            s += 1
    # in parallel only for large crowds: each parallel loop wakes the other thread, which costs as
    # much as grouping a few thousand agents
    parallel = n >= PARALLEL_GROUPING_MIN
    count = np.zeros((GROUPING_CHUNKS, nstrips), dtype=np.int64)
    if parallel:
        for c in prange(GROUPING_CHUNKS):
            _count_chunk(x, strip_of, last, c * n // GROUPING_CHUNKS, (c + 1) * n // GROUPING_CHUNKS, count[c])
    else:
        for c in range(GROUPING_CHUNKS):
            _count_chunk(x, strip_of, last, c * n // GROUPING_CHUNKS, (c + 1) * n // GROUPING_CHUNKS, count[c])
    ptr = np.zeros(nstrips + 1, dtype=np.int64)
    fill = np.empty((GROUPING_CHUNKS, nstrips), dtype=np.int64)  # where each range's next agent of a strip goes
    at = 0
    for s in range(nstrips):
        for c in range(GROUPING_CHUNKS):
            fill[c, s] = at
            at += count[c, s]
        ptr[s + 1] = at
    order = np.empty(n, dtype=np.int64)
    if parallel:
        for c in prange(GROUPING_CHUNKS):
            _place_chunk(x, strip_of, last, c * n // GROUPING_CHUNKS, (c + 1) * n // GROUPING_CHUNKS, fill[c], order)
    else:
        for c in range(GROUPING_CHUNKS):
            _place_chunk(x, strip_of, last, c * n // GROUPING_CHUNKS, (c + 1) * n // GROUPING_CHUNKS, fill[c], order)
    return order, ptr


@njit(cache=True)
def _count_chunk(x, strip_of, last, lo, hi, count):
    """Agents ``lo:hi`` counted per strip into ``count``."""
    for i in range(lo, hi):
        count[strip_of[min(x[i], last) + 1]] += 1


@njit(cache=True)
def _place_chunk(x, strip_of, last, lo, hi, fill, order):
    """Agents ``lo:hi`` written to ``order``, each at its strip's next free place (``fill``)."""
    for i in range(lo, hi):
        s = strip_of[min(x[i], last) + 1]
        order[fill[s]] = i
        fill[s] += 1


@njit(cache=True)
def shuffle_strip(turns, lo, hi, first, key):
    """Put ``turns[lo:hi]``, one strip's agents, in a uniformly random order (Fisher-Yates). Draw
    ``first + k`` of ``key`` serves position ``lo + k``, ``first`` being the strip's start in the
    grouped order: wherever the strip is copied to, it gets the same order."""
    for j in range(hi - 1, lo, -1):
        # a uniform position in lo..j: the top 32 bits of a draw times the span, over 2^32
        draw = draw64(key, first + j - lo, 0) >> np.uint64(32)
        r = lo + np.int64(draw * np.uint64(j - lo + 1) >> np.uint64(32))
        turns[j], turns[r] = turns[r], turns[j]


@njit(cache=True)
def take_strip(order, ptr, s, turns, m, order_key):
    """Strip ``s``'s agents copied from the grouped ``order`` to ``turns[m:]`` and shuffled there;
    returns where the next strip goes. Both engines take their turns through this."""
    lo = m
    for j in range(ptr[s], ptr[s + 1]):
        turns[m] = order[j]
        m += 1
    shuffle_strip(turns, lo, m, ptr[s], order_key)
    return m


@njit(cache=True)
def turn_sequence(x, width, offset, nstrips, first_phase, order_key):
    """The step's turns as one sequential pass (what the reference engine walks): the strips of
    parity ``first_phase``, then the others, each strip's agents shuffled with ``order_key``."""
    order, ptr = group_by_strip(x, width, offset, nstrips)
    turns = np.empty_like(order)
    m = 0
    for p in range(2):
        for s in range(first_phase if p == 0 else 1 - first_phase, nstrips, 2):
            m = take_strip(order, ptr, s, turns, m, order_key)
    return turns


@njit(cache=True)
def plan_slots(ptr, nslots, first_phase):
    """Which strips each of ``nslots`` threads walks, phase by phase: the strips of a parity spread
    over the threads, largest first to the least loaded (``slot_ptr[phase * nslots + slot]`` indexes
    ``slot_strips``). Any spread gives the same result; this one keeps both cores busy."""
    nstrips = ptr.shape[0] - 1
    slot_ptr = np.zeros(2 * nslots + 1, dtype=np.int64)
    slot_strips = np.empty(nstrips, dtype=np.int64)
    owner = np.empty(nstrips, dtype=np.int64)
    filled = 0
    for p in range(2):
        phase = first_phase if p == 0 else 1 - first_phase
        strips = np.arange(phase, nstrips, 2)
        sizes = ptr[strips + 1] - ptr[strips]
        load = np.zeros(nslots, dtype=np.int64)
        for k in np.argsort(-sizes, kind="mergesort"):
            slot = np.argmin(load)
            load[slot] += sizes[k]
            owner[strips[k]] = slot
        for slot in range(nslots):
            for s in strips:
                if owner[s] == slot and ptr[s + 1] > ptr[s]:
                    slot_strips[filled] = s
                    filled += 1
            slot_ptr[p * nslots + slot + 1] = filled
    return slot_ptr, slot_strips

