"""Floor-field walking with exclusion and Weidmann speed-density, one step for all agents (numba).

The rules, per agent in the step's order (``sim.core.reference`` states them again in plain
Python and must agree bit for bit):

* Agents off the map (left, arrested) and injured agents do nothing.
* Inside its target place a ``rally`` agent mills: with the step's mill chance it tries one
  random neighbouring cell that is free, floor, inside the place.
* Everyone else walks down its target's distance field (which goes on falling inside the
  place, so ``march`` and ``hold`` agents walk in until blocked; a ``march`` agent that
  cannot move inside its place becomes a ``rally`` agent there). It earns ``speed * factor * dt``
  metres (times ``flee_factor`` when fleeing: people run), where ``factor`` is Weidmann's
  v(rho)/v0 for the density of the others on the floor cells of a small window around it,
  then spends them on moves to the free neighbour with the lowest field value (ties: the
  first from a random direction, counter-clockwise), each move costing the field's drop
  (metres of progress), so the speed toward the target equals the walking speed at any heading.
  Blocked ahead, it may instead take one step aside to a free cell on the same level line
  (paying the step's length), as people shuffle sideways to find a gap.
  No corner cutting between two walls. A walker stuck behind others keeps at most 1.5 cells
  of unspent walking.
* Stepping on an exit cell means leaving the map.

Order and threads. Agents take their turns one at a time in a random order; so that two
threads can walk them at once with the same result, the order is grouped by vertical strips
of the map (:func:`group_by_strip`; each strip is then shuffled by :func:`shuffle_strip`, in
the walk itself, by the thread that walks it). A strip is wider than twice the farthest an
agent can reach in a step (its moves plus its density window), so agents of strips two apart
never see each other's cells: all strips of one parity are walked in parallel, then all of
the other. That is exactly a sequential pass over the strips of the first parity, then the
second, each strip in its random order (:func:`turn_sequence`), which is what the reference
engine does. The strips' offset and which parity goes first are drawn afresh every step, so
no boundary stays in one place. Walking a strip at a time also keeps what a step reads in the
caches.

Memory. Occupancy is a bit grid (``sim.core.bits``). What a walker reads of the cell it stands
on (the neighbours walls let it step to, exit, place, the floor area of its density window,
counted once since walls do not move) is one ``uint32`` per cell (``sim.core.cell_table``). A
scan reads only the neighbours that mask and the occupancy leave free (the set bits of one
byte, in the scan's order). Turns jump between agents at random, so without prefetching every
read waits on memory: the rows of agents 16 turns ahead are prefetched, and for agents 4 turns
ahead what their first two moves read (field rows x - 2 .. x + 2, cell-table rows x - 1 .. x + 1,
the density window's rows): a miss after a move stalls the scan that picks the next. With the
packed table, that made 1k-10k walkers spread over the map 1.45-2x faster (packing alone: 8-12%).
Each thread's strips of a phase are one run of turns, so prefetching reaches across strips.
Indices known to be in range are read unsigned (``bits.u64``).

Random numbers are counter-based (``sim.core.counter_rng``): draw ``m`` of agent ``i`` (the
scan's starting direction of its move ``m``; ``max_moves`` and ``max_moves + 1``: the mill
chance and direction) is a hash of the step's key, ``i`` and ``m``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .bits import DX, DY, PAD, bits_at, flip, neighbours_taken, popcount64, prefetch, u64
from .cell_table import area_of, enter_of, exit_of, place_of
from ..counter_rng import STRIDE, draw16, draw64
from ..parallel import PRANGE_ONLY
from .state import FLEEING, INJURED, LEFT, MARCH, NOWHERE, RALLY

BUDGET_CAP_CELLS = 1.5
SQRT2 = 1.4142135623730951
PREFETCH_AHEAD = 4  # agents: far enough to hide a cache miss, near enough to stay in the cache
ROW_PREFETCH_AHEAD = 16  # agents: their own rows are fetched earlier, as the map prefetch reads them
assert NOWHERE == -1  # group_by_strip's strip lookup holds off-map agents at index NOWHERE + 1 = 0


def draws_per_agent(max_moves: int) -> int:
    """Counter-based draws an agent's step uses: a scan start per move, a mill chance, a mill direction."""
    n = max_moves + 2
    if n > STRIDE:
        raise ValueError(f"{max_moves} moves per step need more than {STRIDE} draws per agent")
    return n


