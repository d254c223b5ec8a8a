"""The neighbour cell list: agents sorted into square cells (half the cut-off wide in the kernel),
so that everyone within the cut-off of an agent sits in the few cells around its own.

The agents of a cell are listed in ascending index: the order in which the step adds up its
neighbours' pushes is fixed by the positions alone, the same on any number of threads and in the
reference. ``build_cell_list`` is a counting sort over every cell of the map (its cost grows with
the map); ``build_cell_list_near`` sorts the agents alone (a radix sort of their cell numbers, 11
bits a pass: two passes up to 4 million cells) and fills in the cell starts only where the step
reads them, so a 1.4 km map costs no more than a room (O(agents)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def cell_of(x, y, side, cells_x, cells_y):
    """(i, j) of the cell holding (x, y) m; points off the grid go to its edge cells."""
    i = int(math.floor(x / side))
    j = int(math.floor(y / side))
    i = min(max(i, 0), cells_x - 1)
    j = min(max(j, 0), cells_y - 1)
    return i, j


@njit(cache=True)
def build_cell_list(x, y, active, side, cells_x, cells_y):
    """``(start, members)``: the active agents of cell ``c = i * cells_y + j`` are
    ``members[start[c]:start[c + 1]]``, ascending."""
    n = x.shape[0]
    count = np.zeros(cells_x * cells_y + 1, dtype=np.int64)
    home = np.empty(n, dtype=np.int64)
    for k in range(n):
        if active[k]:
            i, j = cell_of(x[k], y[k], side, cells_x, cells_y)
            home[k] = i * cells_y + j
            count[home[k] + 1] += 1
        else:
            home[k] = -1
    for c in range(cells_x * cells_y):
        count[c + 1] += count[c]
    fill = count[:-1].copy()
    members = np.empty(count[-1], dtype=np.int64)
    for k in range(n):
        if home[k] >= 0:
            members[fill[home[k]]] = k
            fill[home[k]] += 1
    return count, members


@njit(cache=True)
def build_cell_list_near(x, y, active, side, cells_x, cells_y, reach, start):
    """``members`` as ``build_cell_list`` gives them (by cell, ascending index in a cell), with
    ``start`` (int64, ``cells_x * cells_y + 1``, kept from call to call) written only where a step
    reads it: for every occupied cell (ci, cj) and every column ni within ``reach`` of ci, the
    starts of the runs ``(ni, max(cj - reach, 0))`` and ``(ni, min(cj + reach, cells_y - 1) + 1)``.
    Elsewhere ``start`` holds stale values that nobody reads."""
    n = x.shape[0]
    key = np.empty(n, dtype=np.int64)
    who = np.empty(n, dtype=np.int64)
    m = 0
    for k in range(n):
        if active[k]:
            i, j = cell_of(x[k], y[k], side, cells_x, cells_y)
            key[m] = i * cells_y + j
            who[m] = k
            m += 1
    keys, members = _sort_by_key(key[:m], who[:m], cells_x * cells_y)  # stable: ascending agent index within a cell
    # for a fixed column offset, the cells asked about grow with the key: one pointer each, moved forward
    width = 2 * reach + 1
    lo_ptr = np.zeros(width, dtype=np.int64)
    hi_ptr = np.zeros(width, dtype=np.int64)
    for q in range(m):
        if q > 0 and keys[q] == keys[q - 1]:
            continue
        ci = keys[q] // cells_y
        cj = keys[q] - ci * cells_y
        row_lo = max(cj - reach, 0)
        row_hi = min(cj + reach, cells_y - 1) + 1
        for d in range(width):
            ni = ci - reach + d
            if ni < 0 or ni >= cells_x:
                continue
            c = ni * cells_y + row_lo
            p = lo_ptr[d]
            while p < m and keys[p] < c:
                p += 1
            lo_ptr[d] = p
            start[c] = p
            c = ni * cells_y + row_hi
            p = hi_ptr[d]
            while p < m and keys[p] < c:
                p += 1
            hi_ptr[d] = p
            start[c] = p
    return members


RADIX_BITS = 11  # bits of the cell number sorted per pass: 2,048 counters, a few kB, stay in L1


@njit(cache=True)
def _sort_by_key(key, who, keys_below):
    """(key, who) sorted by key (0 <= key < keys_below), stable: a least-significant-digit radix sort,
    one counting pass per ``RADIX_BITS`` of the largest key (argsort took 0.1 us an agent at 10k)."""
    m = key.shape[0]
    src_k = key.copy()
    src_w = who.copy()
    dst_k = np.empty(m, dtype=np.int64)
    dst_w = np.empty(m, dtype=np.int64)
    digits = 1 << RADIX_BITS
    mask = digits - 1
    count = np.empty(digits + 1, dtype=np.int64)
    shift = 0
    while shift == 0 or (keys_below - 1) >> shift > 0:
        count[:] = 0
        for q in range(m):
            count[((src_k[q] >> shift) & mask) + 1] += 1
        for d in range(digits):
            count[d + 1] += count[d]
        for q in range(m):
            d = (src_k[q] >> shift) & mask
            dst_k[count[d]] = src_k[q]
            dst_w[count[d]] = src_w[q]
            count[d] += 1
        src_k, dst_k = dst_k, src_k
        src_w, dst_w = dst_w, src_w
        shift += RADIX_BITS
    return src_k, src_w
