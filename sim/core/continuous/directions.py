"""Desired directions from the grid model's distance fields, read at any point by bilinear interpolation.

A distance field gives the walking distance (m) from every cell centre to a target; walking down
it is the way to the target around walls. Each floor cell gets the unit vector down the field's
slope (central differences, one-sided beside a wall, where the neighbour is ``inf``), and an
agent at a real position takes the bilinear blend of the four cell centres around it, normalised:
a direction that turns smoothly from cell to cell instead of jumping at cell edges. Wall cells
have no direction and so weigh nothing in the blend.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def direction_grids(fields: np.ndarray, cell_size: float) -> np.ndarray:
    """Unit vectors down each field: float64 ``[k, nx, ny, 2]`` from fields ``[k, nx, ny]`` (m, inf
    off the floor); zero where a cell is off the floor or the field is flat around it. Worked out
    one field at a time (no float64 copy of the whole stack: 1.1 GB on the 5 October map). Kept in
    float64: rounded to float32, the directions at a 1 m door's jambs lock 220 of 300 people in the
    room of tests/test_continuous_room_lock.py (whether a crowd locks hangs on rounding)."""
    out = np.zeros(tuple(fields.shape) + (2,), dtype=np.float64)
    for k in range(fields.shape[0]):
        field = np.asarray(fields[k], dtype=np.float64)
        gx = -_slope(field, 0, cell_size)
        gy = -_slope(field, 1, cell_size)
        norm = np.hypot(gx, gy)
        ok = np.isfinite(field) & (norm > 0)
        safe = np.where(ok, norm, 1.0)
        out[k, ..., 0] = np.where(ok, gx / safe, 0.0)
        out[k, ..., 1] = np.where(ok, gy / safe, 0.0)
    return out


def _slope(field: np.ndarray, axis: int, cell_size: float) -> np.ndarray:
    """d field / d axis (per m): central where both neighbours are floor, else one-sided, else 0."""
    f = np.moveaxis(field, axis, 0)
    up = np.full_like(f, np.inf)
    down = np.full_like(f, np.inf)
    up[:-1] = f[1:]
    down[1:] = f[:-1]
    has_up, has_down = np.isfinite(up), np.isfinite(down)
    with np.errstate(invalid="ignore"):
        slope = np.where(has_up & has_down, (up - down) / (2 * cell_size),
                         np.where(has_up, (up - f) / cell_size, np.where(has_down, (f - down) / cell_size, 0.0)))
    slope[~np.isfinite(f)] = 0.0
    return np.moveaxis(slope, 0, axis)


@njit(cache=True)
def desired_direction(grids, target, x, y, cell_size):
    """The unit vector an agent at (x, y) m wants to walk along to field ``target`` (-1: none, (0, 0));
    (0, 0) where no floor cell around it leads anywhere."""
    if target < 0:
        return 0.0, 0.0
    nx = grids.shape[1]
    ny = grids.shape[2]
    u = x / cell_size - 0.5
    v = y / cell_size - 0.5
    i0 = int(math.floor(u))
    j0 = int(math.floor(v))
    tx = u - i0
    ty = v - j0
    dx = 0.0
    dy = 0.0
    for di in range(2):
        i = i0 + di
        if i < 0 or i >= nx:
            continue
        wx = tx if di == 1 else 1.0 - tx
        for dj in range(2):
            j = j0 + dj
            if j < 0 or j >= ny:
                continue
            w = wx * (ty if dj == 1 else 1.0 - ty)
            dx += w * grids[target, i, j, 0]
            dy += w * grids[target, i, j, 1]
    norm = math.sqrt(dx * dx + dy * dy)
    if norm == 0.0:
        return 0.0, 0.0
    return dx / norm, dy / norm
