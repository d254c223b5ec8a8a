"""Epstein's civil-violence model (Epstein 2002, model 1) as numba kernels over plain arrays.

One step, in phases so that most of it runs in parallel and the result does not depend on the
number of threads:

1. jail: terms count down; a citizen whose term is over comes out (if jailed agents left the
   grid, it returns to its old cell if free, else to a random empty cell within its vision,
   else waits a step; serial, in agent order).
2. decisions: every free citizen applies Epstein's rule (``sim.core.activation``, as a table of
   the arrest probability by counts of cops and actives) to the cops and actives within its
   vision as they stood at the start of the phase.
3. arrests: every cop picks one random active within its vision (as they stand after the
   decisions); two cops that pick the same active arrest it once. Jail terms are U{0..J_max}.
   A map of the 8x8 blocks that hold an active rules out in O(1) the cops with none near them;
   the others scan their window.
4. movement: every agent not in jail moves to a random empty cell within its vision. The grid
   is cut into bands of columns, coloured so that bands of one colour never touch the same
   cells (:func:`move_bands`); the colours are walked one after the other, the bands of a colour
   in parallel, each band serially in cell order (a sequential update, like Mesa's, within it).
   A random empty cell is found by random tries (two per hash), then by counting if all fail.

Runs of several steps on grids under ``PARALLEL_CELLS`` go through ``sim.core.epstein_duo``: two
workers share each phase, meeting at spin barriers, with the same result.

The phases work on cells, in cell order, not on agents: one byte per cell says what is on it
(free, quiet or active citizen, cop, jailed citizen keeping its cell), ``occ`` who, and
``traits`` the hardship and risk aversion of the citizen there, which move with it. Agents are
numbered in no spatial order, so a pass over agents reads and writes cells all over the grid;
a pass over cells streams. The agents' ``x, y`` and ``state`` are written from the cells when
asked (:meth:`Kernels.sync`), except for those going to or out of jail.

Counts within vision are computed for every cell at once before the decisions: cops and actives
are packed into one uint32 per cell (cops << 16 | actives, exact for windows of fewer than 65536
cells), the grid is padded by wrapped cells (the torus). A Moore square is row sums then column
sums; the von Neumann diamond |dx| + |dy| <= v slides along each row, each step adding the cells
entering at its right boundary and taking those leaving at its left, each boundary two diagonal
segments read off running sums along the diagonals: eight reads a cell whatever the vision
(:func:`window_counts`).

Random numbers are counter-based (``sim.core.counter_rng``): draw ``k`` of agent ``i`` under
the phase's key, the same in any order, on any thread, and in the reference engine
(``sim.core.epstein_reference``), which computes the same step agent by agent by scanning
windows, and agrees bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from ..activation import arrest_probability_grid, arrest_probability_table
from ..counter_rng import draw64
from .. import spin
from ..parallel import PRANGE_ONLY, serial_twins

QUIET, ACTIVE, JAILED = 0, 1, 2
STATE_NAMES = ("quiet", "active", "jailed")
CITIZEN, COP = 0, 1
VON_NEUMANN, MOORE = 0, 1
NEIGHBOURHOODS = {"von_neumann": VON_NEUMANN, "moore": MOORE}
KEEP_CELL, LEAVE_GRID = 0, 1
JAIL_MODES = {"keep_cell": KEEP_CELL, "leave_grid": LEAVE_GRID}
EMPTY = -1
FREE, QUIET_CITIZEN, ACTIVE_CITIZEN, COP_CELL, STAYS = 0, 1, 2, 3, 4  # cell codes (STAYS: jailed on its cell)
MOVED = 8  # added to the code of an agent that has moved this step (cleared at the end of the phase)
BLOCK_BITS = 3
BLOCK = 1 << BLOCK_BITS  # the arrests' map of actives has one entry per BLOCK x BLOCK cells
MOVE_TRIES = 24  # random cells tried (two per 64-bit draw) before counting the empty ones (uniform either way)
COUNT_BITS = 16
MAX_VISION = 127  # windows stay under 2^16 cells, so packed counts never carry
PARALLEL_CELLS = 500 * 500  # smaller grids step on the serial twins of the kernels (see Kernels.step)
BUSY_RUNS, BUSY_BACKOFF_S = 5, 0.5  # after so many busy two-worker runs in a row, one worker so long (run)


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

    def arrest_grid(self) -> np.ndarray:
        """P(C / A) for every count of cops C and of actives A (counting oneself) a citizen can see."""
        return arrest_probability_grid(self.arrest_table(), len(self.offsets(self.citizen_vision)[0]), self.rounding)


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
    agents are numbered in cell order; hardship and risk aversion are U(0, 1) (24-bit)."""
    u = rng.random((width, height))
    kind_grid = np.where(u < citizen_density, CITIZEN, np.where(u < citizen_density + cop_density, COP, 2))
    xs, ys = np.nonzero(kind_grid != 2)
    n = len(xs)
    occ = np.full((width, height), EMPTY, dtype=np.int32)
    occ[xs, ys] = np.arange(n, dtype=np.int32)
    return World(x=xs.astype(np.int32), y=ys.astype(np.int32), kind=kind_grid[xs, ys].astype(np.uint8),
                 state=np.zeros(n, np.uint8), hardship=_uniform32(rng, n), risk=_uniform32(rng, n),
                 jail=np.zeros(n, np.int32), occ=occ)


