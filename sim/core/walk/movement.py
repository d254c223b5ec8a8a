"""Floor-field walking with exclusion and Weidmann speed-density, one step for all agents (numba).

The rules, per agent in the step's order (``sim.core.walk.reference`` states them again in plain
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
  The move chosen is the one with the most progress per metre walked (ties: the first from a
  random direction): in a straight street people walk straight and step diagonally only to get
  round someone, not at random, which sent them drifting across wide streets into each other
  (half Weidmann's speed at 1 per m2 in a 10 m corridor).
  Blocked ahead by someone walking the other way or across (for whom its cell is no step back),
  it may swap places with them (``sim.core.walk.swaps``): streams meeting in a corridor or at a
  junction pass instead of locking.
  Blocked ahead otherwise, it may instead take one step aside to a free cell on the same level
  line (paying the step's length), as people shuffle sideways to find a gap. Among others, it
  keeps out of the way of people coming towards it (``sim.core.walk.anticipation``): lanes form.
  No corner cutting between two walls. A walker stuck behind others keeps at most 1.5 cells
  of unspent walking.
* Stepping on an exit cell means leaving the map.

Order and threads: the turns are taken strip by strip, the strips of one parity on all threads
at once, then the others (``sim.core.walk.strips`` says why that gives the sequential result).

Inputs. The kernels take their inputs as named tuples: the agents' arrays (``state.Walkers``),
the map as the walk reads it (:class:`Ground`) and the walking constants (:class:`WalkConstants`),
built once per run (``engine.Core``), and the step's plan (:class:`StepPlan`). Numba passes a
tuple's members to a compiled function as separate arguments, so a read through a tuple costs
what a read of an argument does; the kernels unpack them once, before their loops. Only the call
from Python costs more: numba's dispatcher takes about a microsecond to type each named tuple
(it encodes the class and field names on every call), a few microseconds a step.

Memory. Occupancy is a bit grid (``sim.core.walk.bits``). What a walker reads of the cell it
stands on (the neighbours walls let it step to, exit, place, the floor area of its density
window, counted once since walls do not move) is one ``uint32`` per cell
(``sim.core.walk.cell_table``). A scan reads only the neighbours that mask and the occupancy
leave free (the set bits of one byte, in the scan's order). Turns jump between agents at random,
so without prefetching every read waits on memory: the rows of agents 16 turns ahead are
prefetched, and for agents 4 turns ahead what their first two moves read (field rows
x - 2 .. x + 2, cell-table rows x - 1 .. x + 1, the bit grid's rows of the density window): a miss
after a move stalls the scan that picks the next. Not what looking ahead reads: the bit grid stays
in L2 (1 MB on the Bishkek map), and prefetching a lane's rows or ``heads`` and ``who`` for every
walker cost more than the lookers' misses (3-7 % of a step). Each thread's strips of a phase are one
run of turns, so prefetching reaches across strips. Indices known to be in range are read unsigned.

Who stands on a cell, for a swap, is ``Contacts.who``: a walker held up (its unspent walking at the
cap; only such can pay to be swapped) or looking ahead writes its cell there at the end of its
turn (and its heading in ``heads``), a swap both cells; nobody else writes (a write per walker costs
5-10 % of a step). An entry is trusted only where that agent's x, y still say so, so a stale one
costs a swap, never a wrong one.

Random numbers are counter-based (``sim.core.counter_rng``): draw ``m`` of agent ``i`` (the
scan's starting direction of its move ``m``; ``max_moves``, ``max_moves + 1`` and
``max_moves + 2``: the mill chance, the mill direction and the swap chance) is a hash of the
step's key, ``i`` and ``m``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .anticipation import dodge, heading, oncoming, side_partner, side_swap
from .bits import DX, DY, PAD, bits_at, flip, neighbours_taken, popcount64, prefetch, u64
from .cell_table import area_of, enter_of, exit_of, place_of
from ..counter_rng import STRIDE, draw16
from ..parallel import PRANGE_ONLY
from .state import FLEEING, INJURED, LEFT, MARCH, NOWHERE, RALLY
from .strips import group_by_strip, plan_slots, take_strip
from .swaps import swap_partner, swap_places

BUDGET_CAP_CELLS = 1.5
SQRT2 = 1.4142135623730951
# metres walked per metre of a step in each direction (bits.DX, DY: odd directions are diagonal), to
# rank moves by progress per metre walked
PER_METRE = np.array([1.0, 1.0 / SQRT2] * 4)
PREFETCH_AHEAD = 4  # agents: far enough to hide a cache miss, near enough to stay in the cache
ROW_PREFETCH_AHEAD = 16  # agents: their own rows are fetched earlier, as the map prefetch reads them


class Ground(NamedTuple):
    """The map as a walker's turn reads it; nothing in it changes during a step."""

    cells: np.ndarray  # uint32 [nx, ny]: the packed cell table (sim.core.walk.cell_table)
    fields: np.ndarray  # float32 [k, nx, ny]: metres to field k's target
    field_place: np.ndarray  # int16 [k]: the place field k leads to, -1 for the exits


