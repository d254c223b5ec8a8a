"""The phases of an Epstein step, as numba kernels over the cells (``sim.core.epstein.cells``).

One step, in phases so that most of it runs in parallel and the result does not depend on the
number of threads (``sim.core.epstein.kernels`` calls them in this order):

1. jail: terms count down; a citizen whose term is over comes out (if jailed agents left the
   grid, it returns to its old cell if free, else to a random empty cell within its vision,
   else waits a step; serial, in agent order: :func:`jail_phase`). With jailed agents keeping
   their cell, the decisions count terms down instead, cell by cell.
2. decisions: every free citizen applies Epstein's rule (``sim.core.activation``, as a table of
   the arrest probability by counts of cops and actives) to the cops and actives within its
   vision as they stood at the start of the phase (``sim.core.epstein.counts``).
3. arrests: every cop picks one random active within its vision (as they stand after the
   decisions); two cops that pick the same active arrest it once. Jail terms are U{0..J_max}.
   A map of the 8x8 blocks that hold an active rules out in O(1) the cops with none near them;
   the others scan their window.
4. movement: every agent not in jail moves to a random empty cell within its vision. The grid
   is cut into bands of columns, coloured so that bands of one colour never touch the same
   cells (``world.move_bands``); the colours are walked one after the other, the bands of a
   colour in parallel, each band serially in cell order (a sequential update, like Mesa's,
   within it). A random empty cell is found by random tries (two per hash), then by counting
   if all fail (``sim.core.epstein.draws``).

Phases take the bundles of ``sim.core.epstein.bundles``; the work of each is in row functions
(``*_rows``, :func:`move_band`) over a range of rows or bands, which the phases' ``prange``
loops and the two workers of ``sim.core.epstein.duo`` share out the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..parallel import PRANGE_ONLY, serial_twins
from .cells import ACTIVE_CITIZEN, COP_CELL, FREE, MOVED, QUIET_CITIZEN, STAYS, wrap
from .counts import COUNT_BITS
from .draws import pick, random_empty, random_empty_inside
from .world import EMPTY, LEAVE_GRID, CitizenState

BLOCK_BITS = 3
BLOCK = 1 << BLOCK_BITS  # cells: the arrests' map of actives has one entry per BLOCK x BLOCK cells


# --- 1. jail ----------------------------------------------------------------------------------------
@njit(cache=True)
def jail_phase(agents, grid, geometry, key):
    """The jail phase of LEAVE_GRID, in agent order: terms count down; a citizen whose term is over
    comes back to its old cell if free, else to a random empty cell within its vision, else
    waits a step."""
    x, y, state, jail = agents.x, agents.y, agents.state, agents.jail
    occ, cells, traits = grid.occ, grid.cells, grid.traits
    w, h = occ.shape
    flat = occ.reshape(w * h)
    for i in range(x.shape[0]):
        if state[i] != CitizenState.JAILED:
            continue
        if jail[i] > 0:
            jail[i] -= 1
            continue
        cx, cy = x[i], y[i]
        if occ[cx, cy] != EMPTY:
            n = random_empty(flat, cx, cy, w, h, geometry.cdx, geometry.cdy, key, i, EMPTY)
            cx, cy = (n // h, n % h) if n >= 0 else (-1, -1)
        if cx >= 0:
            x[i], y[i] = cx, cy
            occ[cx, cy] = i
            cells[cx, cy] = QUIET_CITIZEN
            traits[cx, cy, 0] = agents.hardship[i]
            traits[cx, cy, 1] = agents.risk[i]
            state[i] = CitizenState.QUIET


# --- 2. decisions -----------------------------------------------------------------------------------
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
def decide_phase(agents, grid, scratch, rules, legitimacy):
    """Cell by cell: a jailed citizen keeping its cell counts its term down, and comes out quiet
    when it is over (the jail phase of KEEP_CELL, which needs no order); every free citizen
    becomes active or quiet by Epstein's rule. ``scratch.counts``: packed counts of its window,
    taken before anyone decides; ``grid.traits``: the hardship and risk aversion of the citizen
    on each cell; ``rules.p_grid[C, A]``: the arrest probability, so the rule is a lookup with no
    division. Updates ``grid.cells`` and marks in ``scratch.blocks`` the blocks holding an active.
    (No shortcut for a grievance at or below the threshold: the rule says quiet then anyway, as
    R P >= 0, and a branch the processor cannot predict costs more than the rule.)"""
    occ, cells, traits = grid.occ, grid.cells, grid.traits
    jail, counts, blocks = agents.jail, scratch.counts, scratch.blocks
    p_grid, threshold = rules.p_grid, rules.threshold
    for b in prange(blocks.shape[0]):
        clear_blocks(blocks, b, b + 1)
    for cx in prange(cells.shape[0]):
        decide_rows(occ, jail, cells, traits, counts, blocks, legitimacy, p_grid, threshold, cx, cx + 1)


# --- 3. arrests -------------------------------------------------------------------------------------
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
    :func:`arrest_phase`); cops marking the same cell write the same value. ``v``: the cops'
    vision, the radius of the window ``dx, dy``."""
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
                state[a] = CitizenState.JAILED
                jail[a] = pick(key, a, 1, max_jail_term + 1)
                x[a], y[a] = cx, cy
                if jail_mode == LEAVE_GRID:
                    occ[cx, cy] = EMPTY
                    cells[cx, cy] = FREE
                else:
                    cells[cx, cy] = STAYS


