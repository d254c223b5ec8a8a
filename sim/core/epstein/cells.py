"""The grid of cells the Epstein kernels work on, and its link to the agents' arrays.

The phases work on cells, in cell order, not on agents: one byte per cell says what is on it
(free, quiet or active citizen, cop, jailed citizen keeping its cell), ``occ`` who, and
``traits`` the hardship and risk aversion of the citizen there, which move with it. Agents are
numbered in no spatial order, so a pass over agents reads and writes cells all over the grid;
a pass over cells streams. The agents' ``x, y`` and ``state`` are written from the cells when
asked (:func:`sync_agents`), except for those going to or out of jail.
"""

from __future__ import annotations

from numba import njit, prange

from ..parallel import PRANGE_ONLY, serial_twins
from .world import COP, LEAVE_GRID, CitizenState

FREE, QUIET_CITIZEN, ACTIVE_CITIZEN, COP_CELL, STAYS = 0, 1, 2, 3, 4  # cell codes (STAYS: jailed on its cell)
MOVED = 8  # added to the code of an agent that has moved this step (cleared at the end of the phase)


@njit(cache=True, inline="always")
def wrap(c, n):
    """``c % n`` for ``-n <= c < 2n``, without a division."""
    if c < 0:
        return c + n
    if c >= n:
        return c - n
    return c


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
        if s == CitizenState.JAILED:
            if jail_mode == LEAVE_GRID:
                continue
            c = STAYS
        elif kind[i] == COP:
            c = COP_CELL
        elif s == CitizenState.ACTIVE:
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
            state[a] = (CitizenState.ACTIVE if code == ACTIVE_CITIZEN
                        else (CitizenState.JAILED if code == STAYS else CitizenState.QUIET))


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


SERIAL = serial_twins(globals(), ["build_cells", "sync_agents"])  # see sim.core.epstein.kernels
