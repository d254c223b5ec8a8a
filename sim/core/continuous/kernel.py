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

An agent with v0 = 0 (standing still: injured, or a protester who has stopped at its crowd) is
skipped whole: position and direction unchanged (its speed would be 0 anyway; only its direction
would have turned along its neighbours' pushes). It stays in the cell list, an obstacle to others.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..parallel import PRANGE_ONLY
from .cells import build_cell_list_near, cell_of
from .directions import desired_direction
from .walls import closest_on_segment, point_segment_distance, segments_cross


SPLIT = 2  # neighbour cells per side of a wall bin: cells of half the cut-off, the 5 x 5 around an
# agent cover its cut-off with 25 / 36 of the floor that 3 x 3 cells of the full cut-off would scan


@njit(cache=True, inline="always")
def _blocked(xi, yi, xj, yj, x0, y0, x1, y1, near, n_near, t):
    """Whether one of the walls ``near[:n_near]`` (those within the cut-off of i) stands between i
    and j (``near[t]``: this thread's row). A wall farther from i than the cut-off cannot cross the
    line to a neighbour within it, so this is the same answer as testing every wall of i's bin, only cheaper."""
    for m in range(n_near):
        k = near[t, m]
        if segments_cross(xi, yi, xj, yj, x0[k], y0[k], x1[k], y1[k]):
            return True
    return False


@njit(cache=True)
def _gap_by_search(i, xi, yi, ri, start, members, sx, sy, sr, walls, cut2, dirx, diry, near, n_near, t, ci, cj):
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
                    n_near > 0 and _blocked(xi, yi, sx[m], sy[m], walls.x0, walls.y0, walls.x1, walls.y1, near, n_near, t)):
                continue
            s = math.sqrt(d2) - reach
            if s < gap:
                gap = s
    return gap


@njit(cache=True, inline="always")
def _near_walls(xi, yi, walls, cutoff, near, t):
    """How many of the walls of (xi, yi)'s bin lie within the cut-off; they go to ``near`` (a hair
    more than the cut-off: rounding)."""
    bi, bj = cell_of(xi, yi, walls.bin_m, walls.bins_x, walls.bins_y)
    b = bi * walls.bins_y + bj
    n_near = 0
    for m in range(walls.bin_start[b], walls.bin_start[b + 1]):
        k = walls.bin_segments[m]
        if point_segment_distance(xi, yi, walls.x0[k], walls.y0[k], walls.x1[k], walls.y1[k]) < cutoff * 1.000001:
            near[t, n_near] = k
            n_near += 1
    return n_near


@njit(cache=True, inline="always")
def _wall_push(xi, yi, ri, walls, params, cut2, near, n_near, t, rx, ry):
    """(rx, ry) plus the pushes of the walls ``near[:n_near]`` on an agent at (xi, yi) of radius ri."""
    for m in range(n_near):
        k = near[t, m]
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
    return rx, ry


@njit(cache=True, inline="always")
def _gap_ahead(kdx, kdy, kd, kw, kr, n_kept, dirx, diry):
    """The least gap ``kd`` over the neighbours ahead along (dirx, diry) within ``kr`` (both radii) of the
    line walked (inf: nobody). First each one's gap or inf without a branch (vectorised, into
    ``kw``), then the least by four running minima (a minimum does not care in which order)."""
    for k in range(n_kept):
        dx = kdx[k]
        dy = kdy[k]
        reach = kr[k]
        ahead = (dirx * dx + diry * dy >= 0.0) & (abs(dirx * dy - diry * dx) <= reach)
        kw[k] = kd[k] if ahead else math.inf
    g0 = math.inf
    g1 = math.inf
    g2 = math.inf
    g3 = math.inf
    k = 0
    while k + 4 <= n_kept:
        g0 = min(g0, kw[k])
        g1 = min(g1, kw[k + 1])
        g2 = min(g2, kw[k + 2])
        g3 = min(g3, kw[k + 3])
        k += 4
    while k < n_kept:
        g0 = min(g0, kw[k])
        k += 1
    return min(min(g0, g1), min(g2, g3))


@njit(cache=True)
def _unit(dirx, diry, ex, ey):
    """(dirx, diry) normalised; (ex, ey) (last step's direction) if it is the zero vector."""
    norm = math.sqrt(dirx * dirx + diry * diry)
    if norm == 0.0:
        return ex, ey
    return dirx / norm, diry / norm


