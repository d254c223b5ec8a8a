"""Counts within vision for every cell at once: the cops and actives each citizen sees.

Computed before the decisions: cops and actives are packed into one uint32 per cell
(cops << 16 | actives, exact for windows of fewer than 65536 cells), the grid is padded by
wrapped cells (the torus). A Moore square is row sums then column sums; the von Neumann diamond
|dx| + |dy| <= v slides along each row, each step adding the cells entering at its right
boundary and taking those leaving at its left, each boundary two diagonal segments read off
running sums along the diagonals: eight reads a cell whatever the vision (:func:`window_counts`).

The row functions (``*_rows``, ``prefix_*``, ``square_*``, ``diamond_first``) take a range of
rows, so that the two-worker run (``sim.core.epstein.duo``) can share them out as the
``prange`` loops here do.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..parallel import PRANGE_ONLY, serial_twins
from .cells import ACTIVE_CITIZEN, COP_CELL
from .world import MOORE

COUNT_BITS = 16  # packed counts: cops << COUNT_BITS | actives


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
    """``out`` = :func:`diamond_rows` of every row (``sa``, ``sb``: the running sums along the diagonals)."""
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
    """``out`` = the Moore counts: :func:`square_row_sums` into ``rows``, then :func:`square_col_sums`."""
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


# The same code without parallel loops, for grids under engine.PARALLEL_CELLS (see sim.core.epstein.kernels).
SERIAL = serial_twins(globals(), ["pad_packed", "_diamond_counts", "_square_counts", "window_counts"])
