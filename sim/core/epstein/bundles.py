"""The Epstein kernels' arguments, bundled by what they are: five named tuples where there would
be thirty-odd arrays and numbers, built once (``Kernels.__init__`` and ``refresh``) and passed
on unchanged by ``run_kernel``, ``step_kernel`` and the two-worker run, so that the list is
written in one place.

Numba compiles a named tuple as a struct passed by value: reading a field costs nothing once
compiled, in serial code and in ``prange`` loops alike, and cached kernels load as before. Each
distinct set of field types is a signature of its own (the traits as float32 or float64: two).
Row functions (``*_rows``), which a phase and the two-worker run share out by rows, keep
explicit arguments: which arrays they touch is what a reader of them needs to see.

From Python the five bundles cross into compiled code as one plain tuple of plain tuples
(:func:`plain`), named again inside (:func:`named`): numba's dispatcher types a named tuple by
its class and field names at every call, about 1 us a bundle (measured: 8 us a call with the
five named, 3 us with the same values as plain tuples), where a step of a 40x40 grid takes
some 50 us.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class Agents(NamedTuple):
    """The arrays of a ``World`` indexed by agent that a step reads or writes (the world's own,
    not copies). The phases write ``x, y, state`` only for agents going to or out of jail; the
    rest comes from the cells when asked (``cells.sync_agents``)."""

    x: np.ndarray  # int32, cell
    y: np.ndarray  # int32, cell
    state: np.ndarray  # uint8, a CitizenState
    hardship: np.ndarray  # float64, U(0, 1)
    risk: np.ndarray  # float64, U(0, 1)
    jail: np.ndarray  # int32, steps left in jail


class Grid(NamedTuple):
    """What is on each cell, kept from step to step: all ``[width, height]``."""

    occ: np.ndarray  # int32: agent index, or EMPTY (the world's own array)
    cells: np.ndarray  # uint8: a cell code (sim.core.epstein.cells)
    traits: np.ndarray  # float32 or float64 [width, height, 2]: hardship, risk aversion of the citizen there


class Scratch(NamedTuple):
    """Working arrays of a step, meaningless between steps except ``marks`` (all zero)."""

    padded: np.ndarray  # uint32, the grid padded by Geometry.pad cells: packed counts (sim.core.epstein.counts)
    rows_a: np.ndarray  # uint32, padded shape: row sums, or running sums along the diagonals
    rows_b: np.ndarray  # uint32, padded shape: running sums along the antidiagonals
    counts: np.ndarray  # uint32 [width, height]: packed cops and actives within each cell's citizen window
    blocks: np.ndarray  # uint8, one per BLOCK x BLOCK cells: holds an active (after the decisions)
    near: np.ndarray  # uint8, as blocks: an active in a block within cop vision
    marks: np.ndarray  # uint8 [width, height]: arrested this step (cleared by the arrests)
    todo: np.ndarray  # int32 [bands, height]: the movers of a band's column


class Geometry(NamedTuple):
    """The windows agents see and how the grid is cut for movement; in cells unless said."""

    citizen_vision: int
    cop_vision: int
    neighbourhood: int  # VON_NEUMANN or MOORE
    pad: int  # wrapped cells around the counts' padded grid: one more than the larger vision
    cdx: np.ndarray  # int32: the citizens' window, offsets from their cell (world.window_offsets)
    cdy: np.ndarray  # int32
    coff: np.ndarray  # int64: cdx * height + cdy, the offsets on the flat grid
    pdx: np.ndarray  # int32: the cops' window
    pdy: np.ndarray  # int32
    poff: np.ndarray  # int64
    bands: np.ndarray  # int64: column ranges of the movement's bands (world.move_bands)
    colours: int  # band b has colour b % colours


class KernelRules(NamedTuple):
    """The rules the phases apply, as numbers (``world.Rules`` without what the geometry holds)."""

    p_grid: np.ndarray  # float64 [cops, actives]: arrest probability (Rules.arrest_grid)
    threshold: float  # T
    max_jail_term: int  # steps
    jail_mode: int  # KEEP_CELL or LEAVE_GRID
    movement: bool


def plain(agents: Agents, grid: Grid, scratch: Scratch, geometry: Geometry, rules: KernelRules) -> tuple:
    """The five bundles as plain tuples, the one argument the kernels called from Python take."""
    return tuple(agents), tuple(grid), tuple(scratch), tuple(geometry), tuple(rules)


@njit(cache=True, inline="always")
def named(args):
    """The five bundles of ``args`` (from :func:`plain`), named again; free in compiled code."""
    agents, grid, scratch, geometry, rules = args
    return Agents(*agents), Grid(*grid), Scratch(*scratch), Geometry(*geometry), KernelRules(*rules)