@njit(cache=True, inline="always")
def agent_update(i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, sx, sy, sr,
                 walls, params, dt, seen, sdx, sdy, sd, sw, sreach, near, t, own):
    """(new x, new y, new ex, new ey) of agent ``i`` (place ``own`` in the cell list) from the state of the step before.

    ``sx``, ``sy``, ``sr``: positions and radii in the order of the cell list (``members``), so a
    search reads memory in a row. ``seen``, ``sdx``, ``sdy``, ``sd``, ``sw``, ``sreach``, ``near``:
    scratch, row ``t`` is this agent's. The candidates of the 5 x 5 cells first go through a tight
    loop that keeps those within the cut-off (place in the list, dx, dy, squared distance, both
    radii) without a branch to mispredict, in the order met. Over that short list, loops without
    branches (LLVM runs them 4 at a time) work out each neighbour's distance and push weight
    around the calls of ``exp``; the pushes are added up in the list's order, and the gap is the
    least over those ahead. The floats are the reference's, operation for operation. With more
    candidates than the scratch holds, ``_agent_update_streamed`` does the same sums in the same order."""
    xi = x[i]
    yi = y[i]
    cut2 = params.cutoff_m * params.cutoff_m
    cells_x = walls.bins_x * SPLIT
    cells_y = walls.bins_y * SPLIT
    ci, cj = cell_of(xi, yi, walls.bin_m / SPLIT, cells_x, cells_y)
    row_lo = max(cj - SPLIT, 0)
    row_hi = min(cj + SPLIT, cells_y - 1)
    col_lo = max(ci - SPLIT, 0)
    col_hi = min(ci + SPLIT, cells_x - 1)
    candidates = 0
    for ni in range(col_lo, col_hi + 1):
        candidates += start[ni * cells_y + row_hi + 1] - start[ni * cells_y + row_lo]
    if candidates > seen.shape[1]:
        return _agent_update_streamed(i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start,
                                      members, sx, sy, sr, walls, params, dt, seen, sdx, sdy, sd, near, t)
    ri = radius[i]
    kept = seen[t]  # this agent's rows of the scratch (1-d views: loops over them vectorise)
    kdx = sdx[t]
    kdy = sdy[t]
    kd = sd[t]
    kw = sw[t]
    kr = sreach[t]
    n_kept = 0
    for ni in range(col_lo, col_hi + 1):
        # cells (ni, cj-SPLIT..cj+SPLIT) follow each other in the list: one run of agents
        for m in range(start[ni * cells_y + row_lo], start[ni * cells_y + row_hi + 1]):
            dx = sx[m] - xi
            dy = sy[m] - yi
            d2 = dx * dx + dy * dy
            kept[n_kept] = m
            kdx[n_kept] = dx
            kdy[n_kept] = dy
            kd[n_kept] = d2
            kr[n_kept] = ri + sr[m]
            n_kept += (d2 < cut2) & (m != own)
    n_near = _near_walls(xi, yi, walls, params.cutoff_m, near, t)
    if n_near > 0:  # drop who stands behind a wall (keeping the order)
        n_seen = 0
        for k in range(n_kept):
            m = kept[k]
            if kd[k] != 0.0 and _blocked(xi, yi, sx[m], sy[m], walls.x0, walls.y0, walls.x1, walls.y1, near, n_near, t):
                continue
            kept[n_seen] = m
            kdx[n_seen] = kdx[k]
            kdy[n_seen] = kdy[k]
            kd[n_seen] = kd[k]
            kr[n_seen] = kr[k]
            n_seen += 1
        n_kept = n_seen
    per_range = 1.0 / params.range_neighbour
    a = params.strength_neighbour
    for k in range(n_kept):  # distances and exponents, vectorised (no branch, no call; both radii
        d = math.sqrt(kd[k])  # read from kr: read as sr[kept[k]], LLVM would not vectorise the loop)
        kd[k] = d
        kw[k] = (kr[k] - d) * per_range
    for k in range(n_kept):  # the C library's exp, one call each (no vector maths library here)
        kw[k] = math.exp(kw[k])
    for k in range(n_kept):  # weights (0 for a neighbour on the very spot) and gaps, vectorised
        d = kd[k]
        w = a * kw[k] / d
        kw[k] = w if d != 0.0 else 0.0
        kd[k] = d - kr[k]  # the gap to it, were it ahead
    rx = 0.0
    ry = 0.0
    for k in range(n_kept):  # the pushes, summed in the list's order (a weight of 0 adds exactly nothing)
        rx -= kw[k] * kdx[k]
        ry -= kw[k] * kdy[k]
    rx, ry = _wall_push(xi, yi, ri, walls, params, cut2, near, n_near, t, rx, ry)
    e0x, e0y = desired_direction(grids, target[i], xi, yi, grid_cell)
    dirx, diry = _unit(e0x + rx, e0y + ry, ex[i], ey[i])
    gap = _gap_ahead(kdx, kdy, kd, kw, kr, n_kept, dirx, diry)
    speed = v0[i] if gap == math.inf else min(max(gap / time_gap[i], 0.0), v0[i])
    return xi + dirx * speed * dt, yi + diry * speed * dt, dirx, diry


