"""Epstein's civil-violence model (Epstein 2002, model 1) as numba kernels over plain arrays.

One step, in phases so that most of it runs in parallel and the result does not depend on the
number of threads:

1. jail: terms count down; a citizen whose term is over comes out (if jailed agents left the
   grid, it returns to its old cell if free, else to a random empty cell within its vision,
   else waits a step); serial, in agent order.
2. decisions: every free citizen applies Epstein's rule (``sim.core.activation``) to the cops
   and actives within its vision as they stood at the start of the phase.
3. arrests: every cop picks one random active within its vision (as they stand after the
   decisions); two cops that pick the same active arrest it once. Jail terms are U{0..J_max}.
   A summed-area table rules out in O(1) the cops with no active near them; the others scan.
4. movement: every agent not in jail moves to a random empty cell within its vision. The grid
   is cut into bands of columns at least one vision wide; bands three apart never touch the
   same cells, so the three colour classes are walked one after the other, the bands of a class
   in parallel, each band serially in cell order (a sequential update, like Mesa's, within it).

Counts within vision are O(1) per agent: cops and actives are packed into one uint32 per cell
(cops << 16 | actives) and summed in a summed-area table (mod 2^32, exact for any window of
fewer than 65536 cells). The von Neumann diamond |dx| + |dy| <= v is a square in the rotated
coordinates (x + y, x - y), so it gets a summed-area table of the rotated grid. The torus is
handled by padding the grid with ``v`` wrapped cells on each side.

Random numbers are counter-based (``sim.core.counter_rng``): draw ``k`` of agent ``i`` under
the phase's key, the same in any order, on any thread, and in the reference engine
(``sim.core.epstein_reference``), which computes the same step agent by agent by scanning
windows, and agrees bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from .activation import arrest_probability_table, is_active
from .counter_rng import draw64

QUIET, ACTIVE, JAILED = 0, 1, 2
STATE_NAMES = ("quiet", "active", "jailed")
CITIZEN, COP = 0, 1
VON_NEUMANN, MOORE = 0, 1
NEIGHBOURHOODS = {"von_neumann": VON_NEUMANN, "moore": MOORE}
KEEP_CELL, LEAVE_GRID = 0, 1
JAIL_MODES = {"keep_cell": KEEP_CELL, "leave_grid": LEAVE_GRID}
EMPTY = -1
FREE, CITIZEN_TO_MOVE, COP_TO_MOVE, STAYS = 0, 1, 2, 3  # cell codes of the movement phase
MOVE_TRIES = 24  # random cells tried before counting the empty ones (uniform either way)
COUNT_BITS = 16
MAX_VISION = 127  # windows stay under 2^16 cells, so packed counts never carry
PARALLEL_CELLS = 500 * 500  # smaller grids step on one thread (see Kernels.step)


@dataclass(frozen=True)
class Rules:
    """The model's settings as the kernels need them (ints and floats only)."""

    width: int
    height: int
    citizen_vision: int
    cop_vision: int
    neighbourhood: int  # VON_NEUMANN or MOORE
    rounding: int  # activation.FLOOR or activation.ROUND_HALF_EVEN
    jail_mode: int  # KEEP_CELL or LEAVE_GRID
    k: float
    threshold: float
    max_jail_term: int
    movement: bool

    def offsets(self, vision: int) -> tuple[np.ndarray, np.ndarray]:
        return window_offsets(vision, self.neighbourhood)

    def arrest_table(self) -> np.ndarray:
        """P(ratio) for every ratio a citizen can see (at most one cop per cell of its window)."""
        return arrest_probability_table(self.k, len(self.offsets(self.citizen_vision)[0]))


