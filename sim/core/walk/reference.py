"""The same step as ``sim.core.walk.movement``, written the ordinary way: one agent at a time, in plain Python.

It is slow on purpose. It exists to prove the numba engine right (same draws in, same
arrays out) and to measure the speed-up. Keep it readable rather than clever: if a rule
changes, change it here first, then make the kernel agree. It shares the kernels' state (the
occupancy bit grid, read and written a cell at a time through ``bits.Occupancy``) and their
random numbers (the plain twins in ``sim.core.counter_rng``), and takes its turns one after
another in the order the numba engine's strips amount to (``strips.turn_sequence``). It reads
the map as it is (``engine.Terrain``: floor, places, exits), not the kernels' packed cell table.
"""

from __future__ import annotations

from .bits import DX, DY, Occupancy
from ..counter_rng import draw16_py
from .movement import BUDGET_CAP_CELLS, PER_METRE, SQRT2
from .state import FLEEING, HOLD, INJURED, LEFT, MARCH, NOWHERE, RALLY

_DX = [int(v) for v in DX]
_DY = [int(v) for v in DY]
_PER_METRE = [float(v) for v in PER_METRE]


class ReferenceWalker:
    """Holds the step's shared inputs; ``step_agent`` is one agent's turn. ``agents``: ``state.Walkers``
    (written in place), ``terrain``: ``engine.Terrain``, ``walking``: ``movement.WalkConstants``."""

    def __init__(self, key, agents, occ, contacts, terrain, walking):
        self.key = int(key)
        self.a = agents
        self.occ = Occupancy(occ)
        self.who = contacts.who
        self.heads = contacts.heads
        self.swapped = contacts.swapped
        self.swap_threshold = int(walking.swap_threshold)
        self.horizon = int(walking.horizon)
        self.walkable = terrain.walkable
        self.place_id = terrain.place_id
        self.is_exit = terrain.is_exit
        self.fields = terrain.fields
        self.field_place = terrain.field_place
        self.speed_table = walking.speed_table
        self.window_r = int(walking.window_r)
        self.dt = float(walking.dt)
        self.cell_size = float(walking.cell_size)
        self.mill_threshold = int(walking.mill_threshold)
        self.max_moves = int(walking.max_moves)
        self.flee_factor = float(walking.flee_factor)
        self.nx, self.ny = terrain.walkable.shape

    def can_step(self, x: int, y: int, qx: int, qy: int, d: int) -> bool:
        """Floor the walls let one step onto from (x, y), taken or not."""
        if not (0 <= qx < self.nx and 0 <= qy < self.ny) or not self.walkable[qx, qy]:
            return False
        return d % 2 == 0 or (bool(self.walkable[qx, y]) and bool(self.walkable[x, qy]))

    def can_enter(self, x: int, y: int, qx: int, qy: int, d: int) -> bool:
        return self.can_step(x, y, qx, qy, d) and not self.occ.taken(qx, qy)

    def swap_partner(self, i: int, x: int, y: int, t: int, cur: float, start: int):
        """Whom ``i`` may swap places with, and where: the taken neighbour with the most progress per
        metre on i's field (ties: the first from ``start``, counter-clockwise), if i can pay for the
        move and wins the swap chance, and the one there is of i's kind, not holding a line, not hurt,
        not swapped this step, and either walks, loses nothing by stepping onto i's cell (not higher
        on its field) and can pay for that, or rallies in the place i's cell is in while i is going
        elsewhere (it pays nothing). (j, (qx, qy), value, what j pays) or None."""
        a = self.a
        field = self.fields[t]
        best, best_rate, cell = cur, 0.0, None
        for k in range(8):
            d = (start + k) % 8
            qx, qy = x + _DX[d], y + _DY[d]
            if self.can_step(x, y, qx, qy, d) and self.occ.taken(qx, qy):
                rate = (cur - float(field[qx, qy])) * _PER_METRE[d]
                if rate > best_rate:
                    best, best_rate, cell = float(field[qx, qy]), rate, (qx, qy)
        if cell is None or a.budget[i] < cur - best or self.draw(i, self.max_moves + 2) >= self.swap_threshold:
            return None
        j = int(self.who[cell])
        if j < 0 or (int(a.x[j]), int(a.y[j])) != cell or self.swapped[j] or a.kind[j] != a.kind[i] \
                or a.state[j] == INJURED or a.behaviour[j] == HOLD:
            return None
        tj = int(a.target[j])
        if a.behaviour[j] == RALLY:  # people at a rally let those leaving it through
            rally = int(self.field_place[tj])
            if tj == t or rally < 0 or int(self.place_id[x, y]) != rally:
                return None
            return j, cell, best, 0.0
        drop_j = float(self.fields[tj][cell]) - float(self.fields[tj][x, y])
        if not drop_j >= 0.0 or a.budget[j] < drop_j:  # not: a drop from nowhere (inf - inf) is nan
            return None
        return j, cell, best, drop_j

    def swap(self, i: int, j: int, x: int, y: int, cell, cur: float, best: float, cost_j: float) -> None:
        """``i`` and ``j`` trade cells (both stay taken); i pays its field's drop, j ``cost_j``."""
        a = self.a
        a.budget[j] -= cost_j
        a.budget[i] -= cur - best
        a.x[j], a.y[j] = x, y
        a.x[i], a.y[i] = cell
        self.who[x, y] = j
        self.heads[x, y] = 0  # j's heading here is not known until its turn
        self.swapped[j] = 1

    def heading(self, x: int, y: int, field, cur: float) -> int:
        """The straight direction the field falls fastest in from (x, y) (``anticipation.heading``); -1: none."""
        h, drop = -1, 0.0
        for d in (0, 2, 4, 6):
            qx, qy = x + _DX[d], y + _DY[d]
            if self.can_step(x, y, qx, qy, d) and cur - float(field[qx, qy]) > drop:
                h, drop = d, cur - float(field[qx, qy])
        return h

    def faces_someone(self, qx: int, qy: int, h: int, reach: int | None = None) -> bool:
        """The first person within the horizon (or ``reach``) beyond (qx, qy) in direction h heads
        straight back towards it, as ``heads`` says (``anticipation.faces_someone``)."""
        for k in range(1, (self.horizon if reach is None else reach) + 1):
            fx, fy = qx + k * _DX[h], qy + k * _DY[h]
            if self.occ.taken(fx, fy):
                return int(self.heads[fx, fy]) == (h + 4) % 8 + 1
        return False

    def dodge(self, i: int, x: int, y: int, d_best: int, best: float, start: int, cur: float, field, h: int):
        """``anticipation.dodge``: keep the move in direction ``d_best`` (-1: none) unless it faces
        someone coming; then the free move with the most progress per metre facing nobody, else the
        first free step along the level line facing nobody, else ``d_best``. (direction, value)."""
        if d_best >= 0 and not self.faces_someone(x + _DX[d_best], y + _DY[d_best], h):
            return d_best, best
        if d_best < 0 and not self.faces_someone(x, y, h, reach=1):
            return d_best, best  # held up by someone walking its way, or by nobody in its heading
        alt, alt_v, alt_rate, side = -1, cur, 0.0, -1
        for k in range(8):
            d = (start + k) % 8
            qx, qy = x + _DX[d], y + _DY[d]
            if d == d_best or not self.can_enter(x, y, qx, qy, d):
                continue
            v = float(field[qx, qy])
            rate = (cur - v) * _PER_METRE[d]
            if (rate > alt_rate or (v == cur and side < 0 and alt < 0)) and not self.faces_someone(qx, qy, h):
                if rate > alt_rate:
                    alt, alt_v, alt_rate = d, v, rate
                else:
                    side = d
        if alt >= 0:
            return alt, alt_v
        if side >= 0:
            return side, cur
        return d_best, best

    def side_partner(self, i: int, x: int, y: int, h: int, start: int):
        """``anticipation.side_partner``: someone beside i, walking the other way, to trade cells with
        sideways when i is held up by someone coming: (j, (sx, sy)) or None."""
        a, cell = self.a, self.cell_size
        if a.budget[i] < cell or not self.faces_someone(x, y, h, reach=1):
            return None
        back = (h + 4) % 8
        for k in range(2):
            sd = (h + 2 + 4 * ((k + start) % 2)) % 8
            sx, sy = x + _DX[sd], y + _DY[sd]
            if not (self.can_step(x, y, sx, sy, sd) and self.occ.taken(sx, sy)):
                continue
            j = int(self.who[sx, sy])
            if j < 0 or (int(a.x[j]), int(a.y[j])) != (sx, sy) or self.swapped[j] or a.kind[j] != a.kind[i] \
                    or a.state[j] == INJURED or a.behaviour[j] in (HOLD, RALLY) or a.target[j] == a.target[i] \
                    or a.budget[j] < cell:
                continue
            bx, by = sx + _DX[back], sy + _DY[back]
            if not self.can_step(sx, sy, bx, by, back):
                continue
            fj = self.fields[int(a.target[j])]
            if not float(fj[bx, by]) < float(fj[sx, sy]):  # j walks the other way
                continue
            if self.faces_someone(sx, sy, h) or (self.faces_someone(x, y, back)
                                                 and not self.faces_someone(sx, sy, back, reach=1)):
                continue
            return j, (sx, sy)
        return None

    def draw(self, i: int, k: int) -> int:
        """Draw ``k`` of agent ``i`` this step: 16 random bits."""
        return draw16_py(self.key, i, k)

    def move(self, i: int, x: int, y: int, qx: int, qy: int) -> None:
        self.occ.set(x, y, False)
        self.occ.set(qx, qy, True)
        self.a.x[i] = qx
        self.a.y[i] = qy

    def step_agent(self, i: int) -> bool:
        """One agent's turn; True if it left the map."""
        a = self.a
        x, y = int(a.x[i]), int(a.y[i])
        if x == NOWHERE or a.state[i] == INJURED:
            return False
        t = int(a.target[i])
        goal_place = int(self.field_place[t])
        at_goal = goal_place >= 0 and int(self.place_id[x, y]) == goal_place
        if at_goal and a.behaviour[i] == RALLY:
            self.mill(i, x, y, goal_place)
            return False
        return self.walk(i, x, y, t, goal_place)

    def mill(self, i: int, x: int, y: int, place: int) -> None:
        self.a.budget[i] = 0.0
        if self.draw(i, self.max_moves) >= self.mill_threshold:
            return
        d = self.draw(i, self.max_moves + 1) % 8
        qx, qy = x + _DX[d], y + _DY[d]
        if self.can_enter(x, y, qx, qy, d) and int(self.place_id[qx, qy]) == place:
            self.move(i, x, y, qx, qy)
            self.who[qx, qy] = i  # a rally lets those leaving through: say who stands where
            self.heads[qx, qy] = 0

    def density_around(self, x: int, y: int) -> tuple[int, int]:
        """(other people, floor cells) in the window around (x, y), the cell itself left out."""
        r = self.window_r
        people = cells = 0
        for wx in range(max(x - r, 0), min(x + r + 1, self.nx)):
            for wy in range(max(y - r, 0), min(y + r + 1, self.ny)):
                if self.walkable[wx, wy] and (wx, wy) != (x, y):
                    cells += 1
                    if self.occ.taken(wx, wy):
                        people += 1
        return people, cells

    def leave_if_on_exit(self, i: int, x: int, y: int) -> bool:
        if not self.is_exit[x, y]:
            return False
        self.occ.set(x, y, False)
        self.a.x[i] = self.a.y[i] = NOWHERE
        self.a.state[i] = LEFT
        self.a.budget[i] = 0.0
        return True

    def walk(self, i: int, x: int, y: int, t: int, goal_place: int) -> bool:
        a = self.a
        field = self.fields[t]
        people, cells = self.density_around(x, y)
        run = self.flee_factor if a.state[i] == FLEEING else 1.0
        a.budget[i] += a.speed[i] * run * self.speed_table[people, cells] * self.dt
        cur = float(field[x, y])
        # nobody in the window: nobody to keep out of the way of; the heading is the start's, for the step
        h = self.heading(x, y, field, cur) if self.horizon > 0 and people > 0 else -1
        look = h >= 0
        left = False
        moves = 0
        tried_swap = False
        while moves < self.max_moves:
            start = self.draw(i, moves) % 8
            best, best_rate, target_cell, aside, d_best = cur, 0.0, None, None, -1
            for k in range(8):
                d = (start + k) % 8
                qx, qy = x + _DX[d], y + _DY[d]
                if not self.can_enter(x, y, qx, qy, d):
                    continue
                rate = (cur - float(field[qx, qy])) * _PER_METRE[d]  # progress per metre walked
                if rate > best_rate:
                    best, best_rate, target_cell, d_best = float(field[qx, qy]), rate, (qx, qy), d
                elif float(field[qx, qy]) == cur and aside is None:
                    aside = d
            if look:  # looking ahead: out of the way of anyone coming
                d_best, best = self.dodge(i, x, y, d_best, best, start, cur, field, h)
                target_cell = None if d_best < 0 else (x + _DX[d_best], y + _DY[d_best])
                if target_cell is not None and best == cur:  # a step aside, paying its length
                    step_len = self.cell_size * (SQRT2 if d_best % 2 == 1 else 1.0)
                    if a.budget[i] >= step_len:
                        a.budget[i] -= step_len
                        self.move(i, x, y, *target_cell)
                        x, y = target_cell
                        left = self.leave_if_on_exit(i, x, y)
                    break
            if target_cell is None and not tried_swap:
                tried_swap = True  # blocked ahead: swap with someone coming the other way, if anyone is
                side = self.side_partner(i, x, y, h, start) if h >= 0 and \
                    self.draw(i, self.max_moves + 2) < self.swap_threshold else None
                if side is not None:  # packed in: past them sideways, each paying a cell's length
                    j, cell = side
                    a.budget[i] -= self.cell_size
                    a.budget[j] -= self.cell_size
                    a.x[j], a.y[j] = x, y
                    self.who[x, y] = j
                    self.heads[x, y] = 0
                    self.swapped[j] = 1
                    a.x[i], a.y[i] = cell
                    x, y = cell
                    break
                partner = self.swap_partner(i, x, y, t, cur, start)
                if partner is not None:
                    j, cell, best, cost_j = partner
                    self.swap(i, j, x, y, cell, cur, best, cost_j)
                    (x, y), cur = cell, best
                    moves += 1
                    if self.leave_if_on_exit(i, x, y):
                        left = True
                        break
                    continue
            if target_cell is None:
                step_len = self.cell_size * (SQRT2 if aside is not None and aside % 2 == 1 else 1.0)
                if moves == 0 and aside is not None and a.budget[i] >= BUDGET_CAP_CELLS * self.cell_size:
                    a.budget[i] -= step_len
                    self.move(i, x, y, x + _DX[aside], y + _DY[aside])
                    x, y = x + _DX[aside], y + _DY[aside]
                    left = self.leave_if_on_exit(i, x, y)
                break
            if a.budget[i] < cur - best:
                break
            a.budget[i] -= cur - best
            self.move(i, x, y, *target_cell)
            x, y = target_cell
            cur = best
            moves += 1
            if self.leave_if_on_exit(i, x, y):
                left = True
                break
        if not left and moves == 0 and a.behaviour[i] == MARCH and goal_place >= 0 and int(self.place_id[x, y]) == goal_place:
            a.behaviour[i] = RALLY  # arrived and packed in as far as it goes
        if not left and (a.budget[i] >= BUDGET_CAP_CELLS * self.cell_size or look):
            self.who[x, y] = i  # held up, or looking ahead: say who stands here, and heading where
            self.heads[x, y] = h + 1
        a.budget[i] = min(a.budget[i], BUDGET_CAP_CELLS * self.cell_size)
        return left


def step_agents_reference(sequence, key, agents, occ, contacts, terrain, walking) -> int:
    """Plain-Python twin of ``movement.step_agents``: the agents of ``sequence`` take their turns one
    after another; returns how many left the map. The inputs are :class:`ReferenceWalker`'s."""
    contacts.swapped[:] = 0
    walker = ReferenceWalker(key, agents, occ, contacts, terrain, walking)
    return sum(walker.step_agent(int(i)) for i in sequence)
