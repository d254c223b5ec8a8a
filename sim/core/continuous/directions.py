"""Desired directions from the grid model's distance fields, read at any point by bilinear interpolation.

A distance field gives the walking distance (m) from every cell centre to a target; walking down
it is the way to the target around walls. The grid's fields step to 8 neighbours, so their slope
only points in a few directions: beside a wall below a door it points 13 degrees into the wall
all the way along it, and the crowd that follows it presses into that wall until some lock there
(1000 people in the 20 m room of ``benchmarks/continuous_vs_jupedsim.py``: five never left).
JuPedSim walks straight at the next corner of the shortest path instead. So each floor cell aims
at the farthest point of its way down the field that it sees (``sight_anchors``: a cell keeps the
point its next cell aims at while it can see it, else aims at that next cell, as Theta* builds
any-angle paths), which is the next corner of the way, or the middle of the target when in sight
(JuPedSim's agents head for the middle of their exit); where a cell aims at itself, it keeps the slope. An agent at a real position takes the
bilinear blend of the four cell centres around it, normalised: a direction that turns smoothly
from cell to cell instead of jumping at cell edges. Wall cells have no direction and so weigh
nothing in the blend.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def direction_grids(fields: np.ndarray, cell_size: float) -> np.ndarray:
    """Unit vectors along each field's way: float64 ``[k, nx, ny, 2]`` from fields ``[k, nx, ny]``
    (m, inf off the floor): towards the cell's sight anchor, or down the slope where it has none;
    zero where a cell is off the floor or the field is flat around it."""
    fields = np.asarray(fields, dtype=np.float64)
    out = np.zeros(fields.shape + (2,), dtype=np.float64)
    for k in range(fields.shape[0]):
        for axis in (0, 1):
            out[k, ..., axis] = -_slope(fields[k], axis, cell_size)
        field = np.ascontiguousarray(fields[k])
        order = np.argsort(field, axis=None, kind="stable")
        anchors = sight_anchors(field, order)
        cx, cy = np.meshgrid(np.arange(field.shape[0]), np.arange(field.shape[1]), indexing="ij")
        aimed = np.isfinite(anchors[..., 0])
        out[k, aimed, 0] = anchors[aimed, 0] - cx[aimed]
        out[k, aimed, 1] = anchors[aimed, 1] - cy[aimed]
        norm = np.hypot(out[k, ..., 0], out[k, ..., 1])
        ok = np.isfinite(field) & (norm > 0)
        out[k][ok] /= norm[ok][:, None]
        out[k][~ok] = 0.0
    return out


_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))  # straight ones first


@njit(cache=True)
def _next_cell(field, x, y):
    """The lowest of the 8 cells around (x, y) below it (straight before diagonal on ties; a diagonal
    step only between two floor cells), or (-1, -1) where there is no way down."""
    nx, ny = field.shape
    best = field[x, y]
    px = -1
    py = -1
    for s in range(8):
        qx = x + _STEPS[s][0]
        qy = y + _STEPS[s][1]
        if qx < 0 or qx >= nx or qy < 0 or qy >= ny or not field[qx, qy] < best:
            continue
        if s >= 4 and not (np.isfinite(field[qx, y]) and np.isfinite(field[x, qy])):
            continue
        best = field[qx, qy]
        px = qx
        py = qy
    return px, py


@njit(cache=True)
def _aim_at_the_middle_of_targets(field, anchors):
    """Cells with no way down (the target's own cells) aim at the middle (centroid) of the patch of
    such cells they belong to when they see it, as JuPedSim's agents aim at the middle of their
    exit: those who see the target then head for its middle, not for the edge their way first
    touches (with which a crowd jams a 1 m door's jambs)."""
    nx, ny = field.shape
    done = np.zeros((nx, ny), np.uint8)
    stack = np.empty((nx * ny, 2), np.int64)
    patch = np.empty((nx * ny, 2), np.int64)
    for x0 in range(nx):
        for y0 in range(ny):
            if done[x0, y0] or not np.isfinite(field[x0, y0]) or _next_cell(field, x0, y0)[0] >= 0:
                continue
            done[x0, y0] = 1
            stack[0, 0] = x0
            stack[0, 1] = y0
            top = 1
            n = 0
            sx = 0.0
            sy = 0.0
            while top > 0:
                top -= 1
                x = stack[top, 0]
                y = stack[top, 1]
                patch[n, 0] = x
                patch[n, 1] = y
                n += 1
                sx += x
                sy += y
                for s in range(4):
                    qx = x + _STEPS[s][0]
                    qy = y + _STEPS[s][1]
                    if (0 <= qx < nx and 0 <= qy < ny and not done[qx, qy] and np.isfinite(field[qx, qy])
                            and _next_cell(field, qx, qy)[0] < 0):
                        done[qx, qy] = 1
                        stack[top, 0] = qx
                        stack[top, 1] = qy
                        top += 1
            cx = sx / n
            cy = sy / n
            for m in range(n):
                x = patch[m, 0]
                y = patch[m, 1]
                if _clear(field, float(x), float(y), cx, cy):
                    anchors[x, y, 0] = cx
                    anchors[x, y, 1] = cy


@njit(cache=True)
def sight_anchors(field, order):
    """For each cell (indices ``[x, y]``), the point (x, y in cell units) it aims at: the farthest
    cell of its way down ``field`` it can see, or the middle of the target when it sees that
    (``_aim_at_the_middle_of_targets``); nan where there is none.

    ``order``: the flat cell indices by ascending field (stable), so a cell's next cell
    (``_next_cell``) is done before it. A cell sees a point when the straight line between their
    centres crosses floor cells only (``_clear``)."""
    nx, ny = field.shape
    anchors = np.full((nx, ny, 2), np.nan)
    _aim_at_the_middle_of_targets(field, anchors)
    for flat in order:
        x = flat // ny
        y = flat % ny
        if not np.isfinite(field[x, y]):
            break
        px, py = _next_cell(field, x, y)
        if px < 0:
            continue
        ax = anchors[px, py, 0]
        ay = anchors[px, py, 1]
        if np.isfinite(ax) and _clear(field, float(x), float(y), ax, ay):
            anchors[x, y, 0] = ax
            anchors[x, y, 1] = ay
        else:
            anchors[x, y, 0] = float(px)
            anchors[x, y, 1] = float(py)
    return anchors


SIGHT_CHECKED = 40  # cells: how far along a line of sight ``_clear`` looks (the cost of a field is
# cells x this; the next cell saw the rest of the line, within 1.5 cells of this one)


@njit(cache=True)
def _clear(field, x0, y0, x1, y1):
    """Whether the line between two cell centres (cell units) crosses floor cells only over its
    first ``SIGHT_CHECKED`` cells: sampled every fifth of a cell, so it may graze a wall cell's
    corner by under a tenth of a cell (a way round a corner touches the corner, as JuPedSim's does)."""
    length = max(abs(x1 - x0), abs(y1 - y0))
    n = int(math.ceil(5.0 * length))
    last = n if length <= SIGHT_CHECKED else int(5.0 * SIGHT_CHECKED)
    for m in range(1, last):
        t = m / n
        i = int(math.floor(x0 + t * (x1 - x0) + 0.5))
        j = int(math.floor(y0 + t * (y1 - y0) + 0.5))
        if not np.isfinite(field[i, j]):
            return False
    return True


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