def _uniform32(rng: np.random.Generator, n: int) -> np.ndarray:
    """U(0, 1) with float32's 24 bits, as float64: the kernels can keep such values in half the
    memory and compute with them exactly as the float64 arrays say."""
    return rng.random(n, dtype=np.float32).astype(np.float64)


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


def move_bands(width: int, vision: int) -> tuple[np.ndarray, int]:
    """Column ranges ``[b[i], b[i+1])`` for the movement phase, and their number of colours ``k``:
    band ``i`` has colour ``i % k``, and bands of one colour are more than ``2 * vision`` columns
    apart (also across the torus seam), so their agents see no cell in common and can move at the
    same time. Three colours of bands at least ``vision`` wide where that makes two bands a colour
    or more; else the fewest colours that do, with narrower bands (``k`` colours: at least
    ``2 * vision / (k - 1)`` wide; 40 columns of vision 7: 8 bands of 5, 4 colours), so that two
    threads can share each colour; else three bands, or one when the grid is too narrow."""
    v = max(vision, 1)
    for k in range(3, 2 * v + 2):
        per_colour = width // (k * -(-2 * v // (k - 1)))
        if per_colour >= 2:
            n = k * per_colour
            break
    else:
        k = n = 3 if width >= 3 * v else 1
    return np.array([b * width // n for b in range(n + 1)], dtype=np.int64), k


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


@njit(cache=True, inline="always")
def try_pick(draw, half, m):
    """The window index in [0, m) of a movement try: the low (``half`` 0) or high (1) 32 bits of
    ``draw`` times m, shifted; try ``t`` takes half ``t % 2`` of draw ``t // 2`` (two tries per
    hash). Unsigned, as it indexes: numba wraps signed indices, which costs a third of a try."""
    bits = (draw >> np.uint64(32 * half)) & np.uint64(0xFFFFFFFF)
    return np.uint64((bits * np.uint64(m)) >> np.uint64(32))


@njit(cache=True, parallel=PRANGE_ONLY)
def build_cells(x, y, kind, state, cells, jail_mode):
    """``cells[x, y]`` = the cell's code (FREE, QUIET_CITIZEN, ACTIVE_CITIZEN, COP_CELL, STAYS for a
    jailed agent that keeps its cell), from the agents, so the phases never read agent arrays to
    see what is on a cell. Built once; the phases keep it up to date."""
    w, h = cells.shape
    for cx in prange(w):
        for cy in range(h):
            cells[cx, cy] = FREE
    for i in prange(x.shape[0]):
        s = state[i]
        if s == JAILED:
            if jail_mode == LEAVE_GRID:
                continue
            c = STAYS
        elif kind[i] == COP:
            c = COP_CELL
        elif s == ACTIVE:
            c = ACTIVE_CITIZEN
        else:
            c = QUIET_CITIZEN
        cells[x[i], y[i]] = c


@njit(cache=True, parallel=PRANGE_ONLY)
def sync_agents(x, y, state, occ, cells):
    """The agents' ``x, y`` and ``state`` from the cells (jailed agents off the grid keep theirs):
    the phases work on cells and leave the agent arrays behind, as writing them costs a store
    to a random agent's row per agent and step; this brings them up to date when asked."""
    w, h = cells.shape
    for cx in prange(w):
        row = cells[cx]
        orow = occ[cx]
        for cy in range(h):
            code = row[cy]
            if code == FREE:
                continue
            a = orow[cy]
            x[a], y[a] = cx, cy
            state[a] = ACTIVE if code == ACTIVE_CITIZEN else (JAILED if code == STAYS else QUIET)


@njit(cache=True, inline="always")
def count_rows(cells, lo, hi):
    """How many cells of rows [lo, hi) hold a quiet citizen, and an active one."""
    quiet, active = 0, 0
    for cx in range(lo, hi):
        row = cells[cx]
        for cy in range(row.shape[0]):
            c = row[cy]
            quiet += c == QUIET_CITIZEN
            active += c == ACTIVE_CITIZEN
    return quiet, active


@njit(cache=True)
def cell_counts(cells):
    """How many cells hold a quiet citizen, and an active one. On one thread: called between
    steps, where waking a second thread costs more than it saves."""
    return count_rows(cells, 0, cells.shape[0])


@njit(cache=True, inline="always")
def pad_rows(cells, r, padded, lo, hi):
    """Rows [lo, hi) of :func:`pad_packed`."""
    w, h = cells.shape
    ph = padded.shape[1]
    for p in range(lo, hi):
        src = cells[(p - r) % w]
        row = padded[p]
        middle = row[r:r + h]  # indexed from 0, so the loop vectorizes
        for q in range(h):
            c = src[q]
            middle[q] = (np.uint32(c == COP_CELL) << np.uint32(COUNT_BITS)) | np.uint32(c == ACTIVE_CITIZEN)
        for q in range(r + h, ph):  # right padding, ascending: reads cells already written
            row[q] = row[q - h]
        for q in range(r - 1, -1, -1):  # left padding, descending
            row[q] = row[q + h]


@njit(cache=True, parallel=PRANGE_ONLY)
def pad_packed(cells, r, padded):
    """``padded`` = the packed counts (cop << 16 | active) of the grid padded by ``r`` wrapped cells."""
    for p in prange(padded.shape[0]):
        pad_rows(cells, r, padded, p, p + 1)


@njit(cache=True, inline="always")
def _add_row(dst, src):
    """``dst += src`` (slices of equal length; indices from 0 so the loop vectorizes)."""
    for q in range(dst.shape[0]):
        dst[q] += src[q]


@njit(cache=True, inline="always")
def prefix_down(padded, sa, lo, hi):
    """Running sums along the diagonals over rows [lo, hi): ``sa[p, q]`` = sum of
    ``padded[p - t, q - t]`` over t >= 0 with p - t >= lo and q - t >= 0. Row by row (each from the
    one before, shifted), so serial; vectorized along the rows. A difference of two sums on one
    diagonal is the sum between them, whatever ``lo`` below both."""
    ph = padded.shape[1]
    sa[lo] = padded[lo]
    for p in range(lo + 1, hi):
        sa[p, 0] = padded[p, 0]
        _sum_row(sa[p, 1:], padded[p, 1:], sa[p - 1, :ph - 1])


@njit(cache=True, inline="always")
def prefix_up(padded, sb, lo, hi):
    """Running sums along the antidiagonals: ``sb[p, q]`` = sum of ``padded[p - t, q + t]`` (as
    :func:`prefix_down`)."""
    ph = padded.shape[1]
    sb[lo] = padded[lo]
    for p in range(lo + 1, hi):
        sb[p, ph - 1] = padded[p, ph - 1]
        _sum_row(sb[p, :ph - 1], padded[p, :ph - 1], sb[p - 1, 1:])


@njit(cache=True, inline="always")
def _sum_row(dst, a, b):
    """``dst = a + b`` (slices of equal length)."""
    for q in range(dst.shape[0]):
        dst[q] = a[q] + b[q]


@njit(cache=True, inline="always")
def diamond_first(padded, sa, sb, v, r, first, lo, hi):
    """``first[x]`` for x in [lo, hi): the diamond sum of :func:`diamond_rows` around padded cell
    (x + r, r), the first of its row: the one at ``lo`` summed, each next the one before slid down a
    row (as :func:`diamond_rows` slides along one). Reads padded rows from lo + r - v - 1 to
    hi + r + v."""
    d = np.uint64(0)
    for a in range(-v, v + 1):
        e = v - abs(a)
        for b in range(r - e, r + e + 1):
            d += padded[lo + r + a, b]
    q = r
    for x in range(lo, hi):  # from the diamond around (p, q) to the one around (p + 1, q)
        first[x] = d
        p = x + r
        d += sa[p + v + 1, q] - sa[p, q - v - 1]  # entering: (p + 1, q - v) .. (p + v + 1, q)
        d += sb[p + v, q + 1] - sb[p, q + v + 1]  # entering: (p + 1, q + v) .. (p + v, q + 1)
        d -= sb[p, q - v] - sb[p - v - 1, q + 1]  # leaving: (p - v, q) .. (p, q - v)
        d -= sa[p, q + v] - sa[p - v, q]  # leaving: (p - v + 1, q + 1) .. (p, q + v)


@njit(cache=True, inline="always")
def diamond_rows(padded, sa, sb, v, r, first, out, lo, hi):
    """Rows [lo, hi) of ``out[x, y]`` = the sum of ``padded`` over the diamond |dx| + |dy| <= v around
    padded cell (x + r, y + r), for r > v. Each row starts from ``first`` (:func:`diamond_first`);
    each next diamond along it is the one before plus the cells entering at one boundary, less
    those leaving at the other: each boundary is two diagonal segments, each a difference of two
    running sums (``sa``, ``sb``: :func:`prefix_down`, :func:`prefix_up`). Eight reads a cell,
    whatever the vision. The sums are exact, so their unsigned 64-bit arithmetic (numba's for
    uint32) never wraps in the result."""
    h = out.shape[1]
    for x in range(lo, hi):
        p = x + r
        a_here, a_above, a_below = sa[p], sa[p - v - 1], sa[p + v]
        b_here, b_above, b_below = sb[p], sb[p - v - 1], sb[p + v]
        row = out[x]
        d = first[x]
        row[0] = d
        one, vu = np.uint64(1), np.uint64(v)  # unsigned indices: numba wraps signed ones
        for y in range(1, h):
            q = np.uint64(r + y - 1)  # from the diamond around (p, q) to the one around (p, q + 1)
            d += a_here[q + vu + one] - a_above[q]  # entering: (p - v, q + 1) .. (p, q + v + 1)
            d += b_below[q + one] - b_here[q + vu + one]  # entering: (p + 1, q + v) .. (p + v, q + 1)
            d -= b_here[q - vu] - b_above[q + one]  # leaving: (p - v, q) .. (p, q - v)
            d -= a_below[q] - a_here[q - vu]  # leaving: (p + 1, q - v + 1) .. (p + v, q)
            row[y] = d


@njit(cache=True, parallel=PRANGE_ONLY)
def _diamond_counts(padded, sa, sb, v, r, out):
    first = np.empty(out.shape[0], np.uint64)
    diamond_first(padded, sa, sb, v, r, first, 0, out.shape[0])
    for x in prange(out.shape[0]):
        diamond_rows(padded, sa, sb, v, r, first, out, x, x + 1)


@njit(cache=True, inline="always")
def square_row_sums(padded, v, r, rows, lo, hi):
    """Padded rows [lo, hi) (of those from r - v to r + w + v) of the Moore counts' first pass:
    ``rows[p, y]`` = the sum of ``padded[p, r + y - v .. r + y + v]``."""
    h = rows.shape[1] - 2 * r
    for p in range(lo, hi):
        row = rows[p, :h]
        row[:] = 0
        for s in range(-v, v + 1):
            _add_row(row, padded[p, r + s:r + s + h])


@njit(cache=True, inline="always")
def square_col_sums(rows, v, r, out, lo, hi):
    """Rows [lo, hi) of the Moore counts: ``out[x]`` = the sum of ``rows[x + r - v .. x + r + v]``."""
    h = out.shape[1]
    for x in range(lo, hi):
        d = out[x]
        d[:] = 0
        for t in range(-v, v + 1):
            _add_row(d, rows[x + r + t, :h])


@njit(cache=True, parallel=PRANGE_ONLY)
def _square_counts(padded, v, r, rows, out):
    w = out.shape[0]
    for p in prange(r - v, r + w + v):
        square_row_sums(padded, v, r, rows, p, p + 1)
    for x in prange(w):
        square_col_sums(rows, v, r, out, x, x + 1)


@njit(cache=True)
def window_counts(cells, r, vision, neighbourhood, padded, rows_a, rows_b, out):
    """``out[x, y]`` = packed counts (cops << 16 | actives) over the window of radius ``vision``
    around every cell, its centre included. ``padded``, ``rows_a`` and ``rows_b`` are scratch of
    the padded grid's shape (padding ``r > vision``).

    Moore: row sums, then column sums. Von Neumann: a diamond slid along each row
    (:func:`_diamond_counts`)."""
    pad_packed(cells, r, padded)
    if neighbourhood == MOORE:
        _square_counts(padded, vision, r, rows_a, out)
        return
    prefix_down(padded, rows_a, 0, padded.shape[0])
    prefix_up(padded, rows_b, 0, padded.shape[0])
    _diamond_counts(padded, rows_a, rows_b, vision, r, out)


# --- the phases ------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _random_empty(flat, x, y, w, h, dx, dy, key, i, empty):
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
def _random_empty_inside(flat, c, off, key, i):
    """:func:`_random_empty` for a window that does not cross the torus seam, on the flat grid:
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


@njit(cache=True)
def jail_phase(x, y, state, jail, hardship, risk, occ, cells, traits, dx, dy, key):
    """The jail phase of LEAVE_GRID, in agent order: terms count down; a citizen whose term is over
    comes back to its old cell if free, else to a random empty cell within its vision, else
    waits a step."""
    w, h = occ.shape
    flat = occ.reshape(w * h)
    for i in range(x.shape[0]):
        if state[i] != JAILED:
            continue
        if jail[i] > 0:
            jail[i] -= 1
            continue
        cx, cy = x[i], y[i]
        if occ[cx, cy] != EMPTY:
            n = _random_empty(flat, cx, cy, w, h, dx, dy, key, i, EMPTY)
            cx, cy = (n // h, n % h) if n >= 0 else (-1, -1)
        if cx >= 0:
            x[i], y[i] = cx, cy
            occ[cx, cy] = i
            cells[cx, cy] = QUIET_CITIZEN
            traits[cx, cy, 0] = hardship[i]
            traits[cx, cy, 1] = risk[i]
            state[i] = QUIET


@njit(cache=True, inline="always")
def clear_blocks(blocks, lo, hi):
    """Rows [lo, hi) of the map of blocks holding an active, cleared for :func:`decide_rows`."""
    for b in range(lo, hi):
        for c in range(blocks.shape[1]):
            blocks[b, c] = 0


@njit(cache=True, inline="always")
def decide_rows(occ, jail, cells, traits, counts, blocks, legitimacy, p_grid, threshold, lo, hi):
    """Rows [lo, hi) of :func:`decide_phase`."""
    h = cells.shape[1]
    scale = 1.0 - legitimacy
    for cx in range(lo, hi):
        row = cells[cx]
        crow = counts[cx]
        trow = traits[cx]
        for cy in range(h):
            code = row[cy]
            if code == STAYS:
                a = occ[cx, cy]
                if jail[a] > 0:
                    jail[a] -= 1
                    continue
                code = QUIET_CITIZEN
            if code != QUIET_CITIZEN and code != ACTIVE_CITIZEN:
                continue
            s = crow[cy]
            cops = np.int64(s >> COUNT_BITS)
            actives = np.int64(s & 0xFFFF) + np.int64(code == QUIET_CITIZEN)  # counting itself once
            rebel = trow[cy, 0] * scale - trow[cy, 1] * p_grid[cops, actives] > threshold
            row[cy] = QUIET_CITIZEN + np.uint8(rebel)  # ACTIVE_CITIZEN or QUIET_CITIZEN
            if rebel:
                blocks[cx >> BLOCK_BITS, cy >> BLOCK_BITS] = 1  # threads write the same value


@njit(cache=True, parallel=PRANGE_ONLY)
def decide_phase(occ, jail, cells, traits, counts, blocks, legitimacy, p_grid, threshold):
    """Cell by cell: a jailed citizen keeping its cell counts its term down, and comes out quiet
    when it is over (the jail phase of KEEP_CELL, which needs no order); every free citizen
    becomes active or quiet by Epstein's rule. ``counts``: packed counts of its window, taken
    before anyone decides; ``traits``: the hardship and risk aversion of the citizen on each
    cell; ``p_grid[C, A]``: the arrest probability, so the rule is a lookup with no division.
    Updates ``cells`` and marks in ``blocks`` the blocks holding an active. (No shortcut for a
    grievance at or below the threshold: the rule says quiet then anyway, as R P >= 0, and a
    branch the processor cannot predict costs more than the rule.)"""
    for b in prange(blocks.shape[0]):
        clear_blocks(blocks, b, b + 1)
    for cx in prange(cells.shape[0]):
        decide_rows(occ, jail, cells, traits, counts, blocks, legitimacy, p_grid, threshold, cx, cx + 1)


@njit(cache=True, inline="always")
def _span(c, v, n):
    """The cells c - v .. c + v on a ring of n as at most two ranges [a0, a1], [b0, b1] (b0 > b1: none)."""
    if 2 * v + 1 >= n:
        return 0, n - 1, 1, 0
    if c - v < 0:
        return c - v + n, n - 1, 0, c + v
    if c + v >= n:
        return c - v, n - 1, 0, c + v - n
    return c - v, c + v, 1, 0


@njit(cache=True, inline="always")
def _any_block(blocks, x0, x1, y0, y1):
    if x0 > x1 or y0 > y1:
        return False
    for bx in range(x0 >> BLOCK_BITS, (x1 >> BLOCK_BITS) + 1):
        for by in range(y0 >> BLOCK_BITS, (y1 >> BLOCK_BITS) + 1):
            if blocks[bx, by]:
                return True
    return False


@njit(cache=True, inline="always")
def _active_near(blocks, x, y, v, w, h):
    """False if no block within the square of radius v around (x, y) holds an active."""
    a0, a1, b0, b1 = _span(x, v, w)
    c0, c1, d0, d1 = _span(y, v, h)
    return (_any_block(blocks, a0, a1, c0, c1) or _any_block(blocks, a0, a1, d0, d1)
            or _any_block(blocks, b0, b1, c0, c1) or _any_block(blocks, b0, b1, d0, d1))


@njit(cache=True, inline="always")
def window_radius(dx, dy):
    """The vision a window's offsets reach."""
    v = 0
    for o in range(dx.shape[0]):
        v = max(v, abs(dx[o]), abs(dy[o]))
    return v


@njit(cache=True, inline="always")
def near_rows(blocks, near, reach, lo, hi):
    """Block rows [lo, hi) of ``near[bx, by]``: an active in the blocks up to ``reach`` away (not
    across the seam)."""
    bw, bh = blocks.shape
    for bx in range(lo, hi):
        for by in range(bh):
            hit = 0
            for ax in range(max(0, bx - reach), min(bw, bx + reach + 1)):
                for ay in range(max(0, by - reach), min(bh, by + reach + 1)):
                    hit |= blocks[ax, ay]
            near[bx, by] = hit


@njit(cache=True, inline="always")
def arrest_rows(occ, cells, blocks, near, marks, dx, dy, v, key, lo, hi):
    """The cops of rows [lo, hi) each mark the cell of the active they arrest (see
    :func:`arrest_phase`); cops marking the same cell write the same value."""
    w, h = occ.shape
    for cx in range(lo, hi):
        for cy in range(h):
            if cells[cx, cy] != COP_CELL:
                continue
            if cx >= v and cx + v < w and cy >= v and cy + v < h:
                if not near[cx >> BLOCK_BITS, cy >> BLOCK_BITS]:
                    continue
            elif not _active_near(blocks, cx, cy, v, w, h):
                continue
            actives = 0
            for o in range(dx.shape[0]):
                if cells[wrap(cx + dx[o], w), wrap(cy + dy[o], h)] == ACTIVE_CITIZEN:
                    actives += 1
            if actives == 0:
                continue
            k = pick(key, occ[cx, cy], 0, actives)
            for o in range(dx.shape[0]):
                ax, ay = wrap(cx + dx[o], w), wrap(cy + dy[o], h)
                if cells[ax, ay] == ACTIVE_CITIZEN:
                    if k == 0:
                        marks[ax, ay] = 1
                        break
                    k -= 1


@njit(cache=True, inline="always")
def jail_rows(x, y, state, jail, occ, cells, blocks, marks, key, max_jail_term, jail_mode, lo, hi):
    """The marked cells of rows [lo, hi) (looked for in the blocks that hold an active): their
    citizens are jailed, with their cell as ``x, y`` (where they come back to) and their term."""
    h = occ.shape[1]
    for cx in range(lo, hi):
        bx = cx >> BLOCK_BITS
        for by in range(blocks.shape[1]):
            if not blocks[bx, by]:
                continue
            for cy in range(by * BLOCK, min(h, by * BLOCK + BLOCK)):
                if not marks[cx, cy]:
                    continue
                marks[cx, cy] = 0
                a = occ[cx, cy]
                state[a] = JAILED
                jail[a] = pick(key, a, 1, max_jail_term + 1)
                x[a], y[a] = cx, cy
                if jail_mode == LEAVE_GRID:
                    occ[cx, cy] = EMPTY
                    cells[cx, cy] = FREE
                else:
                    cells[cx, cy] = STAYS


@njit(cache=True, parallel=PRANGE_ONLY)
def arrest_phase(x, y, state, jail, occ, cells, blocks, near, marks, dx, dy, key, max_jail_term, jail_mode):
    """Every cop arrests one random active within its vision (the j-th in window order), marking its
    cell in ``marks``; cops that pick the same active jail it once. ``blocks`` rules out the cops
    with no active near them; the others count and pick by scanning their window."""
    bw = blocks.shape[0]
    if not blocks.any():  # no active anywhere, as in most steps of a calm spell
        return
    v = window_radius(dx, dy)
    reach = (v + BLOCK - 1) >> BLOCK_BITS
    for bx in prange(bw):
        near_rows(blocks, near, reach, bx, bx + 1)
    for cx in prange(occ.shape[0]):
        arrest_rows(occ, cells, blocks, near, marks, dx, dy, v, key, cx, cx + 1)
    for bx in prange(bw):
        jail_rows(x, y, state, jail, occ, cells, blocks, marks, key, max_jail_term, jail_mode, bx * BLOCK,
                  min(occ.shape[0], bx * BLOCK + BLOCK))


@njit(cache=True, inline="always")
def _move_band(lo, hi, occ, cells, traits, todo, cdx, cdy, coff, cv, pdx, pdy, poff, pv, key):
    """Columns [lo, hi) in cell order. Each column first lists, without branching, the cells whose
    agent moves now: not free, not jailed, not moved here earlier in the step (``MOVED``); an
    agent's turn cannot change which of the column's cells are on that list, since only free
    cells are entered. Then the listed agents move one by one, their traits with them. ``cv``, ``pv``:
    the radius of the citizens' and the cops' windows."""
    w, h = cells.shape
    flat = cells.reshape(w * h)
    oflat = occ.reshape(w * h)
    tflat = traits.reshape(w * h, 2)
    for cx in range(lo, hi):
        col = cx * h
        k = 0
        for cy in range(h):
            code = flat[col + cy]
            todo[k] = cy
            k += (code >= QUIET_CITIZEN) & (code <= COP_CELL)
        for q in range(k):
            cy = np.int64(todo[q])
            c = col + cy
            code = flat[np.uint64(c)]
            a = oflat[np.uint64(c)]
            cop = code == COP_CELL
            v = pv if cop else cv
            if cx >= v and cx + v < w and cy >= v and cy + v < h:
                off = poff if cop else coff
                o = _random_empty_inside(flat, c, off, key, a)
                if o < 0:
                    continue
                n = np.uint64(c + off[o])
            else:  # one call for both kinds: a call per kind cost a reference count per array
                e = _random_empty(flat, cx, cy, w, h, pdx if cop else cdx, pdy if cop else cdy, key, a, FREE)
                if e < 0:
                    continue
                n = np.uint64(e)
            u = np.uint64(c)
            flat[u] = FREE
            oflat[u] = EMPTY
            flat[n] = code + MOVED
            oflat[n] = a
            tflat[n, 0] = tflat[u, 0]
            tflat[n, 1] = tflat[u, 1]


@njit(cache=True, inline="always")
def settle_rows(cells, lo, hi):
    """Rows [lo, hi) after the movement: the ``MOVED`` marks come off."""
    for cx in range(lo, hi):
        row = cells[cx]
        for cy in range(row.shape[0]):
            row[cy] &= np.uint8(MOVED - 1)


@njit(cache=True, parallel=PRANGE_ONLY)
def move_phase(occ, cells, traits, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, key):
    """Every agent not in jail moves to a random empty cell within its vision: the bands of one
    colour (:func:`move_bands`) in parallel (band ``b`` lists its column's movers in ``todo[b]``),
    the colours in turn; then the ``MOVED`` marks come off."""
    per_colour = (bands.shape[0] - 1) // colours
    cv, pv = window_radius(cdx, cdy), window_radius(pdx, pdy)
    for colour in range(colours):
        for t in prange(per_colour):
            b = colours * t + colour
            _move_band(bands[b], bands[b + 1], occ, cells, traits, todo[b], cdx, cdy, coff, cv, pdx, pdy, poff, pv,
                       key)
    for cx in prange(cells.shape[0]):
        settle_rows(cells, cx, cx + 1)


@njit(cache=True)
def step_kernel(x, y, state, hardship, risk, jail, occ, cells, traits, padded, rows_a, rows_b, counts, blocks,
                near, marks, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, p_grid, pad, citizen_vision,
                neighbourhood, jail_mode, threshold, max_jail_term, movement, legitimacy, jail_key, arrest_key,
                move_key):
    """The phases of a step, in one call (one dispatch from Python, not a dozen)."""
    if jail_mode == LEAVE_GRID:  # releases look for free cells: in agent order
        jail_phase(x, y, state, jail, hardship, risk, occ, cells, traits, cdx, cdy, jail_key)
    window_counts(cells, pad, citizen_vision, neighbourhood, padded, rows_a, rows_b, counts)
    decide_phase(occ, jail, cells, traits, counts, blocks, legitimacy, p_grid, threshold)
    arrest_phase(x, y, state, jail, occ, cells, blocks, near, marks, pdx, pdy, arrest_key, max_jail_term, jail_mode)
    if movement:
        move_phase(occ, cells, traits, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, move_key)


@njit(cache=True)
def run_kernel(x, y, state, hardship, risk, jail, occ, cells, traits, padded, rows_a, rows_b, counts, blocks,
               near, marks, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, p_grid, pad, citizen_vision,
               neighbourhood, jail_mode, threshold, max_jail_term, movement, legitimacies, keys, tally):
    """``len(legitimacies)`` steps in one call, step ``s`` under ``legitimacies[s]`` and the keys
    ``keys[s]``, writing after it the cells with a quiet and with an active citizen to ``tally[s]``:
    a run with no Python between steps (which costs about as much as a small grid's step)."""
    for s in range(legitimacies.shape[0]):
        step_kernel(x, y, state, hardship, risk, jail, occ, cells, traits, padded, rows_a, rows_b, counts, blocks,
                    near, marks, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, p_grid, pad, citizen_vision,
                    neighbourhood, jail_mode, threshold, max_jail_term, movement, legitimacies[s], keys[s, 0],
                    keys[s, 1], keys[s, 2])
        tally[s, 0], tally[s, 1] = cell_counts(cells)


# The kernels of grids under PARALLEL_CELLS: the same code without parallel loops (see Kernels.step).
SERIAL = serial_twins(globals(), ["build_cells", "sync_agents", "pad_packed", "_diamond_counts", "_square_counts",
                                  "window_counts", "decide_phase", "arrest_phase", "move_phase", "step_kernel",
                                  "run_kernel"])
PARALLEL = {name: globals()[name] for name in SERIAL}


class Kernels:
    """The fast engine: ``step`` advances a :class:`World` under :class:`Rules`.

    The steps work on cells: what is on each (``cells``), who (``world.occ``) and their hardship
    and risk aversion (``traits``, as float32 when that holds them exactly, which halves what a
    move copies), built from the world once. The agents' ``x, y`` and ``state``
    in the world are brought up to date by :meth:`sync` (cheap when nothing changed), not by
    every step. To change a world between steps: :meth:`sync`, change it, :meth:`refresh`."""

    def __init__(self, rules: Rules, world: World) -> None:
        self.rules = rules
        w, h = rules.width, rules.height
        self.cdx, self.cdy = rules.offsets(rules.citizen_vision)
        self.pdx, self.pdy = rules.offsets(rules.cop_vision)
        self.coff = (self.cdx.astype(np.int64) * h + self.cdy).astype(np.int64)
        self.poff = (self.pdx.astype(np.int64) * h + self.pdy).astype(np.int64)
        self.p_grid = rules.arrest_grid()
        self.pad = max(rules.citizen_vision, rules.cop_vision)
        self.bands, self.colours = move_bands(rules.width, self.pad)
        self.todo = np.empty((len(self.bands) - 1, h), dtype=np.int32)
        self.cells = np.empty((w, h), dtype=np.uint8)
        self.marks = np.zeros((w, h), dtype=np.uint8)
        self.count_pad = self.pad + 1  # the diamond's running sums read one cell beyond the window
        padded = (w + 2 * self.count_pad, h + 2 * self.count_pad)
        self.padded = np.empty(padded, dtype=np.uint32)
        self.rows_a = np.empty(padded, dtype=np.uint32)
        self.rows_b = np.empty(padded, dtype=np.uint32)
        self.counts = np.empty((w, h), dtype=np.uint32)
        self.blocks = np.empty(((w + BLOCK - 1) // BLOCK, (h + BLOCK - 1) // BLOCK), dtype=np.uint8)
        self.near = np.empty_like(self.blocks)
        self.citizens = int(np.count_nonzero(world.kind == CITIZEN))
        self.kernels = SERIAL if w * h < PARALLEL_CELLS else PARALLEL
        self.duo = None  # run() on two workers (see run); None: on SERIAL, with two threads, on x86
        self._one_worker_until, self._busy_runs, self._best_duo_step = 0.0, 0, float("inf")
        self._world, self._synced = None, True
        self.refresh(world)

    def refresh(self, world: World) -> None:
        """Rebuild what is on each cell from ``world`` (its arrays as they are now)."""
        self.sync(world)  # the arrays this world has not been given yet, if it is the one stepped
        self.kernels["build_cells"](world.x, world.y, world.kind, world.state, self.cells, self.rules.jail_mode)
        narrow = all(np.array_equal(v.astype(np.float32), v) for v in (world.hardship, world.risk))
        self.traits = np.zeros(self.cells.shape + (2,), dtype=np.float32 if narrow else np.float64)
        on = world.occ >= 0
        self.traits[on, 0] = world.hardship[world.occ[on]]
        self.traits[on, 1] = world.risk[world.occ[on]]
        r, w = self.rules, world
        self._args = (w.x, w.y, w.state, w.hardship, w.risk, w.jail, w.occ, self.cells, self.traits, self.padded,
                      self.rows_a, self.rows_b, self.counts, self.blocks, self.near, self.marks, self.bands,
                      self.colours, self.todo, self.cdx, self.cdy, self.coff, self.pdx, self.pdy, self.poff,
                      self.p_grid, self.count_pad, r.citizen_vision, r.neighbourhood, r.jail_mode, r.threshold,
                      r.max_jail_term, r.movement)
        self._world, self._synced = world, True

    def sync(self, world: World) -> None:
        """Bring the agents' ``x, y`` and ``state`` in ``world`` up to date with the cells."""
        if world is self._world and not self._synced:
            self.kernels["sync_agents"](world.x, world.y, world.state, world.occ, self.cells)
            self._synced = True

    def state_counts(self, world: World) -> tuple[int, int, int]:
        """Citizens quiet, active and jailed, counted on the cells (no :meth:`sync` needed)."""
        if world is not self._world:
            self.refresh(world)
        quiet, active = cell_counts(self.cells)
        return int(quiet), int(active), self.citizens - int(quiet) - int(active)

    def step(self, world: World, legitimacy: float, keys: tuple[int, int, int]) -> None:
        """One step; ``keys`` are the counter-RNG keys of the jail, arrest and movement phases.

        Grids under ``PARALLEL_CELLS`` run the serial twins of the kernels (:data:`SERIAL`): a step
        has a dozen parallel loops, each launching the thread pool (1.6 us even on one thread),
        and on a busy machine waiting a scheduler time slice for its second thread (measured:
        100 ms a step at 100x100 on two shared cores, 1.6 ms on one)."""
        if world is not self._world:
            self.refresh(world)
        self._synced = False
        self.kernels["step_kernel"](*self._args, legitimacy, keys[0], keys[1], keys[2])

    def run(self, world: World, legitimacies: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """``len(legitimacies)`` steps in one call (step ``s`` as ``step(world, legitimacies[s],
        keys[s])``); returns the citizens quiet, active and jailed after each, ``int64[steps, 3]``.
        Grids under ``PARALLEL_CELLS`` run on two workers in one parallel region when numba has two
        threads (``sim.core.epstein_duo``; ``duo`` True or False forces it either way where the two
        workers can run at all, ``spin.AVAILABLE``: x86), except for
        ``BUSY_BACKOFF_S`` after ``BUSY_RUNS`` runs in a row found the machine busy: they ended on
        one worker (one run in fifty does so on a quiet machine here, after a hiccup of the
        system), or took over three times the best time a step of this engine's two-worker runs.
        (Seen with two processes running two workers each on two cores: each run's parallel
        region waits for a time slice to start and end, too short for ``spin.alone`` to notice.)"""
        if world is not self._world:
            self.refresh(world)
        self._synced = False
        steps = len(legitimacies)
        tally = np.zeros((steps, 3), dtype=np.int64)
        run = self.kernels["run_kernel"]
        duo = spin.AVAILABLE and (self.duo or (self.duo is None and self.kernels is SERIAL
                                               and numba.get_num_threads() >= 2
                                               and time.monotonic() >= self._one_worker_until))
        if duo:
            from .duo import duo_run_kernel as run
        start = time.perf_counter()
        alone = run(*self._args, np.ascontiguousarray(legitimacies, dtype=np.float64),
                    np.ascontiguousarray(keys, dtype=np.int64).reshape(steps, 3), tally)
        if duo and steps:  # runs that ended alone, or took 3x the best time, one after another: busy
            per_step = (time.perf_counter() - start) / steps
            self._best_duo_step = min(self._best_duo_step, per_step)
            busy = alone or per_step > 3 * self._best_duo_step
            self._busy_runs = self._busy_runs + 1 if busy else 0
            if self._busy_runs >= BUSY_RUNS:
                self._one_worker_until, self._busy_runs = time.monotonic() + BUSY_BACKOFF_S, 0
        tally[:, 2] = self.citizens - tally[:, 0] - tally[:, 1]
        return tally
