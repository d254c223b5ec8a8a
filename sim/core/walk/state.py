"""All per-agent state as a struct of numpy arrays: what the kernels read and write each step.

Mesa agents (``sim.protest.agents``) are views over one row of these arrays; nothing here knows
Mesa. The kernels take the arrays they use as one named tuple (:class:`Walkers`,
:class:`Deciders`): views of the same arrays, so their writes are the agents' own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from . import bits

# kinds
PROTESTER = 0
POLICE = 1

# states: what happened to a person (counted in every time-series row)
QUIET = 0
ACTIVE = 1
FLEEING = 2
INJURED = 3
ARRESTED = 4
LEFT = 5
STATE_NAMES = ("quiet", "active", "fleeing", "injured", "arrested", "left")

# behaviours: what a person is trying to do
RALLY = 0  # walk to the target place, then mill around inside it
MARCH = 1  # walk to the target place, then rally there
LEAVE = 2  # walk to the nearest exit and leave the map
HOLD = 3  # walk to the target place, then stand still (police posture "hold")
BEHAVIOUR_NAMES = ("rally", "march", "leave", "hold")

NOWHERE = -1  # position of agents no longer on the map

# what an officer may arrest (``AgentArrays.arresting``): targeted units take actives only
ARREST_NONE = 0
ARREST_ACTIVE = 1
ARREST_ALL = 2


class Walkers(NamedTuple):
    """The agents' arrays a walking step reads and writes (``sim.core.walk.movement``)."""

    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    state: np.ndarray
    behaviour: np.ndarray
    target: np.ndarray
    speed: np.ndarray
    budget: np.ndarray


class Deciders(NamedTuple):
    """The agents' arrays a decision pass reads and writes (``sim.core.walk.behaviour``)."""

    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    state: np.ndarray
    behaviour: np.ndarray
    target: np.ndarray
    grievance: np.ndarray
    risk: np.ndarray
    dose: np.ndarray
    timer: np.ndarray
    cause: np.ndarray
    home: np.ndarray
    hardship: np.ndarray
    legitimacy: np.ndarray
    legitimacy_base: np.ndarray
    energy: np.ndarray


