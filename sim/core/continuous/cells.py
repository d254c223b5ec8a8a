"""The neighbour cell list: agents sorted into square cells (half the cut-off wide in the kernel),
so that everyone within the cut-off of an agent sits in the few cells around its own.

A counting sort in agent order, so the agents of a cell are listed in ascending index: the order
in which the step adds up its neighbours' pushes is fixed by the positions alone, the same on any
number of threads and in the reference.
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
