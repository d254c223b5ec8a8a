"""The Epstein step of ``sim.core.epstein.engine`` in plain Python, one agent at a time.

Slow on purpose: counts come from scanning each agent's window, not from summed-area tables,
and every rule is written out where it applies, so it can be read against the paper and
proves the fast engine right (same keys, same result, bit for bit).
"""

from __future__ import annotations

import numpy as np

from ..activation import is_active_py
from ..counter_rng import draw64_py
from .draws import MOVE_TRIES
from .world import CITIZEN, COP, EMPTY, KEEP_CELL, LEAVE_GRID, CitizenState, Rules, World, move_bands


def pick_py(key: int, i: int, k: int, m: int) -> int:
    """Plain-Python twin of :func:`sim.core.epstein.draws.pick`: a uniform integer in [0, m)."""
    return ((draw64_py(key, i, k) >> 32) * m) >> 32


def try_pick_py(key: int, i: int, t: int, m: int) -> int:
    """Plain-Python twin of :func:`sim.core.epstein.draws.try_pick` for movement try ``t`` (two per draw)."""
    half = (draw64_py(key, i, t // 2) >> (32 * (t % 2))) & 0xFFFFFFFF
    return (half * m) >> 32


class Reference:
    """The reference engine: same interface as :class:`sim.core.epstein.engine.Kernels`."""

    def __init__(self, rules: Rules, world: World) -> None:
        self.rules = rules
        self.citizen_window = list(zip(*(a.tolist() for a in rules.offsets(rules.citizen_vision))))
        self.cop_window = list(zip(*(a.tolist() for a in rules.offsets(rules.cop_vision))))
        self.p_table = rules.arrest_table().tolist()
        bands, self.colours = move_bands(rules.width, max(rules.citizen_vision, rules.cop_vision))
        self.bands = bands.tolist()

    def sync(self, world: World) -> None:
        """Nothing: this engine keeps the world up to date at every step."""

    def state_counts(self, world: World) -> tuple[int, int, int]:
        """Citizens quiet, active and jailed."""
        citizen = world.kind == CITIZEN
        return tuple(int(np.count_nonzero(citizen & (world.state == s))) for s in CitizenState)

    def run(self, world: World, legitimacies, keys) -> np.ndarray:
        """Steps under ``legitimacies[s]`` and ``keys[s]``; the counts after each, as ``Kernels.run``."""
        tally = []
        for legitimacy, step_keys in zip(legitimacies, keys):
            self.step(world, float(legitimacy), tuple(int(k) for k in step_keys))
            tally.append(self.state_counts(world))
        return np.array(tally, dtype=np.int64).reshape(len(tally), 3)

    def cells(self, x: int, y: int, window) -> list[tuple[int, int]]:
        w, h = self.rules.width, self.rules.height
        return [((x + dx) % w, (y + dy) % h) for dx, dy in window]

    def random_empty(self, world: World, x: int, y: int, window, key: int, i: int):
        """A uniformly random empty cell of the window: random tries, then pick among the empty ones."""
        cells = self.cells(x, y, window)
        for t in range(MOVE_TRIES):
            c = cells[try_pick_py(key, i, t, len(cells))]
            if world.occ[c] == EMPTY:
                return c
        free = [c for c in cells if world.occ[c] == EMPTY]
        if not free:
            return None
        return free[pick_py(key, i, MOVE_TRIES // 2, len(free))]

    def step(self, world: World, legitimacy: float, keys: tuple[int, int, int]) -> None:
        r = self.rules
        # 1. jail terms count down; released citizens come back
        for i in range(len(world)):
            if world.state[i] != CitizenState.JAILED:
                continue
            if world.jail[i] > 0:
                world.jail[i] -= 1
            elif r.jail_mode == KEEP_CELL:
                world.state[i] = CitizenState.QUIET
            else:
                cell = (int(world.x[i]), int(world.y[i]))
                if world.occ[cell] != EMPTY:
                    cell = self.random_empty(world, cell[0], cell[1], self.citizen_window, keys[0], i)
                if cell is not None:
                    world.x[i], world.y[i] = cell
                    world.occ[cell] = i
                    world.state[i] = CitizenState.QUIET

        # 2. decisions, all from the states at the start of the phase
        before = world.state.copy()
        for i in range(len(world)):
            if world.kind[i] != CITIZEN or before[i] == CitizenState.JAILED:
                continue
            cops, actives = 0, 1  # the citizen counts itself among the actives
            for c in self.cells(int(world.x[i]), int(world.y[i]), self.citizen_window):
                a = world.occ[c]
                if a == EMPTY:
                    continue
                if world.kind[a] == COP:
                    cops += 1
                elif before[a] == CitizenState.ACTIVE:
                    actives += 1
            grievance = float(world.hardship[i]) * (1.0 - legitimacy)
            rebel = is_active_py(grievance, float(world.risk[i]), cops, actives, self.p_table, r.threshold, r.rounding)
            world.state[i] = CitizenState.ACTIVE if rebel else CitizenState.QUIET

        # 3. arrests: each cop picks a random active in its vision; one arrest per active
        arrested = set()
        for i in range(len(world)):
            if world.kind[i] != COP:
                continue
            actives = [a for a in (world.occ[c] for c in self.cells(int(world.x[i]), int(world.y[i]), self.cop_window))
                       if a != EMPTY and world.kind[a] == CITIZEN and world.state[a] == CitizenState.ACTIVE]
            if actives:
                arrested.add(int(actives[pick_py(keys[1], i, 0, len(actives))]))
        for a in sorted(arrested):
            world.state[a] = CitizenState.JAILED
            world.jail[a] = pick_py(keys[1], a, 1, r.max_jail_term + 1)
            if r.jail_mode == LEAVE_GRID:
                world.occ[world.x[a], world.y[a]] = EMPTY

        # 4. movement: bands of columns, colour class by colour class, each band in cell order
        if not r.movement:
            return
        nb, k = len(self.bands) - 1, self.colours
        order = [b for colour in range(k) for b in range(colour, nb, k)]
        moved = set()
        for b in order:
            lo, hi = self.bands[b], self.bands[b + 1]
            for cx in range(lo, hi):
                for cy in range(r.height):
                    a = int(world.occ[cx, cy])
                    if a == EMPTY or a in moved or world.state[a] == CitizenState.JAILED:
                        continue
                    window = self.cop_window if world.kind[a] == COP else self.citizen_window
                    cell = self.random_empty(world, cx, cy, window, keys[2], a)
                    if cell is not None:
                        moved.add(a)
                        world.occ[cx, cy] = EMPTY
                        world.occ[cell] = a
                        world.x[a], world.y[a] = cell

