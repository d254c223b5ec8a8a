"""One step of the Collision-Free Speed Model for every agent, in numba.

Every agent's new direction and speed are computed from the positions of the step before (into
separate output arrays), and only then does anybody move: no agent sees another's new position,
so the result does not depend on the order of the agents or on the number of threads. The
neighbours of an agent are visited in a fixed order (the 3 x 3 cells around its own, row by row,
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
from numba import njit, prange

from ..parallel import PRANGE_ONLY
from .cells import build_cell_list, cell_of
from .directions import desired_direction
from .walls import closest_on_segment, segments_cross


@njit(cache=True)
def _blocked(xi, yi, xj, yj, walls, s0, s1):
    """Whether a wall of the bin's list (positions s0..s1) stands between i and j."""
    for m in range(s0, s1):
        k = walls.bin_segments[m]
        if segments_cross(xi, yi, xj, yj, walls.x0[k], walls.y0[k], walls.x1[k], walls.y1[k]):
            return True
    return False


@njit(cache=True)
def agent_update(i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, walls,
                 params, dt):
    """(new x, new y, new ex, new ey) of agent ``i`` from the state of the step before."""
    xi = x[i]
    yi = y[i]
    ri = radius[i]
    side = walls.bin_m
    cut2 = params.cutoff_m * params.cutoff_m
    ci, cj = cell_of(xi, yi, side, walls.bins_x, walls.bins_y)
    b = ci * walls.bins_y + cj
    s0 = walls.bin_start[b]
    s1 = walls.bin_start[b + 1]
    e0x, e0y = desired_direction(grids, target[i], xi, yi, grid_cell)
    rx = 0.0
    ry = 0.0
    for di in range(-1, 2):
        ni = ci + di
        if ni < 0 or ni >= walls.bins_x:
            continue
        for dj in range(-1, 2):
            nj = cj + dj
            if nj < 0 or nj >= walls.bins_y:
                continue
            c = ni * walls.bins_y + nj
            for m in range(start[c], start[c + 1]):
                j = members[m]
                if j == i:
                    continue
                dx = x[j] - xi
                dy = y[j] - yi
                d2 = dx * dx + dy * dy
                if d2 >= cut2 or d2 == 0.0 or _blocked(xi, yi, x[j], y[j], walls, s0, s1):
                    continue
                d = math.sqrt(d2)
                w = params.strength_neighbour * math.exp((ri + radius[j] - d) / params.range_neighbour) / d
                rx -= w * dx
                ry -= w * dy
    for m in range(s0, s1):
        k = walls.bin_segments[m]
        qx, qy = closest_on_segment(xi, yi, walls.x0[k], walls.y0[k], walls.x1[k], walls.y1[k])
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
    gap = math.inf
    for di in range(-1, 2):
        ni = ci + di
        if ni < 0 or ni >= walls.bins_x:
            continue
        for dj in range(-1, 2):
            nj = cj + dj
            if nj < 0 or nj >= walls.bins_y:
                continue
            c = ni * walls.bins_y + nj
            for m in range(start[c], start[c + 1]):
                j = members[m]
                if j == i:
                    continue
                dx = x[j] - xi
                dy = y[j] - yi
                d2 = dx * dx + dy * dy
                if d2 >= cut2 or dirx * dx + diry * dy < 0.0:
                    continue
                reach = ri + radius[j]
                if abs(dirx * dy - diry * dx) > reach or _blocked(xi, yi, x[j], y[j], walls, s0, s1):
                    continue
                s = math.sqrt(d2) - reach
                if s < gap:
                    gap = s
    speed = v0[i] if gap == math.inf else min(max(gap / time_gap[i], 0.0), v0[i])
    return xi + dirx * speed * dt, yi + diry * speed * dt, dirx, diry


@njit(cache=True, parallel=PRANGE_ONLY)
def new_states(x, y, ex, ey, radius, v0, time_gap, target, active, grids, grid_cell, walls, params, dt,
               out_x, out_y, out_ex, out_ey):
    """Every active agent's next position and direction into the ``out_`` arrays (inactive ones
    keep theirs); reads only the state of the step before."""
    start, members = build_cell_list(x, y, active, walls.bin_m, walls.bins_x, walls.bins_y)
    for i in prange(x.shape[0]):
        if active[i]:
            out_x[i], out_y[i], out_ex[i], out_ey[i] = agent_update(
                i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, walls, params, dt)
        else:
            out_x[i] = x[i]
            out_y[i] = y[i]
            out_ex[i] = ex[i]
            out_ey[i] = ey[i]


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