@njit(cache=True, parallel=PRANGE_ONLY)
def arrest_phase(agents, grid, scratch, geometry, rules, key):
    """Every cop arrests one random active within its vision (the j-th in window order), marking its
    cell in ``scratch.marks``; cops that pick the same active jail it once. ``scratch.blocks`` rules
    out the cops with no active near them; the others count and pick by scanning their window."""
    x, y, state, jail = agents.x, agents.y, agents.state, agents.jail
    occ, cells = grid.occ, grid.cells
    blocks, near, marks = scratch.blocks, scratch.near, scratch.marks
    dx, dy, v = geometry.pdx, geometry.pdy, geometry.cop_vision
    max_jail_term, jail_mode = rules.max_jail_term, rules.jail_mode
    bw = blocks.shape[0]
    if not blocks.any():  # no active anywhere, as in most steps of a calm spell
        return
    reach = (v + BLOCK - 1) >> BLOCK_BITS
    for bx in prange(bw):
        near_rows(blocks, near, reach, bx, bx + 1)
    for cx in prange(occ.shape[0]):
        arrest_rows(occ, cells, blocks, near, marks, dx, dy, v, key, cx, cx + 1)
    for bx in prange(bw):
        jail_rows(x, y, state, jail, occ, cells, blocks, marks, key, max_jail_term, jail_mode, bx * BLOCK,
                  min(occ.shape[0], bx * BLOCK + BLOCK))


# --- 4. movement ------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def move_band(lo, hi, occ, cells, traits, todo, cdx, cdy, coff, cv, pdx, pdy, poff, pv, key):
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
                o = random_empty_inside(flat, c, off, key, a)
                if o < 0:
                    continue
                n = np.uint64(c + off[o])
            else:  # one call for both kinds: a call per kind cost a reference count per array
                e = random_empty(flat, cx, cy, w, h, pdx if cop else cdx, pdy if cop else cdy, key, a, FREE)
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
def move_phase(grid, scratch, geometry, key):
    """Every agent not in jail moves to a random empty cell within its vision: the bands of one
    colour (``world.move_bands``) in parallel (band ``b`` lists its column's movers in
    ``scratch.todo[b]``), the colours in turn; then the ``MOVED`` marks come off."""
    occ, cells, traits, todo = grid.occ, grid.cells, grid.traits, scratch.todo
    g = geometry
    bands, colours = g.bands, g.colours
    cdx, cdy, coff, cv = g.cdx, g.cdy, g.coff, g.citizen_vision
    pdx, pdy, poff, pv = g.pdx, g.pdy, g.poff, g.cop_vision
    per_colour = (bands.shape[0] - 1) // colours
    for colour in range(colours):
        for t in prange(per_colour):
            b = colours * t + colour
            move_band(bands[b], bands[b + 1], occ, cells, traits, todo[b], cdx, cdy, coff, cv, pdx, pdy, poff, pv, key)
    for cx in prange(cells.shape[0]):
        settle_rows(cells, cx, cx + 1)


# The same code without parallel loops, for grids under engine.PARALLEL_CELLS (see sim.core.epstein.kernels).
SERIAL = serial_twins(globals(), ["decide_phase", "arrest_phase", "move_phase"])
