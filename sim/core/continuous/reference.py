"""The Collision-Free Speed Model agent by agent in plain Python: the rules as one reads them, to
prove ``kernel`` right (and to measure its speed-up).

It keeps its own neighbour lists (a dict from cell to agents) and visits neighbours in the order
the kernel does (the 5 x 5 cells row by row, ascending index in a cell), and it evaluates every
expression in the same order with the same IEEE operations (``math.sqrt``, ``math.exp`` from the
same C library numba calls), so the two agree bit for bit; the test says so step by step.
"""

from __future__ import annotations

import math

import numpy as np

from .kernel import SPLIT
from .state import CfsmParams, Crowd, Floor


def _cell(x: float, y: float, side: float, cells_x: int, cells_y: int) -> tuple[int, int]:
    i = min(max(int(math.floor(x / side)), 0), cells_x - 1)
    j = min(max(int(math.floor(y / side)), 0), cells_y - 1)
    return i, j


def _closest(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return ax, ay
    t = min(max(((px - ax) * dx + (py - ay) * dy) / length2, 0.0), 1.0)
    return ax + t * dx, ay + t * dy


def _crosses(px, py, qx, qy, ax, ay, bx, by) -> bool:
    d1 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    d2 = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
    d3 = (qx - px) * (ay - py) - (qy - py) * (ax - px)
    d4 = (qx - px) * (by - py) - (qy - py) * (bx - px)
    return d1 * d2 < 0.0 and d3 * d4 < 0.0


def _desired(grids: np.ndarray, target: int, x: float, y: float, cell: float) -> tuple[float, float]:
    """Bilinear blend of the four cell centres' directions around (x, y), normalised."""
    if target < 0:
        return 0.0, 0.0
    u, v = x / cell - 0.5, y / cell - 0.5
    i0, j0 = int(math.floor(u)), int(math.floor(v))
    tx, ty = u - i0, v - j0
    dx = dy = 0.0
    for di in range(2):
        i = i0 + di
        if not 0 <= i < grids.shape[1]:
            continue
        wx = tx if di == 1 else 1.0 - tx
        for dj in range(2):
            j = j0 + dj
            if not 0 <= j < grids.shape[2]:
                continue
            w = wx * (ty if dj == 1 else 1.0 - ty)
            dx += w * float(grids[target, i, j, 0])
            dy += w * float(grids[target, i, j, 1])
    norm = math.sqrt(dx * dx + dy * dy)
    return (0.0, 0.0) if norm == 0.0 else (dx / norm, dy / norm)


def step_reference(crowd: Crowd, floor: Floor, params: CfsmParams, dt: float) -> np.ndarray:
    """Advance ``crowd`` in place by one step of ``dt`` s; returns a bool mask of who left."""
    walls = floor.walls
    side, cells_x, cells_y = walls.bin_m / SPLIT, walls.bins_x * SPLIT, walls.bins_y * SPLIT  # neighbour cells
    n = len(crowd)
    x, y = [float(v) for v in crowd.x], [float(v) for v in crowd.y]
    r = [float(v) for v in crowd.radius]
    segments = list(zip(walls.x0.tolist(), walls.y0.tolist(), walls.x1.tolist(), walls.y1.tolist()))
    in_cell: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        if crowd.active[i]:
            in_cell.setdefault(_cell(x[i], y[i], side, cells_x, cells_y), []).append(i)
    cut2 = params.cutoff_m * params.cutoff_m
    updates = {}
    for i in range(n):
        if not crowd.active[i]:
            continue
        if float(crowd.v0[i]) == 0.0:  # standing still: skipped whole, as in the kernel
            updates[i] = (x[i], y[i], float(crowd.ex[i]), float(crowd.ey[i]))
            continue
        bi, bj = _cell(x[i], y[i], walls.bin_m, walls.bins_x, walls.bins_y)
        b = bi * walls.bins_y + bj
        ci, cj = _cell(x[i], y[i], side, cells_x, cells_y)
        near_walls = [segments[k] for k in walls.bin_segments[walls.bin_start[b]:walls.bin_start[b + 1]]]

        def visible(j):
            return not any(_crosses(x[i], y[i], x[j], y[j], *s) for s in near_walls)

        around = range(-SPLIT, SPLIT + 1)
        neighbours = [j for di in around for dj in around for j in in_cell.get((ci + di, cj + dj), []) if j != i]
        e0x, e0y = _desired(floor.grids, int(crowd.target[i]), x[i], y[i], floor.cell_size)
        rx = ry = 0.0
        for j in neighbours:
            dx, dy = x[j] - x[i], y[j] - y[i]
            d2 = dx * dx + dy * dy
            if d2 >= cut2 or d2 == 0.0 or not visible(j):
                continue
            d = math.sqrt(d2)
            w = params.strength_neighbour * math.exp((r[i] + r[j] - d) * (1.0 / params.range_neighbour)) / d
            rx -= w * dx
            ry -= w * dy
        for s in near_walls:
            qx, qy = _closest(x[i], y[i], *s)
            vx, vy = qx - x[i], qy - y[i]
            d2 = vx * vx + vy * vy
            if d2 >= cut2 or d2 == 0.0:
                continue
            d = math.sqrt(d2)
            w = params.strength_wall * math.exp((r[i] - d) / params.range_wall) / d
            rx -= w * vx
            ry -= w * vy
        ux, uy = e0x + rx, e0y + ry
        norm = math.sqrt(ux * ux + uy * uy)
        ux, uy = (float(crowd.ex[i]), float(crowd.ey[i])) if norm == 0.0 else (ux / norm, uy / norm)
        gap = math.inf
        for j in neighbours:
            dx, dy = x[j] - x[i], y[j] - y[i]
            d2 = dx * dx + dy * dy
            if d2 >= cut2 or ux * dx + uy * dy < 0.0:
                continue
            reach = r[i] + r[j]
            if abs(ux * dy - uy * dx) > reach or not visible(j):
                continue
            gap = min(gap, math.sqrt(d2) - reach)
        v0, gap_s = float(crowd.v0[i]), float(crowd.time_gap[i])
        speed = v0 if gap == math.inf else min(max(gap / gap_s, 0.0), v0)
        updates[i] = (x[i] + ux * speed * dt, y[i] + uy * speed * dt, ux, uy)
    gone = np.zeros(n, dtype=bool)
    nx, ny = floor.is_exit.shape
    for i, (nx_i, ny_i, ux, uy) in updates.items():
        crowd.x[i], crowd.y[i], crowd.ex[i], crowd.ey[i] = nx_i, ny_i, ux, uy
        if floor.is_exit[_cell(nx_i, ny_i, floor.cell_size, nx, ny)]:
            crowd.active[i] = 0
            gone[i] = True
    return gone
