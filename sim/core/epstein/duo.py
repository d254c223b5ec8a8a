"""Runs of Epstein steps on two threads at once, for grids under ``PARALLEL_CELLS``.

There a step takes tens of microseconds in a dozen phases, and a ``prange`` loop per phase costs
a wake of the thread pool each (13-15 us here), so those grids step on one thread
(``epstein.SERIAL``). This kernel opens one parallel region for a whole run instead: two
workers each take their share of every phase and meet at a spin barrier between phases
(``sim.core.spin``). The shares are those the ``prange`` loops of ``sim.core.epstein`` would give
(rows of the grid; the bands of a colour in movement), so the result is the same, bit for bit,
as ``run_kernel``'s on one thread or many.
Only the jail phase of LEAVE_GRID, in agent order, runs on worker 0 while worker 1 waits.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .phases import (
    BLOCK,
    BLOCK_BITS,
    LEAVE_GRID,
    MOORE,
    _move_band,
    arrest_rows,
    clear_blocks,
    count_rows,
    decide_rows,
    diamond_first,
    diamond_rows,
    jail_phase,
    jail_rows,
    near_rows,
    pad_rows,
    prefix_down,
    prefix_up,
    settle_rows,
    square_col_sums,
    square_row_sums,
    window_radius,
)
from ..parallel import PRANGE_ONLY
from ..spin import JOINED, SYNC_SIZE, alone, barrier, join, share


@njit(cache=True)
def _steps(part, parts, sync, first, tallies, own_blocks, merged_blocks, x, y, state, hardship, risk, jail, occ,
           cells, traits, padded, rows_a, rows_b, counts, near, marks, bands, colours, todo, cdx, cdy, coff, pdx, pdy,
           poff, p_grid, pad, vision, neighbourhood, jail_mode, threshold, max_jail_term, movement, legitimacies, keys,
           tally):
    """Worker ``part`` of ``parts`` (1 or 2) through all the steps of :func:`duo_run_kernel`. The
    counts of a worker's rows read the padded rows around them, which it pads and sums itself
    in its own scratch (``padded``, ``rows_a``, ``rows_b`` have one per worker): 2v + 2 rows more
    than half the grid each, and no barrier, where splitting them would cost three barriers and
    the other core's writes carried over. Each marks the blocks with an active in its own map
    (``own_blocks``), so the rows can be shared at any row, not only at block edges."""
    w = cells.shape[0]
    padded, sa, sb = padded[part], rows_a[part], rows_b[part]  # its own: nothing to wait for until the decisions
    merged, near = merged_blocks[part], near[part]  # its own copies of the arrests' maps
    cop_vision = window_radius(pdx, pdy)  # ``vision`` is the citizens'
    reach = (cop_vision + BLOCK - 1) >> BLOCK_BITS
    g = 0  # barriers passed
    for s in range(legitimacies.shape[0]):
        lo, hi = share(w, part, parts)  # its rows of the grid
        rows_lo, rows_hi = lo + pad - vision - 1, hi + pad + vision + 1  # the padded rows its counts read
        bands_lo, bands_hi = share((bands.shape[0] - 1) // colours, part, parts)  # of each colour: near its rows
        mine, theirs = own_blocks[part], own_blocks[(part + 1) % parts]
        if jail_mode == LEAVE_GRID:
            if part == 0:
                jail_phase(x, y, state, jail, hardship, risk, occ, cells, traits, cdx, cdy, keys[s, 0])
            g = barrier(sync, g, parts)
        pad_rows(cells, pad, padded, rows_lo, rows_hi)
        if neighbourhood == MOORE:
            square_row_sums(padded, vision, pad, sa, rows_lo + 1, rows_hi - 1)
            square_col_sums(sa, vision, pad, counts, lo, hi)
        else:
            prefix_down(padded, sa, rows_lo, rows_hi)
            prefix_up(padded, sb, rows_lo, rows_hi)
            diamond_first(padded, sa, sb, vision, pad, first, lo, hi)
            diamond_rows(padded, sa, sb, vision, pad, first, counts, lo, hi)
        g = barrier(sync, g, parts)
        clear_blocks(mine, 0, mine.shape[0])
        decide_rows(occ, jail, cells, traits, counts, mine, legitimacies[s], p_grid, threshold, lo, hi)
        g = barrier(sync, g, parts)
        if mine.any() or theirs.any():  # an active somewhere: arrests (arrest_phase, in rows)
            np.bitwise_or(mine, theirs, merged)
            near_rows(merged, near, reach, lo >> BLOCK_BITS, ((hi - 1) >> BLOCK_BITS) + 1)
            arrest_rows(occ, cells, merged, near, marks, pdx, pdy, cop_vision, keys[s, 1], lo, hi)
            g = barrier(sync, g, parts)
            jail_rows(x, y, state, jail, occ, cells, merged, marks, keys[s, 1], max_jail_term, jail_mode, lo, hi)
            g = barrier(sync, g, parts)
        if movement:
            for colour in range(colours):
                for t in range(bands_lo, bands_hi):
                    b = colours * t + colour
                    _move_band(bands[b], bands[b + 1], occ, cells, traits, todo[b], cdx, cdy, coff, vision, pdx,
                               pdy, poff, cop_vision, keys[s, 2])
                g = barrier(sync, g, parts)
            settle_rows(cells, lo, hi)
        tallies[part, 0], tallies[part, 1] = count_rows(cells, lo, hi)
        g = barrier(sync, g, parts)
        if part == 0:
            tally[s, 0] = tallies[0, 0] + (tallies[1, 0] if parts == 2 else 0)
            tally[s, 1] = tallies[0, 1] + (tallies[1, 1] if parts == 2 else 0)
        if parts == 2 and alone(sync):  # a busy machine: worker 0 takes the rest of the run
            if part == 1:
                break
            parts = 1


@njit(cache=True, parallel=PRANGE_ONLY)
def duo_run_kernel(x, y, state, hardship, risk, jail, occ, cells, traits, padded, rows_a, rows_b, counts, blocks,
                   near, marks, bands, colours, todo, cdx, cdy, coff, pdx, pdy, poff, p_grid, pad, vision,
                   neighbourhood, jail_mode, threshold, max_jail_term, movement, legitimacies, keys, tally):
    """``epstein.run_kernel`` (same arguments, same result) by two workers in one parallel region.
    Needs numba's pool to have two threads; with one, the first worker runs alone (``spin.join``),
    as it does the rest of a run once a worker has waited long for the other (``spin.alone``).
    Returns whether it ran alone at the end."""
    sync = np.zeros(SYNC_SIZE, np.int64)
    first = np.empty(cells.shape[0], np.uint64)
    tallies = np.zeros((2, 2), np.int64)
    own_blocks = np.zeros((2,) + blocks.shape, blocks.dtype)  # the blocks with an active, as each worker saw
    merged_blocks, near2 = np.empty_like(own_blocks), np.empty_like(own_blocks)
    padded2 = np.empty((2,) + padded.shape, padded.dtype)  # each worker its own scratch (see _steps)
    sa2, sb2 = np.empty_like(padded2), np.empty_like(padded2)
    for t in prange(2):
        part, parts = join(sync)
        if parts > 0:
            _steps(part, parts, sync, first, tallies, own_blocks, merged_blocks, x, y, state, hardship, risk, jail, occ,
                   cells, traits, padded2, sa2, sb2, counts, near2, marks, bands, colours, todo, cdx, cdy,
                   coff, pdx, pdy, poff, p_grid, pad, vision, neighbourhood, jail_mode, threshold,
                   max_jail_term, movement, legitimacies, keys, tally)
    return alone(sync) or sync[JOINED] < 0  # (JOINED < 0: the first worker claimed the run)
