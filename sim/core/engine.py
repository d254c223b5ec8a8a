"""One object that steps the arrays: the map-side inputs, the walking parameters and an engine choice.

``Core`` is what the Mesa model drives and what the benchmarks time directly. Both engines
get the same random draws, taken here from the model's generator before each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .behaviour import N_DRAWS, N_PARAMS, coarse_counts, decide
from .hazards import GasField
from .movement import rand_columns, step_agents
from .reference import coarse_counts_reference, decide_reference, step_agents_reference
from .state import FREE, WALL, AgentArrays, weidmann_factor_table

ENGINES = ("numba", "python")


@dataclass(frozen=True)
class World:
    """What does not change during a step: the floor, the places, the exits and the fields."""

    walkable: np.ndarray  # uint8 [nx, ny]
    place_id: np.ndarray  # int16 [nx, ny]
    is_exit: np.ndarray  # uint8 [nx, ny]
    fields: np.ndarray  # float32 [k, nx, ny]
    field_place: np.ndarray  # int16 [k]: the place a field leads to, -1 for the exits
    cell_size: float


@dataclass(frozen=True)
class WalkParams:
    dt: float
    max_speed: float  # the fastest free speed any agent can have, m/s
    mill_rate: float = 0.2  # attempted milling moves per second for a rallying person
    flee_factor: float = 2.5  # fleeing people run: 1.34 m/s -> 3.35 m/s (Helbing et al. 2000: 3-4 m/s)
    # side of the square window in which a walker's local density is measured: 3.5 m puts the
    # specific flow through 1-4 m wide doors at 1.2-1.6 persons/(m s), inside the measured
    # 1.2-1.9 (calibration.md); 2.5 m lets narrow doors pass too many (1 m: 2.6 /(m s))
    window_m: float = 3.5

    def window_r(self, cell_size: float) -> int:
        return max(1, int(self.window_m / cell_size) // 2)

    def max_moves(self, cell_size: float) -> int:
        # a move's cost is the field's drop, at least ~0.7 cell on open floor
        return int(math.ceil(self.max_speed * self.flee_factor * self.dt / (0.7 * cell_size))) + 1

    def mill_threshold(self) -> int:
        return int(round(min(1.0, self.mill_rate * self.dt) * 65536))


def draw_step_randoms(rng: np.random.Generator, n: int, max_moves: int) -> tuple[np.ndarray, np.ndarray]:
    """The update order and the uint16 draws of one step, identical for both engines."""
    order = rng.permutation(n).astype(np.int64)
    rand = rng.integers(0, 1 << 16, size=(n, rand_columns(max_moves)), dtype=np.uint16)
    return order, rand


@dataclass
class Decisions:
    """What the decision pass needs beyond the walking world (see ``sim.core.behaviour``)."""

    params: np.ndarray  # float64 [N_PARAMS], indexed by behaviour.P_*
    arrest_p_table: np.ndarray  # float64: Epstein's P for each integer ratio floor(C / (1 + A))
    gas: GasField
    coarse_factor: int  # fine cells per coarse cell side, for the counts
    vision_r: int  # vision radius in coarse cells
    exit_target: int  # field index of the exits
    regroup: bool  # calmed-down protesters go back to their home place (else they go home)
    crush_count: int  # others in the density window above which packed flight injures
    decide_every: int = 1  # decide once every this many steps (params[P_DT] is the decision interval)

    def __post_init__(self) -> None:
        if self.params.shape != (N_PARAMS,):
            raise ValueError("decision params must have one value per behaviour.P_* index")


def arrest_probability_table(k: float, max_ratio: int = 64) -> np.ndarray:
    """Epstein's estimated arrest probability 1 - exp(-k r) for r = floor(C / (1 + A)) = 0, 1, ..."""
    return 1.0 - np.exp(-k * np.arange(max_ratio + 1, dtype=np.float64))


class Core:
    """Steps an :class:`AgentArrays` on a :class:`World` with the numba or the Python engine."""

    def __init__(self, world: World, params: WalkParams, agents: AgentArrays, engine: str = "numba",
                 decisions: Decisions | None = None):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        self.world = world
        self.params = params
        self.agents = agents
        self.engine = engine
        cell = world.cell_size
        self.window_r = params.window_r(cell)
        self.max_moves = params.max_moves(cell)
        self.mill_threshold = params.mill_threshold()
        self.speed_table = weidmann_factor_table((2 * self.window_r + 1) ** 2 - 1, cell)
        self.occ = agents.occupancy(world.walkable)
        self.decisions = decisions
        self.injured_total = 0
        self.arrested_total = 0
        self.steps = 0

    def step(self, rng: np.random.Generator) -> int:
        """Decide (every ``decide_every`` steps), spread the gas, then walk; returns how many left the map."""
        if self.decisions is not None:
            if self.steps % self.decisions.decide_every == 0:
                self.decide_with(rng.random((len(self.agents), N_DRAWS)))
            self.decisions.gas.step(self.params.dt)
        self.steps += 1
        order, rand = draw_step_randoms(rng, len(self.agents), self.max_moves)
        return self.step_with(order, rand)

    def open_cells(self, mask: np.ndarray) -> None:
        """Cells that were walls become floor (a gate gives way)."""
        self.world.walkable[mask] = 1
        self.occ[mask & (self.occ == WALL)] = FREE

    def counts_grid(self) -> np.ndarray:
        """Summed-area tables of police, actives, fleeing, protesters, arresting officers per coarse cell."""
        d, a = self.decisions, self.agents
        nx, ny = self.world.walkable.shape
        cx, cy = -(-nx // d.coarse_factor), -(-ny // d.coarse_factor)
        fn = coarse_counts if self.engine == "numba" else coarse_counts_reference
        return fn(a.x, a.y, a.kind, a.state, a.arresting, d.coarse_factor, cx, cy)

    def decide_with(self, u: np.ndarray) -> None:
        d, a = self.decisions, self.agents
        sat = self.counts_grid()
        common = (d.gas.conc, d.gas.factor, sat, d.coarse_factor, d.vision_r, d.arrest_p_table, d.params,
                  d.exit_target, d.regroup, self.window_r, d.crush_count)
        if self.engine == "numba":
            injured, arrested = decide(u, a.x, a.y, a.kind, a.state, a.behaviour, a.target, a.grievance, a.risk,
                                       a.dose, a.timer, a.cause, a.home, self.occ, *common)
        else:
            injured, arrested = decide_reference(u, a, self.occ, *common)
        self.injured_total += int(injured)
        self.arrested_total += int(arrested)

    def step_with(self, order: np.ndarray, rand: np.ndarray) -> int:
        w, a = self.world, self.agents
        common = (w.walkable, w.place_id, w.is_exit, w.fields, w.field_place, self.speed_table,
                  self.window_r, self.params.dt, w.cell_size, self.mill_threshold, self.max_moves,
                  self.params.flee_factor)
        if self.engine == "numba":
            return int(step_agents(order, rand, a.x, a.y, a.state, a.behaviour, a.target, a.speed,
                                   a.budget, self.occ, *common))
        return step_agents_reference(order, rand, a, self.occ, *common)
