"""The same step as ``sim.core.movement``, written the ordinary way: one agent at a time, in plain Python.

It is slow on purpose. It exists to prove the numba engine right (same draws in, same
arrays out) and to measure the speed-up. Keep it readable rather than clever: if a rule
changes, change it here first, then make the kernel agree.
"""

from __future__ import annotations

from .movement import BUDGET_CAP_CELLS, DX, DY
from .state import HOLD, LEFT, MARCH, NOWHERE, RALLY

_DX = [int(v) for v in DX]
_DY = [int(v) for v in DY]


class ReferenceWalker:
    """Holds the step's shared inputs; ``step_agent`` is one agent's turn."""

    def __init__(self, rand, agents, occ, walkable, place_id, is_exit, fields, field_place,
                 speed_table, window_r, dt, cell_size, mill_threshold, max_moves):
        self.rand = rand
        self.a = agents
        self.occ = occ
        self.walkable = walkable
        self.place_id = place_id
        self.is_exit = is_exit
        self.fields = fields
        self.field_place = field_place
        self.speed_table = speed_table
        self.window_r = int(window_r)
        self.dt = float(dt)
        self.cell_size = float(cell_size)
        self.mill_threshold = int(mill_threshold)
        self.max_moves = int(max_moves)
        self.nx, self.ny = walkable.shape

    def can_enter(self, x: int, y: int, qx: int, qy: int, d: int) -> bool:
        if not (0 <= qx < self.nx and 0 <= qy < self.ny):
            return False
        if not self.walkable[qx, qy] or self.occ[qx, qy] >= 0:
            return False
        if d % 2 == 1 and (not self.walkable[qx, y] or not self.walkable[x, qy]):
            return False
        return True

    def move(self, i: int, x: int, y: int, qx: int, qy: int) -> None:
        self.occ[x, y] = -1
        self.occ[qx, qy] = i
        self.a.x[i] = qx
        self.a.y[i] = qy

    def step_agent(self, i: int) -> bool:
        """One agent's turn; True if it left the map."""
        a = self.a
        x, y = int(a.x[i]), int(a.y[i])
        if x == NOWHERE:
            return False
        t = int(a.target[i])
        goal_place = int(self.field_place[t])
        at_goal = goal_place >= 0 and int(self.place_id[x, y]) == goal_place
        if a.behaviour[i] == MARCH and at_goal:
            a.behaviour[i] = RALLY
        if at_goal and a.behaviour[i] == HOLD:
            a.budget[i] = 0.0
            return False
        if at_goal and a.behaviour[i] == RALLY:
            self.mill(i, x, y, goal_place)
            return False
        return self.walk(i, x, y, t, goal_place)

    def mill(self, i: int, x: int, y: int, place: int) -> None:
        self.a.budget[i] = 0.0
        if int(self.rand[i, self.max_moves]) >= self.mill_threshold:
            return
        d = int(self.rand[i, self.max_moves + 1]) % 8
        qx, qy = x + _DX[d], y + _DY[d]
        if self.can_enter(x, y, qx, qy, d) and int(self.place_id[qx, qy]) == place:
            self.move(i, x, y, qx, qy)

    def density_around(self, x: int, y: int) -> tuple[int, int]:
        """(other people, floor cells) in the window around (x, y), the cell itself left out."""
        r = self.window_r
        people = cells = 0
        for wx in range(max(x - r, 0), min(x + r + 1, self.nx)):
            for wy in range(max(y - r, 0), min(y + r + 1, self.ny)):
                if self.walkable[wx, wy] and (wx, wy) != (x, y):
                    cells += 1
                    if self.occ[wx, wy] >= 0:
                        people += 1
        return people, cells

    def walk(self, i: int, x: int, y: int, t: int, goal_place: int) -> bool:
        a = self.a
        field = self.fields[t]
        people, cells = self.density_around(x, y)
        a.budget[i] += a.speed[i] * self.speed_table[people, cells] * self.dt
        cur = float(field[x, y])
        left = False
        for move in range(self.max_moves):
            start = int(self.rand[i, move]) % 8
            best, target_cell = cur, None
            for k in range(8):
                d = (start + k) % 8
                qx, qy = x + _DX[d], y + _DY[d]
                if self.can_enter(x, y, qx, qy, d) and float(field[qx, qy]) < best:
                    best, target_cell = float(field[qx, qy]), (qx, qy)
            if target_cell is None or a.budget[i] < cur - best:
                break
            a.budget[i] -= cur - best
            self.move(i, x, y, *target_cell)
            x, y = target_cell
            cur = best
            if self.is_exit[x, y]:
                self.occ[x, y] = -1
                a.x[i] = a.y[i] = NOWHERE
                a.state[i] = LEFT
                a.budget[i] = 0.0
                left = True
                break
            if goal_place >= 0 and int(self.place_id[x, y]) == goal_place:
                if a.behaviour[i] == MARCH:
                    a.behaviour[i] = RALLY
                break
        a.budget[i] = min(a.budget[i], BUDGET_CAP_CELLS * self.cell_size)
        return left


def step_agents_reference(order, rand, agents, occ, walkable, place_id, is_exit, fields, field_place,
                          speed_table, window_r, dt, cell_size, mill_threshold, max_moves) -> int:
    """Plain-Python twin of ``movement.step_agents``; returns how many left the map."""
    walker = ReferenceWalker(rand, agents, occ, walkable, place_id, is_exit, fields, field_place,
                             speed_table, window_r, dt, cell_size, mill_threshold, max_moves)
    return sum(walker.step_agent(int(i)) for i in order)