@njit(cache=True, error_model="numpy")
def _agent_update_streamed(i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, sx, sy,
                           sr, walls, params, dt, seen, sdx, sdy, sd, near, t):
    """``agent_update`` for an agent with more candidates than the scratch holds: the pushes summed
    as the search meets the neighbours, the gap found by searching again (same neighbours, same order)."""
    xi = x[i]
    yi = y[i]
    ri = radius[i]
    cut2 = params.cutoff_m * params.cutoff_m
    cells_x = walls.bins_x * SPLIT
    cells_y = walls.bins_y * SPLIT
    ci, cj = cell_of(xi, yi, walls.bin_m / SPLIT, cells_x, cells_y)
    n_near = _near_walls(xi, yi, walls, params.cutoff_m, near, t)
    rx = 0.0
    ry = 0.0
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
            if d2 >= cut2 or d2 == 0.0:
                continue
            if n_near > 0 and _blocked(xi, yi, sx[m], sy[m], walls.x0, walls.y0, walls.x1, walls.y1, near, n_near, t):
                continue
            d = math.sqrt(d2)
            w = params.strength_neighbour * math.exp((ri + sr[m] - d) * (1.0 / params.range_neighbour)) / d
            rx -= w * dx
            ry -= w * dy
    rx, ry = _wall_push(xi, yi, ri, walls, params, cut2, near, n_near, t, rx, ry)
    e0x, e0y = desired_direction(grids, target[i], xi, yi, grid_cell)
    dirx, diry = _unit(e0x + rx, e0y + ry, ex[i], ey[i])
    gap = _gap_by_search(i, xi, yi, ri, start, members, sx, sy, sr, walls, cut2, dirx, diry, near, n_near, t, ci, cj)
    speed = v0[i] if gap == math.inf else min(max(gap / time_gap[i], 0.0), v0[i])
    return xi + dirx * speed * dt, yi + diry * speed * dt, dirx, diry


@njit(cache=True, parallel=PRANGE_ONLY, error_model="numpy")
def new_states(x, y, ex, ey, radius, v0, time_gap, target, active, grids, grid_cell, walls, params, dt,
               out_x, out_y, out_ex, out_ey, seen, sdx, sdy, sd, sw, sreach, near, start):
    """Every active agent's next position and direction into the ``out_`` arrays (inactive ones
    and those standing still, v0 = 0, keep theirs); reads only the state of the step before.
    ``seen``, ``sdx``, ``sdy``, ``sd``, ``sw``, ``sreach``, ``near``: scratch, a row per thread; ``start``: the cell
    list's starts, kept between steps (``scratch``). Agents are updated in the order of the cell
    list, so neighbours that one agent reads are still in cache for the next (no agent's result
    depends on when it is computed)."""
    members = build_cell_list_near(x, y, active, walls.bin_m / SPLIT, walls.bins_x * SPLIT, walls.bins_y * SPLIT,
                                   SPLIT, start)
    sx = np.empty(members.shape[0])
    sy = np.empty(members.shape[0])
    sr = np.empty(members.shape[0])
    for m in range(members.shape[0]):
        sx[m] = x[members[m]]
        sy[m] = y[members[m]]
        sr[m] = radius[members[m]]
    for i in range(x.shape[0]):
        if not active[i] or v0[i] == 0.0:
            out_x[i] = x[i]
            out_y[i] = y[i]
            out_ex[i] = ex[i]
            out_ey[i] = ey[i]
    moving = np.empty(members.shape[0], dtype=np.int64)  # places in the list of who is stepped
    k = 0
    for m in range(members.shape[0]):
        if v0[members[m]] != 0.0:
            moving[k] = m
            k += 1
    rows = seen.shape[0]
    for t in prange(rows):  # an equal run of the movers per scratch row: no row is used by two threads at once
        for q in range(t * k // rows, (t + 1) * k // rows):
            m = moving[q]
            i = members[m]
            out_x[i], out_y[i], out_ex[i], out_ey[i] = agent_update(
                i, x, y, ex, ey, radius, v0, time_gap, target, grids, grid_cell, start, members, sx, sy, sr, walls,
                params, dt, seen, sdx, sdy, sd, sw, sreach, near, t, m)


def scratch(threads: int, walls, neighbours: int = 512) -> tuple[np.ndarray, ...]:
    """Scratch for ``new_states``: rows for each thread numba may run (``numba.config.NUMBA_NUM_THREADS``)
    with room for ``neighbours`` candidates (agents of the 5 x 5 cells around one; 512 is 20 per m2
    at the default cut-off) and for the longest list of walls of a bin; and the cell list's starts
    (one per neighbour cell of the floor, int64)."""
    longest = int(np.diff(walls.bin_start).max(initial=0))
    cells = walls.bins_x * SPLIT * walls.bins_y * SPLIT + 1
    return (np.empty((threads, neighbours), dtype=np.int64), np.empty((threads, neighbours)),
            np.empty((threads, neighbours)), np.empty((threads, neighbours)), np.empty((threads, neighbours)),
            np.empty((threads, neighbours)),
            np.empty((threads, max(1, longest)), dtype=np.int64), np.zeros(cells, dtype=np.int64))


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
