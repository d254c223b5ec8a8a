"""One step of the Collision-Free Speed Model for every agent, in numba.

Every agent's new direction and speed are computed from the positions of the step before (into
separate output arrays), and only then does anybody move: no agent sees another's new position,
so the result does not depend on the order of the agents or on the number of threads. The
neighbours of an agent are visited in a fixed order (the 5 x 5 cells around its own, row by row,
and in each cell by ascending index, ``cells.build_cell_list``), so its sums are the same floats
every time; ``reference.step_reference`` adds them up in the same order, and the two agree bit
for bit.

Per agent i (Tordeux, Chraibi & Seyfried 2016, as JuPedSim runs it):
- neighbours: every active j within the cut-off whose line of sight to i crosses no wall;
- direction: e0 (``directions.desired_direction``) + sum_j -a exp((r_i + r_j - d_ij) / D) u_ij
  + sum_walls -a_w exp((r_i - d_iw) / D_w) u_iw (u: unit vector from i to j or to the wall's
  nearest point), normalised; if that is the zero vector, last step's direction;
- gap s: over the neighbours ahead (``e . (x_j - x_i) >= 0``) whose centre lies within
  ``r_i + r_j`` of the line walked, the least ``d_ij - r_i - r_j``;
- speed ``min(v0, max(0, s / T))`` (v0 with nobody ahead), position ``x + e v dt``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_thread_id, njit, prange

from ..parallel import PRANGE_ONLY
from .cells import build_cell_list, cell_of
from .directions import desired_direction
from .walls import closest_on_segment, point_segment_distance, segments_cross


SPLIT = 2  # neighbour cells per side of a wall bin: cells of half the cut-off, the 5 x 5 around an
# agent cover its cut-off with 25 / 36 of the floor that 3 x 3 cells of the full cut-off would scan


@njit(cache=True)
def _blocked(xi, yi, xj, yj, x0, y0, x1, y1, near, n_near):
    """Whether one of the walls ``near[:n_near]`` (those within the cut-off of i) stands between i
    and j. A wall farther from i than the cut-off cannot cross the line to a neighbour within it,
    so this is the same answer as testing every wall of i's bin, only cheaper."""
    for m in range(n_near):
        k = near[m]
        if segments_cross(xi, yi, xj, yj, x0[k], y0[k], x1[k], y1[k]):
            return True
    return False


@njit(cache=True)
def _gap_by_search(i, xi, yi, ri, start, members, sx, sy, sr, walls, cut2, dirx, diry, near, n_near, ci, cj):
    """The gap ahead of i found by searching the cells again (the same neighbours, the same order)."""
    gap = math.inf
    cells_x = walls.bins_x * SPLIT
    cells_y = walls.bins_y * SPLIT
    row_lo = max(cj - SPLIT, 0)
    row_hi = min(cj + SPLIT, cells_y - 1)
    for di in range(-SPLIT, SPLIT + 1):
        ni = ci + di
        if ni < 0 or ni >= cells_x:
            continue
        for m in range(start[ni * cells_y + row_lo], start[ni * cells_y + row_hi + 1]):
            if members[m] == i:
                continue
            dx = sx[m] - xi
            dy = sy[m] - yi
            d2 = dx * dx + dy * dy
            if d2 >= cut2 or dirx * dx + diry * dy < 0.0:
                continue
            reach = ri + sr[m]
            if abs(dirx * dy - diry * dx) > reach or (
                    n_near > 0 and _blocked(xi, yi, sx[m], sy[m], walls.x0, walls.y0, walls.x1, walls.y1, near, n_near)):
                continue
            s = math.sqrt(d2) - reach
            if s < gap:
                gap = s
    return gap


