"""What a walker reads of the cell it stands on, packed into one ``uint32`` per cell.

At every cell a walker reaches, its turn reads which neighbours a step may go to as far as
walls go, whether the cell is an exit, which place the cell belongs to and how many floor cells
its density window holds (walls do not move, so this is counted once). As four tables these
would be four cache lines, on four memory pages, per cell, and with walkers spread thinly over
the map each a miss. Packed, they are one line, and one prefetch covers them. None of this
changes during a step (only a gate giving way changes the floor: the table is then rebuilt).

Layout, low bits first: 8 bits of enterable directions (bit d: direction d), 1 bit exit,
11 bits of window floor, 12 bits of place id + 1 (0: no place).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import PAD

EXIT_SHIFT = 8
AREA_SHIFT = 9
PLACE_SHIFT = 20
MAX_AREA = (1 << (PLACE_SHIFT - AREA_SHIFT)) - 1
MAX_PLACES = (1 << (32 - PLACE_SHIFT)) - 1  # place ids 0 .. MAX_PLACES - 1; -1 is no place
assert (2 * PAD + 1) ** 2 - 1 <= MAX_AREA  # any window the bit grids allow fits


def build(walkable: np.ndarray, place_id: np.ndarray, is_exit: np.ndarray, window_r: int) -> np.ndarray:
    """``uint32[nx, ny]``: the packed table of a map, for density windows of radius ``window_r``."""
    if not 0 <= window_r <= PAD:
        raise ValueError(f"a density window radius must be 0..{PAD} cells, not {window_r}")
    if place_id.size and (int(place_id.min()) < -1 or int(place_id.max()) >= MAX_PLACES):
        raise ValueError(f"place ids must be -1 (no place) or 0..{MAX_PLACES - 1}")
    if walkable.shape != place_id.shape or walkable.shape != is_exit.shape:
        raise ValueError("the floor, place and exit grids must have the same shape")
    return _pack(walkable, place_id, is_exit, window_r)


@njit(cache=True)
def _pack(walkable, place_id, is_exit, r):
    """The table in one pass over the map's rows (start-up time: every run builds it).

    The window's floor is two running sums: along y within each row (kept for the window's last
    2r + 1 rows in a ring), and along x over those rows. The steps of a row's inner cells are
    worked out in a loop without branches, which LLVM vectorizes; the row's two end cells apart.
    The Bishkek map takes 40-70 ms.
    """
    nx, ny = walkable.shape
    out = np.empty((nx, ny), dtype=np.uint32)
    if ny == 0:
        return out
    span = 2 * r + 1
    ring = np.zeros((span, ny), dtype=np.uint16)  # floor in each cell's stretch of 2r + 1 along y
    acc = np.zeros(ny, dtype=np.uint16)  # floor in the windows of the row r behind
    off_map = np.zeros(ny, dtype=walkable.dtype)  # the row beyond either side: no floor
    for x in range(nx + r):
        stretch = ring[x % span]  # holds row x - span, which leaves the window now
        for y in range(ny):
            acc[y] -= stretch[y]
        if x < nx:
            run = 0
            for y in range(ny + r):
                if y < ny:
                    run += walkable[x, y] == 1
                if y - span >= 0:
                    run -= walkable[x, y - span] == 1
                if y >= r:
                    stretch[y - r] = run
            for y in range(ny):
                acc[y] += stretch[y]
        else:
            stretch[:] = 0
        if x < r:
            continue
        h = x - r  # the row whose windows are complete
        west = off_map if h == 0 else walkable[h - 1]
        here = walkable[h]
        east = off_map if h == nx - 1 else walkable[h + 1]
        row = out[h]
        for y in range(1, ny - 1):
            row[y] = np.uint32(_steps(west[y - 1] == 1, west[y] == 1, west[y + 1] == 1, here[y - 1] == 1,
                                      here[y + 1] == 1, east[y - 1] == 1, east[y] == 1, east[y + 1] == 1))
        for y in (0, ny - 1):
            south = y > 0
            north = y < ny - 1
            ys, yn = max(y - 1, 0), min(y + 1, ny - 1)
            row[y] = np.uint32(_steps(south and west[ys] == 1, west[y] == 1, north and west[yn] == 1,
                                      south and here[ys] == 1, north and here[yn] == 1,
                                      south and east[ys] == 1, east[y] == 1, north and east[yn] == 1))
        places = place_id[h]
        exits = is_exit[h]
        for y in range(ny):
            area = np.uint32(acc[y] - (here[y] == 1))
            row[y] |= ((np.uint32(exits[y] != 0) << EXIT_SHIFT) | (area << AREA_SHIFT)
                       | (np.uint32(places[y] + 1) << PLACE_SHIFT))
    return out


@njit(cache=True, inline="always")
def _steps(sw, w, nw, s, n, se, e, ne):
    """The enterable directions of a cell from which of its neighbours are floor (west, here, east
    columns; south to north): a neighbour on the map and floor, and for a diagonal step floor on
    both sides as well (no corner cutting)."""
    sw, w, nw, s, n, se, e, ne = np.uint8(sw), np.uint8(w), np.uint8(nw), np.uint8(s), np.uint8(n), \
        np.uint8(se), np.uint8(e), np.uint8(ne)
    return (e | ((ne & e & n) << 1) | (n << 2) | ((nw & w & n) << 3) | (w << 4)
            | ((sw & w & s) << 5) | (s << 6) | ((se & e & s) << 7))


@njit(cache=True, inline="always")
def enter_of(c):
    """Bit d set where a step to neighbour d (``bits.DX[d], bits.DY[d]``) is possible as far as walls go."""
    return np.int64(c & 0xFF)


@njit(cache=True, inline="always")
def exit_of(c):
    """Stepping on the cell means leaving the map."""
    return (c >> EXIT_SHIFT) & 1 != 0


@njit(cache=True, inline="always")
def area_of(c):
    """Floor cells in the cell's density window, the cell itself left out, clipped to the map."""
    return np.int64((c >> AREA_SHIFT) & MAX_AREA)


@njit(cache=True, inline="always")
def place_of(c):
    """The cell's place id, -1 for none."""
    return np.int64(c >> PLACE_SHIFT) - 1