def strip_width(max_moves: int, window_r: int) -> int:
    """Cells per strip: agents of strips two apart can neither reach nor see each other's cells.

    An agent moves at most ``max_moves + 1`` cells in x (moves plus a step aside) and reads
    ``max(window_r, 1)`` cells beyond where it stands; two such reaches must fit in a strip.
    """
    return 2 * (max_moves + 1 + max(window_r, 1)) + 2


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
    # agent; the table is counted up column by column (3,264 divisions, one per column of the
    # Bishkek map, took longer than grouping a thousand walkers)
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


@njit(cache=True)
def walk_range(lo, hi, order, key, x, y, state, behaviour, target, speed, budget,
               occ, cells, fields, field_place,
               speed_table, window_r, dt, cell_size, mill_threshold, max_moves, flee_factor):
    """Agents ``order[lo:hi]`` take their turns, in that order; returns how many left the map."""
    nyg = cells.shape[1]
    plane = cells.shape[0] * nyg
    words = occ.shape[1]
    mill_col = max_moves
    dir_col = max_moves + 1
    cap = BUDGET_CAP_CELLS * cell_size
    side_len = 2 * window_r + 1
    flat = fields.reshape(fields.size)  # one index per read instead of three
    step_off = np.empty(8, dtype=np.int64)  # flat offset of the neighbour in each direction
    for d in range(8):
        step_off[d] = DX[d] * nyg + DY[d]
    left = 0
    for j in range(lo, hi):
        if j + ROW_PREFETCH_AHEAD < hi:
            k = u64(order[j + ROW_PREFETCH_AHEAD])
            prefetch(x, k)
            prefetch(y, k)
            prefetch(target, k)
            prefetch(state, k)
            prefetch(behaviour, k)
            prefetch(speed, k)
            prefetch(budget, k)
        if j + PREFETCH_AHEAD < hi:
            k = order[j + PREFETCH_AHEAD]
            kx = x[k]
            if kx != NOWHERE:
                ky = y[k]
                # what its first two moves read: a miss after a move stalls the scan that picks the next
                cell = kx * nyg + ky
                on_field = target[k] * plane + cell
                for r in range(-2, 3):
                    prefetch(fields, on_field + r * nyg)
                for r in range(-1, 2):
                    prefetch(cells, cell + r * nyg)
                word = (kx + PAD) * words + ((ky + PAD) >> 6)
                for r in range(-window_r, window_r + 1):
                    prefetch(occ, word + r * words)
        i = u64(order[j])
        ax = x[i]
        ay = y[i]
        if ax == NOWHERE or state[i] == INJURED:
            continue
        # on the map from here on: cell indices are in range and read unsigned (see bits.u64)
        t = target[i]
        goal_place = field_place[t]
        b = behaviour[i]
        c = cells[u64(ax), u64(ay)]
        if b == RALLY and goal_place >= 0 and place_of(c) == goal_place:
            budget[i] = 0.0
            if draw16(key, i, mill_col) < mill_threshold:
                d = draw16(key, i, dir_col) & 7
                qx = ax + DX[d]
                qy = ay + DY[d]
                if (enter_of(c) >> d) & 1 and not (neighbours_taken(occ, ax, ay) >> d) & 1 \
                        and place_of(cells[qx, qy]) == goal_place:
                    flip(occ, ax, ay)
                    flip(occ, qx, qy)
                    x[i] = qx
                    y[i] = qy
            continue

        # walk down the field, slowed by the people around (both counts leave the walker's own cell out)
        count = -1
        py = ay + PAD - window_r
        for px in range(ax + PAD - window_r, ax + PAD + window_r + 1):
            count += popcount64(bits_at(occ, px, py, side_len))
        area = area_of(c)
        run = flee_factor if state[i] == FLEEING else 1.0
        budget[i] += speed[i] * run * speed_table[u64(count), u64(area)] * dt
        here = t * plane + ax * nyg + ay
        cur = np.float64(flat[u64(here)])
        moves = 0
        while moves < max_moves:
            free = enter_of(c) & ~neighbours_taken(occ, ax, ay)
            if free == 0:
                break  # boxed in (common in a dense crowd): the scan below would find nothing to step to
            start = draw16(key, i, moves) & 7
            best = cur
            bd = -1
            side = -1
            # the free neighbours only, from direction ``start`` on, counter-clockwise: ``free`` turned so
            # that bit k is direction start + k, then its set bits lowest first (in a crowd most
            # neighbours are taken, and a scan of all eight branched on each: mispredicted)
            turned = ((free >> start) | (free << (8 - start))) & 0xFF
            while turned != 0:
                d = (start + np.int64(popcount64((turned & -turned) - 1))) & 7
                turned &= turned - 1
                v = np.float64(flat[u64(here + step_off[d])])
                better = v < best
                side = d if (v == cur and side < 0) else side
                best = v if better else best
                bd = d if better else bd
            aside = bd < 0
            if aside:
                # blocked ahead: step aside along the level line, once per step, when held up long enough
                if moves > 0 or side < 0 or budget[i] < cap:
                    break
                bd = side
                cost = cell_size * (SQRT2 if side % 2 == 1 else 1.0)
            else:
                cost = cur - best
                if budget[i] < cost:
                    break
            budget[i] -= cost
            bx = ax + DX[bd]
            by = ay + DY[bd]
            here += step_off[bd]
            flip(occ, ax, ay)
            flip(occ, bx, by)
            ax = bx
            ay = by
            cur = best
            c = cells[u64(ax), u64(ay)]
            if not aside:
                moves += 1
            if exit_of(c):
                flip(occ, ax, ay)
                ax = NOWHERE
                ay = NOWHERE
                state[i] = LEFT
                budget[i] = 0.0
                left += 1
                break
            if aside:
                break
        if ax != NOWHERE and moves == 0 and b == MARCH and goal_place >= 0 and place_of(c) == goal_place:
            behaviour[i] = RALLY  # arrived and packed in as far as it goes
        x[i] = ax
        y[i] = ay
        if budget[i] > cap:
            budget[i] = cap
    return left