@njit(cache=True)
def agent_update(i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, sx, sy, sr,
                 walls, params, dt, seen, seen_d, near):
    """(new x, new y, new ex, new ey) of agent ``i`` from the state of the step before.

    ``sx``, ``sy``, ``sr``: positions and radii in the order of the cell list (``members``), so a
    search reads memory in a row. ``seen``/``seen_d``/``near``: this thread's scratch: the visible
    neighbours within the cut-off (place in the list; dx, dy, d2) as the first pass meets them, so
    the gap is found among them in the same order without a second search (with more neighbours
    than the scratch holds, it searches again), and the walls within the cut-off."""
    xi = x[i]
    yi = y[i]
    ri = radius[i]
    cut2 = params.cutoff_m * params.cutoff_m
    bi, bj = cell_of(xi, yi, walls.bin_m, walls.bins_x, walls.bins_y)
    b = bi * walls.bins_y + bj
    cells_x = walls.bins_x * SPLIT
    cells_y = walls.bins_y * SPLIT
    ci, cj = cell_of(xi, yi, walls.bin_m / SPLIT, cells_x, cells_y)
    e0x, e0y = desired_direction(grids, target[i], xi, yi, grid_cell)
    wx0, wy0, wx1, wy1 = walls.x0, walls.y0, walls.x1, walls.y1
    n_near = 0  # near[:n_near]: the bin's walls within the cut-off (a hair more: rounding)
    for m in range(walls.bin_start[b], walls.bin_start[b + 1]):
        k = walls.bin_segments[m]
        if point_segment_distance(xi, yi, wx0[k], wy0[k], wx1[k], wy1[k]) < params.cutoff_m * 1.000001:
            near[n_near] = k
            n_near += 1
    rx = 0.0
    ry = 0.0
    n_seen = 0
    row_lo = max(cj - SPLIT, 0)
    row_hi = min(cj + SPLIT, cells_y - 1)
    for di in range(-SPLIT, SPLIT + 1):
        ni = ci + di
        if ni < 0 or ni >= cells_x:
            continue
        # cells (ni, cj-SPLIT..cj+SPLIT) follow each other in the list: one run of agents
        for m in range(start[ni * cells_y + row_lo], start[ni * cells_y + row_hi + 1]):
            if members[m] == i:
                continue
            dx = sx[m] - xi
            dy = sy[m] - yi
            d2 = dx * dx + dy * dy
            if d2 >= cut2:
                continue
            if d2 != 0.0 and n_near > 0 and _blocked(xi, yi, sx[m], sy[m], wx0, wy0, wx1, wy1, near, n_near):
                continue
            if n_seen < seen.shape[0]:
                seen[n_seen] = m
                seen_d[n_seen, 0] = dx
                seen_d[n_seen, 1] = dy
                seen_d[n_seen, 2] = d2
            n_seen += 1
            if d2 == 0.0:
                continue
            d = math.sqrt(d2)
            w = params.strength_neighbour * math.exp((ri + sr[m] - d) / params.range_neighbour) / d
            rx -= w * dx
            ry -= w * dy
    for m in range(n_near):
        k = near[m]
        qx, qy = closest_on_segment(xi, yi, wx0[k], wy0[k], wx1[k], wy1[k])
        vx = qx - xi
        vy = qy - yi
        d2 = vx * vx + vy * vy
        if d2 >= cut2 or d2 == 0.0:
            continue
        d = math.sqrt(d2)
        w = params.strength_wall * math.exp((ri - d) / params.range_wall) / d
        rx -= w * vx
        ry -= w * vy
    dirx = e0x + rx
    diry = e0y + ry
    norm = math.sqrt(dirx * dirx + diry * diry)
    if norm == 0.0:
        dirx = ex[i]
        diry = ey[i]
    else:
        dirx = dirx / norm
        diry = diry / norm
    if n_seen > seen.shape[0]:
        gap = _gap_by_search(i, xi, yi, ri, start, members, sx, sy, sr, walls, cut2, dirx, diry, near, n_near, ci, cj)
    else:
        gap = math.inf
        for m in range(n_seen):
            dx = seen_d[m, 0]
            dy = seen_d[m, 1]
            if dirx * dx + diry * dy < 0.0:
                continue
            reach = ri + sr[seen[m]]
            if abs(dirx * dy - diry * dx) > reach:
                continue
            s = math.sqrt(seen_d[m, 2]) - reach
            if s < gap:
                gap = s
    speed = v0[i] if gap == math.inf else min(max(gap / time_gap[i], 0.0), v0[i])
    return xi + dirx * speed * dt, yi + diry * speed * dt, dirx, diry


@njit(cache=True, parallel=PRANGE_ONLY)
def new_states(x, y, ex, ey, radius, v0, time_gap, target, active, grids, grid_cell, walls, params, dt,
               out_x, out_y, out_ex, out_ey, seen, seen_d, near):
    """Every active agent's next position and direction into the ``out_`` arrays (inactive ones
    keep theirs); reads only the state of the step before. ``seen``, ``seen_d``, ``near``: scratch,
    a row per thread (``scratch``)."""
    start, members = build_cell_list(x, y, active, walls.bin_m / SPLIT, walls.bins_x * SPLIT, walls.bins_y * SPLIT)
    sx = np.empty(members.shape[0])
    sy = np.empty(members.shape[0])
    sr = np.empty(members.shape[0])
    for m in range(members.shape[0]):
        sx[m] = x[members[m]]
        sy[m] = y[members[m]]
        sr[m] = radius[members[m]]
    for i in prange(x.shape[0]):
        if active[i]:
            t = get_thread_id()
            out_x[i], out_y[i], out_ex[i], out_ey[i] = agent_update(
                i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, sx, sy, sr, walls,
                params, dt, seen[t], seen_d[t], near[t])
        else:
            out_x[i] = x[i]
            out_y[i] = y[i]
            out_ex[i] = ex[i]
            out_ey[i] = ey[i]


def scratch(threads: int, walls, neighbours: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scratch rows for ``new_states``: one per thread numba may run (``numba.config.NUMBA_NUM_THREADS``),
    room for ``neighbours`` visible neighbours and for the longest list of walls of a bin."""
    longest = int(np.diff(walls.bin_start).max(initial=0))
    return (np.empty((threads, neighbours), dtype=np.int64), np.empty((threads, neighbours, 3)),
            np.empty((threads, max(1, longest)), dtype=np.int64))


@njit(cache=True)
def move_and_leave(x, y, ex, ey, active, new_x, new_y, new_ex, new_ey, is_exit, grid_cell, gone):
    """Everybody moves at once; who then stands in an exit cell leaves (``gone[i] = 1``).
    Returns how many left."""
    nx = is_exit.shape[0]
    ny = is_exit.shape[1]
    left = 0
    for i in range(x.shape[0]):
        gone[i] = 0
        if not active[i]:
            continue
        x[i] = new_x[i]
        y[i] = new_y[i]
        ex[i] = new_ex[i]
        ey[i] = new_ey[i]
        cx, cy = cell_of(x[i], y[i], grid_cell, nx, ny)
        if is_exit[cx, cy]:
            active[i] = 0
            gone[i] = 1
            left += 1
    return left