@dataclass
class World:
    """Struct of arrays: agents ``x, y, kind, state, hardship, risk, jail`` and the grid ``occ``
    (agent index per cell, ``EMPTY`` if none; jailed agents are on it only with KEEP_CELL)."""

    x: np.ndarray  # int32
    y: np.ndarray  # int32
    kind: np.ndarray  # uint8: CITIZEN or COP
    state: np.ndarray  # uint8: QUIET, ACTIVE, JAILED (cops stay QUIET)
    hardship: np.ndarray  # float64, U(0, 1)
    risk: np.ndarray  # float64, U(0, 1)
    jail: np.ndarray  # int32, steps left in jail
    occ: np.ndarray  # int32 [width, height]

    def copy(self) -> "World":
        return World(**{name: getattr(self, name).copy() for name in self.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.x)


def populate(width: int, height: int, citizen_density: float, cop_density: float,
             rng: np.random.Generator) -> World:
    """Each cell holds a citizen, a cop or nothing with the given probabilities (as Mesa's example);
    agents are numbered in cell order; hardship and risk aversion are U(0, 1)."""
    u = rng.random((width, height))
    kind_grid = np.where(u < citizen_density, CITIZEN, np.where(u < citizen_density + cop_density, COP, 2))
    xs, ys = np.nonzero(kind_grid != 2)
    n = len(xs)
    occ = np.full((width, height), EMPTY, dtype=np.int32)
    occ[xs, ys] = np.arange(n, dtype=np.int32)
    return World(x=xs.astype(np.int32), y=ys.astype(np.int32), kind=kind_grid[xs, ys].astype(np.uint8),
                 state=np.zeros(n, np.uint8), hardship=rng.random(n), risk=rng.random(n),
                 jail=np.zeros(n, np.int32), occ=occ)


def window_offsets(vision: int, neighbourhood: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells an agent sees, relative to its own (which is left out), in a fixed order:
    dx ascending, then dy ascending. Both engines scan windows in this order."""
    d = np.arange(-vision, vision + 1)
    dx, dy = np.meshgrid(d, d, indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    keep = (dx != 0) | (dy != 0)
    if neighbourhood == VON_NEUMANN:
        keep &= np.abs(dx) + np.abs(dy) <= vision
    return dx[keep].astype(np.int32), dy[keep].astype(np.int32)


def move_bands(width: int, vision: int) -> np.ndarray:
    """Column ranges ``[b[i], b[i+1])`` for the movement phase: a multiple of three bands, each at
    least ``vision`` wide, so bands three apart (also across the torus seam) share no cell any
    agent of theirs can see. One band (serial) when the grid is too narrow."""
    n = 3 * (width // (3 * max(vision, 1)))
    n = n if n >= 3 else 1
    return np.array([b * width // n for b in range(n + 1)], dtype=np.int64)


@njit(cache=True, inline="always")
def wrap(c, n):
    """``c % n`` for ``-n <= c < 2n``, without a division."""
    if c < 0:
        return c + n
    if c >= n:
        return c - n
    return c


@njit(cache=True, inline="always")
def pick(key, i, k, m):
    """A uniform integer in [0, m) from draw ``k`` of agent ``i`` (top 32 bits times m, shifted)."""
    return np.int64(((draw64(key, i, k) >> np.uint64(32)) * np.uint64(m)) >> np.uint64(32))


# --- counts within vision ------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def pack_counts(occ, kind, state, out):
    """``out[x, y]`` = (1 << 16 if a cop is there) + (1 if an active citizen is there)."""
    w, h = occ.shape
    for x in prange(w):
        for y in range(h):
            a = occ[x, y]
            v = 0
            if a >= 0:
                if kind[a] == COP:
                    v = 1 << COUNT_BITS
                elif state[a] == ACTIVE:
                    v = 1
            out[x, y] = v


@njit(cache=True, parallel=True)
def _column_prefix(table):
    """Cumulative sums down the first axis, in place (mod 2^32), in parallel over blocks of columns."""
    n0, n1 = table.shape
    block = 256
    for b in prange((n1 + block - 1) // block):
        lo = b * block
        hi = min(n1, lo + block)
        for i in range(1, n0):
            for j in range(lo, hi):
                table[i, j] = table[i, j] + table[i - 1, j]


@njit(cache=True, parallel=True)
def _square_rows(packed, r, table):
    """Rows of the summed-area table of the grid padded by ``r`` wrapped cells: row sums only."""
    w, h = packed.shape
    n0, n1 = table.shape
    for p in prange(n0 - 1):
        x = (p - r) % w
        acc = np.uint32(0)
        table[p + 1, 0] = 0
        y = (h - r) % h
        for q in range(n1 - 1):
            acc += packed[x, y]
            table[p + 1, q + 1] = acc
            y = y + 1 if y + 1 < h else 0
    for q in range(n1):
        table[0, q] = 0


@njit(cache=True, parallel=True)
def _diamond_rows(packed, r, table):
    """Row sums of the rotated padded grid: cell (p, q) of the padded grid sits at
    (u, v) = (p + q, p - q + H + 2r - 1); cells in between are zero."""
    w, h = packed.shape
    pw, ph = w + 2 * r, h + 2 * r
    n = table.shape[0] - 1
    shift = ph - 1
    for u in prange(n):
        acc = np.uint32(0)
        done = 0  # table[u + 1, :done + 1] is written
        table[u + 1, 0] = 0
        for p in range(max(0, u - ph + 1), min(pw - 1, u) + 1):
            v = 2 * p - u + shift
            for t in range(done, v):
                table[u + 1, t + 1] = acc
            acc += packed[wrap(p - r, w), wrap(u - p - r, h)]
            table[u + 1, v + 1] = acc
            done = v + 1
        for t in range(done, n):
            table[u + 1, t + 1] = acc
    for v in range(n + 1):
        table[0, v] = 0


@njit(cache=True)
def build_table(packed, r, neighbourhood, table):
    """Fill ``table`` (of :func:`sat_shape`) with the summed-area table of ``packed`` padded by ``r``."""
    if neighbourhood == MOORE:
        _square_rows(packed, r, table)
    else:
        _diamond_rows(packed, r, table)
    _column_prefix(table)


def summed_area_table(packed: np.ndarray, r: int, neighbourhood: int) -> np.ndarray:
    """The summed-area table that answers window sums of radius up to ``r`` (see :func:`window_sum`)."""
    table = np.empty(sat_shape(*packed.shape, r, neighbourhood), dtype=np.uint32)
    build_table(packed, r, neighbourhood, table)
    return table


def sat_shape(width: int, height: int, r: int, neighbourhood: int) -> tuple[int, int]:
    if neighbourhood == MOORE:
        return width + 2 * r + 1, height + 2 * r + 1
    n = width + height + 4 * r - 1
    return n + 1, n + 1


@njit(cache=True, inline="always")
def window_sum(table, x, y, vision, r, height, neighbourhood):
    """Packed counts over the window of radius ``vision`` around (x, y), its centre included,
    from a table built with padding ``r >= vision``."""
    if neighbourhood == MOORE:
        x0, y0 = x + r - vision, y + r - vision
        x1, y1 = x + r + vision + 1, y + r + vision + 1
    else:
        u = x + y + 2 * r
        v = x - y + height + 2 * r - 1
        x0, y0 = u - vision, v - vision
        x1, y1 = u + vision + 1, v + vision + 1
    s = (np.int64(table[x1, y1]) - np.int64(table[x0, y1]) - np.int64(table[x1, y0]) + np.int64(table[x0, y0]))
    return s & 0xFFFFFFFF


# --- the phases ------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _random_empty(grid, x, y, dx, dy, key, i, empty):
    """A uniformly random cell among (x + dx, y + dy) on the torus where ``grid`` holds ``empty``,
    or (-1, -1) if none: ``MOVE_TRIES`` random cells first (draws 0 ..), then one of the empty ones
    (draw ``MOVE_TRIES``)."""
    w, h = grid.shape
    m = dx.shape[0]
    for t in range(MOVE_TRIES):
        o = pick(key, i, t, m)
        cx, cy = wrap(x + dx[o], w), wrap(y + dy[o], h)
        if grid[cx, cy] == empty:
            return cx, cy
    free = 0
    for o in range(m):
        if grid[wrap(x + dx[o], w), wrap(y + dy[o], h)] == empty:
            free += 1
    if free == 0:
        return -1, -1
    j = pick(key, i, MOVE_TRIES, free)
    for o in range(m):
        cx, cy = wrap(x + dx[o], w), wrap(y + dy[o], h)
        if grid[cx, cy] == empty:
            if j == 0:
                return cx, cy
            j -= 1
    return -1, -1


@njit(cache=True)
def jail_phase(x, y, state, jail, occ, dx, dy, key, jail_mode):
    """Count terms down; release those whose term is over (see the module docstring)."""
    for i in range(x.shape[0]):
        if state[i] != JAILED:
            continue
        if jail[i] > 0:
            jail[i] -= 1
        elif jail_mode == KEEP_CELL:
            state[i] = QUIET
        else:
            cx, cy = x[i], y[i]
            if occ[cx, cy] != EMPTY:
                cx, cy = _random_empty(occ, x[i], y[i], dx, dy, key, i, EMPTY)
            if cx >= 0:
                x[i], y[i] = cx, cy
                occ[cx, cy] = i
                state[i] = QUIET


@njit(cache=True, parallel=True)
def decide_phase(x, y, kind, state, hardship, risk, table, r, height, vision, neighbourhood, legitimacy,
                 p_table, threshold, rounding):
    """Every free citizen becomes active or quiet by Epstein's rule (counts from ``table``).
    A grievance at or below the threshold is quiet whatever the counts (R P >= 0), so the
    counts are read only for the others."""
    for i in prange(x.shape[0]):
        if kind[i] != CITIZEN or state[i] == JAILED:
            continue
        grievance = hardship[i] * (1.0 - legitimacy)
        if grievance <= threshold:
            state[i] = QUIET
            continue
        s = window_sum(table, x[i], y[i], vision, r, height, neighbourhood)
        cops = s >> COUNT_BITS
        others = (s & 0xFFFF) - (1 if state[i] == ACTIVE else 0)
        if is_active(grievance, risk[i], cops, others + 1, p_table, threshold, rounding):
            state[i] = ACTIVE
        else:
            state[i] = QUIET


@njit(cache=True, parallel=True)
def arrest_phase(x, y, kind, state, jail, occ, square, r, vision, dx, dy, key, max_jail_term, jail_mode, marked):
    """Every cop arrests one random active within its vision (the j-th in window order). ``square``
    (a MOORE table) rules out, in O(1), cops with no active in the square around their window;
    the others count and pick by scanning their window."""
    w, h = occ.shape
    n = x.shape[0]
    for i in prange(n):
        if kind[i] != COP or window_sum(square, x[i], y[i], vision, r, h, MOORE) & 0xFFFF == 0:
            continue
        actives = 0
        for o in range(dx.shape[0]):
            a = occ[wrap(x[i] + dx[o], w), wrap(y[i] + dy[o], h)]
            if a >= 0 and kind[a] == CITIZEN and state[a] == ACTIVE:
                actives += 1
        if actives == 0:
            continue
        j = pick(key, i, 0, actives)
        for o in range(dx.shape[0]):
            a = occ[wrap(x[i] + dx[o], w), wrap(y[i] + dy[o], h)]
            if a >= 0 and kind[a] == CITIZEN and state[a] == ACTIVE:
                if j == 0:
                    marked[a] = 1  # cops picking the same active write the same value
                    break
                j -= 1
    for i in prange(n):
        if marked[i]:
            marked[i] = 0
            state[i] = JAILED
            jail[i] = pick(key, i, 1, max_jail_term + 1)
            if jail_mode == LEAVE_GRID:
                occ[x[i], y[i]] = EMPTY


@njit(cache=True, parallel=True)
def _cell_codes(occ, kind, state, code):
    """What the movement phase needs per cell, in one byte (so it never reads agent arrays)."""
    w, h = occ.shape
    for cx in prange(w):
        for cy in range(h):
            a = occ[cx, cy]
            if a < 0:
                code[cx, cy] = FREE
            elif state[a] == JAILED:
                code[cx, cy] = STAYS
            elif kind[a] == COP:
                code[cx, cy] = COP_TO_MOVE
            else:
                code[cx, cy] = CITIZEN_TO_MOVE


@njit(cache=True, inline="always")
def _move_band(lo, hi, x, y, occ, code, cdx, cdy, pdx, pdy, key):
    h = occ.shape[1]
    for cx in range(lo, hi):
        for cy in range(h):
            c = code[cx, cy]
            if c != CITIZEN_TO_MOVE and c != COP_TO_MOVE:
                continue
            a = occ[cx, cy]
            if c == COP_TO_MOVE:
                nx, ny = _random_empty(code, cx, cy, pdx, pdy, key, a, FREE)
            else:
                nx, ny = _random_empty(code, cx, cy, cdx, cdy, key, a, FREE)
            if nx >= 0:
                code[cx, cy] = FREE
                occ[cx, cy] = EMPTY
                code[nx, ny] = STAYS  # moved: not again this step
                occ[nx, ny] = a
                x[a], y[a] = nx, ny


@njit(cache=True, parallel=True)
def move_phase(x, y, kind, state, occ, code, bands, cdx, cdy, pdx, pdy, key):
    """Every agent not in jail moves to a random empty cell within its vision: bands of one colour
    class in parallel, the three classes in turn."""
    _cell_codes(occ, kind, state, code)
    nb = bands.shape[0] - 1
    if nb < 3:
        _move_band(0, occ.shape[0], x, y, occ, code, cdx, cdy, pdx, pdy, key)
        return
    for colour in range(3):
        for t in prange(nb // 3):
            b = 3 * t + colour
            _move_band(bands[b], bands[b + 1], x, y, occ, code, cdx, cdy, pdx, pdy, key)


@njit(cache=True)
def step_kernel(x, y, kind, state, hardship, risk, jail, occ, packed, table, square, code, marked, bands,
                cdx, cdy, pdx, pdy, p_table, pad, citizen_vision, cop_vision, neighbourhood, rounding, jail_mode,
                threshold, max_jail_term, movement, legitimacy, jail_key, arrest_key, move_key):
    """The four phases of a step, in one call (one dispatch from Python, not a dozen)."""
    h = occ.shape[1]
    jail_phase(x, y, state, jail, occ, cdx, cdy, jail_key, jail_mode)
    pack_counts(occ, kind, state, packed)
    build_table(packed, pad, neighbourhood, table)
    decide_phase(x, y, kind, state, hardship, risk, table, pad, h, citizen_vision, neighbourhood, legitimacy,
                 p_table, threshold, rounding)
    pack_counts(occ, kind, state, packed)
    build_table(packed, pad, MOORE, square)
    arrest_phase(x, y, kind, state, jail, occ, square, pad, cop_vision, pdx, pdy, arrest_key, max_jail_term,
                 jail_mode, marked)
    if movement:
        move_phase(x, y, kind, state, occ, code, bands, cdx, cdy, pdx, pdy, move_key)


class Kernels:
    """The fast engine: one ``step`` advances a :class:`World` in place under :class:`Rules`."""

    def __init__(self, rules: Rules, world: World) -> None:
        self.rules = rules
        self.cdx, self.cdy = rules.offsets(rules.citizen_vision)
        self.pdx, self.pdy = rules.offsets(rules.cop_vision)
        self.p_table = rules.arrest_table()
        self.pad = max(rules.citizen_vision, rules.cop_vision)
        self.bands = move_bands(rules.width, self.pad)
        w, h = rules.width, rules.height
        self.packed = np.empty((w, h), dtype=np.uint32)
        self.marked = np.zeros(len(world), dtype=np.uint8)
        self.code = np.empty((w, h), dtype=np.uint8)
        # the decisions' table (by the rules' neighbourhood), then the arrests' square one (may share memory)
        self.table = np.empty(sat_shape(w, h, self.pad, rules.neighbourhood), dtype=np.uint32)
        self.square = self.table if rules.neighbourhood == MOORE else np.empty(sat_shape(w, h, self.pad, MOORE),
                                                                               dtype=np.uint32)

    def step(self, world: World, legitimacy: float, keys: tuple[int, int, int]) -> None:
        """One step; ``keys`` are the counter-RNG keys of the jail, arrest and movement phases.

        Grids under ``PARALLEL_CELLS`` run on one thread: a step has a dozen parallel regions, and
        on a busy machine each can wait a scheduler time slice for its second thread (measured:
        100 ms a step at 100x100 on two shared cores, 1.6 ms on one)."""
        if self.rules.width * self.rules.height >= PARALLEL_CELLS:
            self._step(world, legitimacy, keys)
            return
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            self._step(world, legitimacy, keys)
        finally:
            numba.set_num_threads(threads)

    def _step(self, world: World, legitimacy: float, keys: tuple[int, int, int]) -> None:
        r, w = self.rules, world
        step_kernel(w.x, w.y, w.kind, w.state, w.hardship, w.risk, w.jail, w.occ, self.packed, self.table,
                    self.square, self.code, self.marked, self.bands, self.cdx, self.cdy, self.pdx, self.pdy,
                    self.p_table, self.pad, r.citizen_vision, r.cop_vision, r.neighbourhood, r.rounding,
                    r.jail_mode, r.threshold, r.max_jail_term, r.movement, legitimacy, keys[0], keys[1], keys[2])