@dataclass(frozen=True)
class AgentArrays:
    """One row per agent. Positions are cell indices; ``target`` indexes the field stack.

    Frozen: the arrays are written in place, never replaced, so the views the kernels are handed
    (:meth:`walkers`, :meth:`deciders`) stay the agents' own for the whole run.
    """

    x: np.ndarray  # int32
    y: np.ndarray  # int32
    kind: np.ndarray  # uint8
    state: np.ndarray  # uint8
    behaviour: np.ndarray  # uint8
    target: np.ndarray  # int16, index into the field stack
    speed: np.ndarray  # float64, free walking speed m/s
    budget: np.ndarray  # float64, metres of walking earned but not yet spent
    group: np.ndarray  # int16, crowd or unit index
    home: np.ndarray  # int16, field index of the place a calmed-down protester regroups at
    grievance: np.ndarray  # float64, Epstein's G = H (1 - L)
    risk: np.ndarray  # float64, Epstein's risk aversion R
    dose: np.ndarray  # float64, accumulated tear-gas exposure (concentration x seconds)
    timer: np.ndarray  # float64, seconds of flight left
    cause: np.ndarray  # uint8, injury cause (sim.core.walk.behaviour.CAUSE_*)
    arresting: np.ndarray  # uint8, officers allowed to arrest: ARREST_ACTIVE (actives only), ARREST_ALL (and the fleeing)
    hardship: np.ndarray  # float64, Epstein's H, U(0, 1)
    legitimacy: np.ndarray  # float64, the legitimacy L this person sees in the police now (0-1)
    legitimacy_base: np.ndarray  # float64, the L it recovers toward when it sees no force
    energy: np.ndarray  # float64, 1 rested, 0 exhausted: being active costs it

    @classmethod
    def empty(cls, n: int) -> "AgentArrays":
        return cls(
            x=np.full(n, NOWHERE, dtype=np.int32),
            y=np.full(n, NOWHERE, dtype=np.int32),
            kind=np.zeros(n, dtype=np.uint8),
            state=np.zeros(n, dtype=np.uint8),
            behaviour=np.zeros(n, dtype=np.uint8),
            target=np.zeros(n, dtype=np.int16),
            speed=np.zeros(n, dtype=np.float64),
            budget=np.zeros(n, dtype=np.float64),
            group=np.zeros(n, dtype=np.int16),
            home=np.zeros(n, dtype=np.int16),
            grievance=np.zeros(n, dtype=np.float64),
            risk=np.zeros(n, dtype=np.float64),
            dose=np.zeros(n, dtype=np.float64),
            timer=np.zeros(n, dtype=np.float64),
            cause=np.zeros(n, dtype=np.uint8),
            arresting=np.zeros(n, dtype=np.uint8),
            hardship=np.zeros(n, dtype=np.float64),
            legitimacy=np.zeros(n, dtype=np.float64),
            legitimacy_base=np.zeros(n, dtype=np.float64),
            energy=np.ones(n, dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def copy(self) -> "AgentArrays":
        return AgentArrays(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def equals(self, other: "AgentArrays") -> bool:
        return all(np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def walkers(self) -> Walkers:
        return Walkers(*(getattr(self, name) for name in Walkers._fields))

    def deciders(self) -> Deciders:
        return Deciders(*(getattr(self, name) for name in Deciders._fields))

    def on_map(self) -> np.ndarray:
        return self.x != NOWHERE

    def who(self, shape: tuple[int, int]) -> np.ndarray:
        """int32 grid of the agent standing on each cell, -1 where nobody does."""
        grid = np.full(shape, -1, dtype=np.int32)
        on = self.on_map()
        grid[self.x[on], self.y[on]] = np.flatnonzero(on)
        return grid

    def occupancy(self, walkable: np.ndarray) -> np.ndarray:
        """The bit grid (``sim.core.walk.bits``) of the cells agents stand on."""
        taken = np.zeros(walkable.shape, dtype=bool)
        on = self.on_map()
        taken[self.x[on], self.y[on]] = True
        return bits.pack(taken)


# The grid's own hindrance. On a grid with one person a cell, people already slow each other down
# by taking the cells ahead; Weidmann's curve is the total slowdown real crowds show. So the speed
# law applies Weidmann's factor times this correction, by the share of the window's floor cells
# taken (density x cell area), measured so that walkers in long 4 m and 10 m corridors walk at
# Weidmann's speed at 0.5-3.5 per m2 (without it they are 4-6 % too slow, 13 % at 3.5 per m2).
# ``protest-sim verify`` checks the result (fundamental_diagram, fd_wide_corridor); fitted on 0.5 m
# cells and 0.5 s steps, the scenarios' defaults: other cell sizes use the same correction by
# share, unverified.
HINDRANCE_SHARE = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
HINDRANCE_CORRECTION = (1.06, 1.06, 1.08, 1.07, 1.03, 1.04, 1.06, 1.22, 1.22)


def weidmann_factor(rho: np.ndarray) -> np.ndarray:
    """Weidmann (1993): v(rho)/v0 = 1 - exp(-1.913 (1/rho - 1/5.4)), rho in persons per m^2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - np.exp(-1.913 * (1.0 / rho - 1.0 / 5.4))


def weidmann_factor_table(window_cells: int, cell_size: float) -> np.ndarray:
    """Speed factor for ``count`` others on ``area`` floor cells: Weidmann's v(rho)/v0 times the
    grid's hindrance correction (above), at most 1.

    ``table[count, area]``: density is people per m^2 over the walkable cells of the window
    around the walker (itself left out). A table rather than ``exp`` inside the kernels keeps both
    engines bit-identical.
    """
    counts = np.arange(window_cells + 1, dtype=np.float64)[:, None]
    cells = np.arange(window_cells + 1, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts / cells
        factor = weidmann_factor(share / (cell_size * cell_size))
    factor = factor * np.interp(np.nan_to_num(share, posinf=1.0), HINDRANCE_SHARE, HINDRANCE_CORRECTION)
    factor = np.where(counts == 0, 1.0, factor)
    factor = np.where(cells == 0, 1.0, factor)
    # never quite zero: a packed crowd still creeps (and a jam dissolves from its front)
    return np.clip(factor, 0.05, 1.0)