class Contacts(NamedTuple):
    """Who stands where, for swaps; kept by the walk itself."""

    who: np.ndarray  # int32 [nx, ny]: the agent that last ended a turn on the cell (-1: nobody yet)
    heads: np.ndarray  # uint8 [nx, ny]: 1 + the heading of the last walker that looked there (0: unknown)
    swapped: np.ndarray  # uint8 [agents]: 1 once swapped into another's cell this step


class WalkConstants(NamedTuple):
    """How far and how fast people walk, in cells, metres and seconds; fixed for a run.

    Floats and ints as Python's own (``float``/``int``), so that one compiled kernel serves
    every scenario: numba compiles a kernel anew for each new combination of types.
    """

    speed_table: np.ndarray  # float64 [others, floor cells]: Weidmann's v(rho)/v0 (state.weidmann_factor_table)
    window_r: int  # cells: the density window is 2 window_r + 1 cells wide
    dt: float  # s per step
    cell_size: float  # m
    mill_threshold: int  # out of 65536: a rallying agent's chance to try a milling move this step
    swap_threshold: int  # out of 65536: the chance that two people facing each other swap places
    horizon: int  # cells: how far ahead walkers look for people coming towards them (0: not at all)
    max_moves: int  # moves (not counting a step aside) an agent may make in a step
    flee_factor: float  # fleeing people walk this many times their free speed
    strip_width: int  # cells (strips.strip_width)
    strips: int  # strips that cover the map at any offset


class StepPlan(NamedTuple):
    """What both engines need to walk one step identically: where the strips start (``offset``,
    cells), which parity of strips goes first, the key that shuffles each strip's turns and the
    key of the step's counter-based draws. The turn order itself is derived from the agents'
    columns at the start of the step (``sim.core.walk.strips``)."""

    offset: int
    first_phase: int
    order_key: int
    key: int


def draws_per_agent(max_moves: int) -> int:
    """Counter-based draws an agent's step uses: a scan start per move, a mill chance, a mill
    direction, a swap chance."""
    n = max_moves + 3
    if n > STRIDE:
        raise ValueError(f"{max_moves} moves per step need more than {STRIDE} draws per agent")
    return n