@njit(cache=True, parallel=PRANGE_ONLY)
def step_agents(width, offset, nstrips, first_phase, order_key, nslots, key, x, y, state, behaviour, target,
                speed, budget, occ, cells, fields, field_place,
                speed_table, window_r, dt, cell_size, mill_threshold, max_moves, flee_factor):
    """Advance every agent by one time step in place, the strips of each parity spread over
    ``nslots`` threads (see the module docstring); returns how many left the map. (The thread
    count comes from the caller: numba's ``get_num_threads`` inside a kernel stops it caching.)"""
    order, strip_ptr = group_by_strip(x, width, offset, nstrips)
    slot_ptr, slot_strips = plan_slots(strip_ptr, nslots, first_phase)
    # each thread's turns of a phase copied into one run, its strips one after another (strips of
    # one parity are independent, so any sequence of them walks the same): prefetching then
    # reaches across strips, which matters when strips hold only a few agents each; each strip
    # is shuffled there, by the thread that walks it, just before it is walked
    turns = np.empty(order.shape[0], dtype=np.int64)
    start = np.zeros(2 * nslots + 1, dtype=np.int64)
    for p in range(2 * nslots):
        size = 0
        for k in range(slot_ptr[p], slot_ptr[p + 1]):
            s = slot_strips[k]
            size += strip_ptr[s + 1] - strip_ptr[s]
        start[p + 1] = start[p] + size
    left = 0
    for phase in range(2):
        for slot in prange(nslots):
            p = phase * nslots + slot
            m = start[p]
            for k in range(slot_ptr[p], slot_ptr[p + 1]):
                m = take_strip(order, strip_ptr, slot_strips[k], turns, m, order_key)
            left += walk_range(start[p], start[p + 1], turns, key, x, y, state, behaviour, target,
                               speed, budget, occ, cells, fields, field_place,
                               speed_table, window_r, dt, cell_size, mill_threshold, max_moves, flee_factor)
    return left
