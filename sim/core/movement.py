"""Floor-field walking with exclusion and Weidmann speed-density, one step for all agents (numba).

The rules, per agent in the step's random order (``sim.core.reference`` states them again in
plain Python and must agree bit for bit):

* Agents off the map (left, arrested) and injured agents do nothing.
* Inside its target place a ``rally`` agent mills: with the step's mill chance it tries one
  random neighbouring cell that is free, floor, inside the place.
* Everyone else walks down its target's distance field (which goes on falling inside the
  place, so ``march`` and ``hold`` agents walk in until blocked; a ``march`` agent that
  cannot move inside its place becomes a ``rally`` agent there). It earns ``speed * factor * dt``
  metres (times ``flee_factor`` when fleeing: people run), where ``factor`` is Weidmann's
  v(rho)/v0 for the density of the others on the floor cells of a small window around it,
  then spends them on moves to the
  free neighbour with the lowest field value, each move costing the field's drop (metres of
  progress), so the speed toward the target equals the walking speed at any heading.
  Blocked ahead, it may instead take one step aside to a free cell on the same level line
  (paying the step's length), as people shuffle sideways to find a gap.
  No corner cutting between two walls. A walker stuck behind others keeps at most 1.5 cells
  of unspent walking.
* Stepping on an exit cell means leaving the map.

``occ`` holds, per cell, the agent standing there, ``FREE`` (-1) or ``WALL`` (-2): one array
read tells a walker both whether a cell is floor and whether it is taken.

Random numbers come in as arrays drawn before the step (``rand[i, k]``: uint16), so the
reference engine consumes exactly the same draws.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .state import FLEEING, FREE, INJURED, LEFT, MARCH, NOWHERE, RALLY, WALL

# the 8 neighbours, counter-clockwise from east
DX = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
DY = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)

BUDGET_CAP_CELLS = 1.5
SQRT2 = 1.4142135623730951


def rand_columns(max_moves: int) -> int:
    """Columns of ``rand`` one step needs: a scan start per move, a mill chance, a mill direction."""
    return max_moves + 2


@njit(cache=True, inline="always")
def _can_enter(x, y, nx_, ny_, d, occ):
    if nx_ < 0 or ny_ < 0 or nx_ >= occ.shape[0] or ny_ >= occ.shape[1]:
        return False
    if occ[nx_, ny_] != FREE:
        return False
    if d % 2 == 1:  # diagonal: both orthogonal cells must be floor
        if occ[nx_, y] == WALL or occ[x, ny_] == WALL:
            return False
    return True


@njit(cache=True)
def step_agents(
    order, rand, x, y, state, behaviour, target, speed, budget,
    occ, walkable, place_id, is_exit, fields, field_place,
    speed_table, window_r, dt, cell_size, mill_threshold, max_moves, flee_factor,
):
    """Advance every agent by one time step in place; returns how many left the map."""
    nxg, nyg = walkable.shape
    mill_col = max_moves
    dir_col = max_moves + 1
    cap = BUDGET_CAP_CELLS * cell_size
    left = 0
    for j in range(order.shape[0]):
        i = order[j]
        ax = x[i]
        ay = y[i]
        if ax == NOWHERE or state[i] == INJURED:
            continue
        t = target[i]
        goal_place = field_place[t]
        b = behaviour[i]
        at_goal = goal_place >= 0 and place_id[ax, ay] == goal_place
        if at_goal and b == RALLY:
            budget[i] = 0.0
            if rand[i, mill_col] < mill_threshold:
                d = rand[i, dir_col] % 8
                qx = ax + DX[d]
                qy = ay + DY[d]
                if _can_enter(ax, ay, qx, qy, d, occ) and place_id[qx, qy] == goal_place:
                    occ[ax, ay] = FREE
                    occ[qx, qy] = i
                    x[i] = qx
                    y[i] = qy
            continue

        # walk down the field, slowed by the people around
        count = -1  # the walker itself is in the window
        area = -1
        for wx in range(max(ax - window_r, 0), min(ax + window_r + 1, nxg)):
            for wy in range(max(ay - window_r, 0), min(ay + window_r + 1, nyg)):
                o = occ[wx, wy]
                area += o != WALL
                count += o >= 0
        run = flee_factor if state[i] == FLEEING else 1.0
        budget[i] += speed[i] * run * speed_table[count, area] * dt
        cur = np.float64(fields[t, ax, ay])
        moves = 0
        while moves < max_moves:
            start = rand[i, moves] % 8
            best = cur
            bx = -1
            by = -1
            side = -1
            for k in range(8):
                d = (start + k) % 8
                qx = ax + DX[d]
                qy = ay + DY[d]
                if not _can_enter(ax, ay, qx, qy, d, occ):
                    continue
                v = np.float64(fields[t, qx, qy])
                if v < best:
                    best = v
                    bx = qx
                    by = qy
                elif v == cur and side < 0:
                    side = d
            aside = bx < 0
            if aside:
                # blocked ahead: step aside along the level line, once per step, when held up long enough
                if moves > 0 or side < 0 or budget[i] < cap:
                    break
                bx = ax + DX[side]
                by = ay + DY[side]
                cost = cell_size * (SQRT2 if side % 2 == 1 else 1.0)
            else:
                cost = cur - best
                if budget[i] < cost:
                    break
            budget[i] -= cost
            occ[ax, ay] = FREE
            occ[bx, by] = i
            ax = bx
            ay = by
            cur = best
            if not aside:
                moves += 1
            if is_exit[ax, ay] != 0:
                occ[ax, ay] = FREE
                ax = NOWHERE
                ay = NOWHERE
                state[i] = LEFT
                budget[i] = 0.0
                left += 1
                break
            if aside:
                break
        if ax != NOWHERE and moves == 0 and b == MARCH and goal_place >= 0 and place_id[ax, ay] == goal_place:
            behaviour[i] = RALLY  # arrived and packed in as far as it goes
        x[i] = ax
        y[i] = ay
        if budget[i] > cap:
            budget[i] = cap
    return left
