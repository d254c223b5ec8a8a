"""Runs of Epstein steps on two threads at once, for grids under ``engine.PARALLEL_CELLS``.

There a step takes tens of microseconds in a dozen phases, and a ``prange`` loop per phase costs
a wake of the thread pool each (13-15 us here), so those grids step on one thread
(``kernels.SERIAL``). This kernel opens one parallel region for a whole run instead: two
workers each take their share of every phase and meet at a spin barrier between phases
(``sim.core.spin``). The shares are those the ``prange`` loops of ``sim.core.epstein.phases``
and ``sim.core.epstein.counts`` would give (rows of the grid; the bands of a colour in
movement), so the result is the same, bit for bit, as ``kernels.run_kernel``'s on one thread or
many. Only the jail phase of LEAVE_GRID, in agent order, runs on worker 0 while worker 1 waits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..parallel import PRANGE_ONLY
from ..spin import JOINED, SYNC_SIZE, alone, barrier, join, share
from .bundles import named
from .cells import count_rows
from .counts import diamond_first, diamond_rows, pad_rows, prefix_down, prefix_up, square_col_sums, square_row_sums
from .phases import (
    BLOCK,
    BLOCK_BITS,
    arrest_rows,
    clear_blocks,
    decide_rows,
    jail_phase,
    jail_rows,
    move_band,
    near_rows,
    settle_rows,
)
from .world import LEAVE_GRID, MOORE


class DuoScratch(NamedTuple):
    """What the two workers add to ``bundles.Scratch``: the arrays indexed ``[part]`` are each
    worker's own, so that neither waits for or overwrites the other's."""

    sync: np.ndarray  # int64[SYNC_SIZE]: the barrier's words (sim.core.spin)
    first: np.ndarray  # uint64[width]: the first diamond sum of each row (each worker writes its rows)
    tallies: np.ndarray  # int64[2, 2]: quiet and active citizens on each worker's rows
    own_blocks: np.ndarray  # uint8[2, blocks]: the blocks with an active, as each worker decided them
    merged_blocks: np.ndarray  # uint8[2, blocks]: both workers' maps or-ed, a copy for each
    near: np.ndarray  # uint8[2, blocks]: Scratch.near, a copy for each
    padded: np.ndarray  # uint32[2, padded grid]: Scratch.padded, rows_a, rows_b, one each
    rows_a: np.ndarray
    rows_b: np.ndarray


@njit(cache=True)
def _steps(part, parts, duo, agents, grid, scratch, geometry, rules, legitimacies, keys, tally):
    """Worker ``part`` of ``parts`` (1 or 2) through all the steps of :func:`duo_run_kernel`. The
    counts of a worker's rows read the padded rows around them, which it pads and sums itself
    in its own scratch (``duo.padded``, ``duo.rows_a``, ``duo.rows_b``): 2v + 2 rows more than
    half the grid each, and no barrier, where splitting them would cost three barriers and the
    other core's writes carried over. Each marks the blocks with an active in its own map
    (``duo.own_blocks``), so the rows can be shared at any row, not only at block edges."""
    x, y, state, jail = agents.x, agents.y, agents.state, agents.jail
    occ, cells, traits = grid.occ, grid.cells, grid.traits
    counts, marks, todo = scratch.counts, scratch.marks, scratch.todo
    g = geometry
    pad, vision, cop_vision, bands, colours = g.pad, g.citizen_vision, g.cop_vision, g.bands, g.colours
    sync, first, tallies = duo.sync, duo.first, duo.tallies
    padded, sa, sb = duo.padded[part], duo.rows_a[part], duo.rows_b[part]  # its own: nothing to wait for
    merged, near = duo.merged_blocks[part], duo.near[part]  # its own copies of the arrests' maps
    w = cells.shape[0]
    reach = (cop_vision + BLOCK - 1) >> BLOCK_BITS
    gen = 0  # barriers passed
    for s in range(legitimacies.shape[0]):
        lo, hi = share(w, part, parts)  # its rows of the grid
        rows_lo, rows_hi = lo + pad - vision - 1, hi + pad + vision + 1  # the padded rows its counts read
        bands_lo, bands_hi = share((bands.shape[0] - 1) // colours, part, parts)  # of each colour: near its rows
        mine, theirs = duo.own_blocks[part], duo.own_blocks[(part + 1) % parts]
        if rules.jail_mode == LEAVE_GRID:
            if part == 0:
                jail_phase(agents, grid, geometry, keys[s, 0])
            gen = barrier(sync, gen, parts)
        pad_rows(cells, pad, padded, rows_lo, rows_hi)
        if g.neighbourhood == MOORE:
            square_row_sums(padded, vision, pad, sa, rows_lo + 1, rows_hi - 1)
            square_col_sums(sa, vision, pad, counts, lo, hi)
        else:
            prefix_down(padded, sa, rows_lo, rows_hi)
            prefix_up(padded, sb, rows_lo, rows_hi)
            diamond_first(padded, sa, sb, vision, pad, first, lo, hi)
            diamond_rows(padded, sa, sb, vision, pad, first, counts, lo, hi)
        gen = barrier(sync, gen, parts)
        clear_blocks(mine, 0, mine.shape[0])
        decide_rows(occ, jail, cells, traits, counts, mine, legitimacies[s], rules.p_grid, rules.threshold, lo, hi)
        gen = barrier(sync, gen, parts)
        if mine.any() or theirs.any():  # an active somewhere: arrests (phases.arrest_phase, in rows)
            np.bitwise_or(mine, theirs, merged)
            near_rows(merged, near, reach, lo >> BLOCK_BITS, ((hi - 1) >> BLOCK_BITS) + 1)
            arrest_rows(occ, cells, merged, near, marks, g.pdx, g.pdy, cop_vision, keys[s, 1], lo, hi)
            gen = barrier(sync, gen, parts)
            jail_rows(x, y, state, jail, occ, cells, merged, marks, keys[s, 1], rules.max_jail_term, rules.jail_mode,
                      lo, hi)
            gen = barrier(sync, gen, parts)
        if rules.movement:
            for colour in range(colours):
                for t in range(bands_lo, bands_hi):
                    b = colours * t + colour
                    move_band(bands[b], bands[b + 1], occ, cells, traits, todo[b], g.cdx, g.cdy, g.coff, vision,
                              g.pdx, g.pdy, g.poff, cop_vision, keys[s, 2])
                gen = barrier(sync, gen, parts)
            settle_rows(cells, lo, hi)
        tallies[part, 0], tallies[part, 1] = count_rows(cells, lo, hi)
        gen = barrier(sync, gen, parts)
        if part == 0:
            tally[s, 0] = tallies[0, 0] + (tallies[1, 0] if parts == 2 else 0)
            tally[s, 1] = tallies[0, 1] + (tallies[1, 1] if parts == 2 else 0)
        if parts == 2 and alone(sync):  # a busy machine: worker 0 takes the rest of the run
            if part == 1:
                break
            parts = 1


@njit(cache=True)
def duo_run_kernel(args, legitimacies, keys, tally):
    """``kernels.run_kernel`` (same arguments, same result) by two workers in one parallel region.
    Needs numba's pool to have two threads; with one, the first worker runs alone (``spin.join``),
    as it does the rest of a run once a worker has waited long for the other (``spin.alone``).
    Returns whether it ran alone at the end."""
    return _region(*named(args), legitimacies, keys, tally)


@njit(cache=True, parallel=PRANGE_ONLY)
def _region(agents, grid, scratch, geometry, rules, legitimacies, keys, tally):
    """The parallel region of :func:`duo_run_kernel`. (A function of its own, with the bundles as
    its arguments: numba's parallel loops take a named tuple from outside the loop only if it is
    an argument of the function, or made by a plain call of its class there.)"""
    blocks, padded = scratch.blocks, scratch.padded
    own_blocks = np.zeros((2,) + blocks.shape, blocks.dtype)
    padded2 = np.empty((2,) + padded.shape, padded.dtype)
    duo = DuoScratch(np.zeros(SYNC_SIZE, np.int64), np.empty(grid.cells.shape[0], np.uint64),
                     np.zeros((2, 2), np.int64), own_blocks, np.empty_like(own_blocks), np.empty_like(own_blocks),
                     padded2, np.empty_like(padded2), np.empty_like(padded2))
    sync = duo.sync
    for t in prange(2):
        part, parts = join(sync)
        if parts > 0:
            _steps(part, parts, duo, agents, grid, scratch, geometry, rules, legitimacies, keys, tally)
    return alone(sync) or sync[JOINED] < 0  # (JOINED < 0: the first worker claimed the run)