@njit(cache=True)
def walk_range(lo, hi, order, key, walkers, occ, contacts, ground, walking):
    """Agents ``order[lo:hi]`` take their turns, in that order; returns how many left the map.

    ``walkers``: ``state.Walkers``, written in place; ``occ``: the occupancy bit grid, kept in step
    with every move; ``contacts``: :class:`Contacts`; ``ground``: :class:`Ground`; ``walking``:
    :class:`WalkConstants`; ``key``: the step's key of the counter-based draws.
    """
    x = walkers.x
    y = walkers.y
    kind = walkers.kind
    state = walkers.state
    behaviour = walkers.behaviour
    target = walkers.target
    speed = walkers.speed
    budget = walkers.budget
    who = contacts.who
    heads = contacts.heads
    swapped = contacts.swapped
    swap_threshold = walking.swap_threshold
    horizon = walking.horizon
    cells = ground.cells
    fields = ground.fields
    field_place = ground.field_place
    speed_table = walking.speed_table
    window_r = walking.window_r
    dt = walking.dt
    cell_size = walking.cell_size
    mill_threshold = walking.mill_threshold
    max_moves = walking.max_moves
    flee_factor = walking.flee_factor
    nyg = cells.shape[1]
    plane = cells.shape[0] * nyg
    words = occ.shape[1]
    mill_col = max_moves
    dir_col = max_moves + 1
    swap_col = max_moves + 2
    cap = BUDGET_CAP_CELLS * cell_size
    side_len = 2 * window_r + 1
    flat = fields.reshape(fields.size)  # one index per read instead of three
    per_metre = PER_METRE
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
                    who[qx, qy] = i  # a rally lets those leaving through: say who stands where
                    heads[qx, qy] = 0
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
        tried_swap = False
        # nobody in the window: nobody to keep out of the way of; the heading is the start's, for the step
        h = heading(enter_of(c), cur, here, flat, step_off) if horizon > 0 and count > 0 else -1
        look = h >= 0
        while moves < max_moves:
            taken = neighbours_taken(occ, ax, ay)
            free = enter_of(c) & ~taken
            start = draw16(key, i, moves) & 7
            best = cur
            best_rate = 0.0
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
                rate = (cur - v) * per_metre[d]
                better = rate > best_rate
                side = d if (v == cur and side < 0) else side
                best_rate = rate if better else best_rate
                best = v if better else best
                bd = d if better else bd
            if look and oncoming(ax, ay, bd, h, horizon, occ, heads):  # someone comes towards it: another move?
                bd, best = dodge(ax, ay, bd, best, free, start, cur, here, flat, step_off, per_metre, occ, heads, h,
                                 horizon)
            if bd < 0 and not tried_swap:
                # blocked ahead (or boxed in, common in a dense crowd): swap with someone coming the other
                # way, if anyone is
                tried_swap = True
                if h >= 0 and draw16(key, i, swap_col) < swap_threshold:  # packed in: sideways past them?
                    j, sd = side_partner(i, ax, ay, enter_of(c), taken, h, start, horizon, cell_size, occ, who,
                                         heads, x, y, kind, state, behaviour, target, swapped, budget, fields, cells)
                    if j >= 0:
                        ax, ay = side_swap(i, j, ax, ay, sd, cell_size, x, y, who, heads, swapped, budget)
                        c = cells[u64(ax), u64(ay)]
                        break
                j, sd, sbest, cost_j = swap_partner(i, ax, ay, place_of(c), enter_of(c) & taken, start, cur, here,
                                                    flat, step_off, per_metre, key, swap_col, swap_threshold, x, y,
                                                    kind, state, behaviour, target, swapped, who, fields, field_place,
                                                    budget)
                if j >= 0:
                    moves += 1
                    heads[ax, ay] = 0  # j's heading here is not known until its turn
                    ax, ay, c, here, cur = swap_places(i, j, ax, ay, sd, cur, sbest, cost_j, here, step_off, x, y,
                                                       who, swapped, budget, cells)
                    if exit_of(c):
                        flip(occ, ax, ay)
                        ax = NOWHERE
                        ay = NOWHERE
                        state[i] = LEFT
                        budget[i] = 0.0
                        left += 1
                        break
                    continue
            aside = bd < 0 or best == cur
            if bd < 0:
                # blocked ahead: step aside along the level line, once per step, when held up long enough
                if moves > 0 or side < 0 or budget[i] < cap:
                    break
                bd = side
                cost = cell_size * (SQRT2 if side % 2 == 1 else 1.0)
            elif aside:  # out of the way of someone coming (anticipation.dodge), paying the step's length
                cost = cell_size * (SQRT2 if bd % 2 == 1 else 1.0)
                if budget[i] < cost:
                    break
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
        if budget[i] >= cap or (look and ax != NOWHERE):  # held up (leaving spends it all), or looking
            who[u64(ax), u64(ay)] = i
            heads[u64(ax), u64(ay)] = h + 1
            budget[i] = min(budget[i], cap)
    return left


@njit(cache=True, parallel=PRANGE_ONLY)
def step_agents(plan, nslots, walkers, occ, contacts, ground, walking):
    """Advance every agent by one time step in place, the strips of each parity spread over
    ``nslots`` threads (``sim.core.walk.strips``); returns how many left the map. ``plan`` is the
    step's :class:`StepPlan`, the other inputs are :func:`walk_range`'s. (The thread count comes
    from the caller: numba's ``get_num_threads`` inside a kernel stops it caching.)

    The parallel loop hands the tuples on to :func:`walk_range` and writes nothing itself: numba's
    parfor pass may drop a write, inside the loop, to an array taken out of a tuple (numba issue
    #7135), never a call's.
    """
    contacts.swapped[:] = 0
    order, strip_ptr = group_by_strip(walkers.x, walking.strip_width, plan.offset, walking.strips)
    slot_ptr, slot_strips = plan_slots(strip_ptr, nslots, plan.first_phase)
    order_key = plan.order_key
    key = plan.key
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
            left += walk_range(start[p], start[p + 1], turns, key, walkers, occ, contacts, ground, walking)
    return left
