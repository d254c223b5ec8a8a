"""One object that steps the arrays: the terrain, the walking parameters and an engine choice.

``Core`` is what the Mesa model drives and what the benchmarks time directly. Both engines
get the same plan for each step (:class:`StepPlan`: where the strips of the turn order start,
and keys for its shuffle and for the counter-based random numbers), taken here from the
model's generator.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numba
import numpy as np

from . import bits, cell_table
from .behaviour import N_PARAMS, coarse_counts, decide
from .behaviour_reference import coarse_counts_reference, decide_reference
from ..counter_rng import new_key
from .hazards import GasField
from .movement import draws_per_agent, step_agents
from .reference import step_agents_reference
from .state import AgentArrays, weidmann_factor_table
from .strips import strip_width, turn_sequence

ENGINES = ("numba", "python")


@dataclass(frozen=True)
class Terrain:
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


@dataclass(frozen=True)
class StepPlan:
    """What both engines need to walk one step identically: where the strips start (``offset``),
    which parity of strips goes first, the key that shuffles each strip's turns and the key of
    the step's counter-based draws. The turn order itself is derived from the agents' columns
    at the start of the step (``sim.core.walk.strips``)."""

    offset: int
    first_phase: int
    order_key: int
    key: int


@dataclass
class Decisions:
    """What the decision pass needs beyond the walking terrain (see ``sim.core.behaviour``)."""

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


def start_numba_set_up() -> None:
    """Start numba's own set-up on another thread.

    The first kernel call of a process costs ~0.5 s of numba setting itself up, even with every
    kernel cached. A caller that first builds its terrain with numpy (which releases the GIL in its
    loops) can overlap the two, but both sides mostly hold the GIL: this saved 0.1-0.3 s when the
    model build did more numpy work, and since the map's tables come from fast kernels the gain is
    within the noise (build and first step of the 5 October scenario: 0.44-0.65 s with the thread,
    0.44-0.77 s without). The thread loads the real kernel of the map's cell table; numba's
    compiler lock makes later calls from other threads wait for it.
    """
    def load() -> None:
        try:
            cell_table.build(np.ones((1, 1), np.uint8), np.zeros((1, 1), np.int16), np.zeros((1, 1), np.uint8), 1)
        except Exception:  # noqa: BLE001 - the caller's own first kernel call reports it properly
            pass

    threading.Thread(target=load, name="numba-set-up", daemon=True).start()


def arrest_probability_table(k: float, max_ratio: int = 64) -> np.ndarray:
    """Epstein's estimated arrest probability 1 - exp(-k r) for r = floor(C / (1 + A)) = 0, 1, ..."""
    return 1.0 - np.exp(-k * np.arange(max_ratio + 1, dtype=np.float64))


class Core:
    """Steps an :class:`AgentArrays` on a :class:`Terrain` with the numba or the Python engine."""

    def __init__(self, terrain: Terrain, params: WalkParams, agents: AgentArrays, engine: str = "numba",
                 decisions: Decisions | None = None):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        self.terrain = terrain
        self.params = params
        self.agents = agents
        self.engine = engine
        cell = terrain.cell_size
        self.window_r = params.window_r(cell)
        self.max_moves = params.max_moves(cell)
        self.mill_threshold = params.mill_threshold()
        if self.window_r > bits.PAD:
            raise ValueError(f"a density window of {2 * self.window_r + 1} cells is wider than the bit grids allow")
        draws_per_agent(self.max_moves)
        self.speed_table = weidmann_factor_table((2 * self.window_r + 1) ** 2 - 1, cell)
        self.strip_width = strip_width(self.max_moves, self.window_r)
        self.strips = terrain.walkable.shape[0] // self.strip_width + 2
        self.occ = agents.occupancy(terrain.walkable)  # bit grid: who stands where
        self.cells = cell_table.build(terrain.walkable, terrain.place_id, terrain.is_exit, self.window_r)
        self.decisions = decisions
        self.injured_total = 0
        self.arrested_total = 0
        self.steps = 0

    @property
    def world(self) -> Terrain:
        """The terrain under its other name (tests/test_bishkek_splinter.py reads ``core.world``)."""
        return self.terrain

    def step(self, rng: np.random.Generator) -> int:
        """Decide (every ``decide_every`` steps), spread the gas, then walk; returns how many left the map."""
        if self.decisions is not None:
            if self.steps % self.decisions.decide_every == 0:
                self.decide_with(new_key(rng))
            self.decisions.gas.step(self.params.dt)
        self.steps += 1
        return self.step_with(self.plan_step(rng))

    def plan_step(self, rng: np.random.Generator) -> StepPlan:
        """Strips at a random offset, a random parity first, keys for the turn order and the draws."""
        # two scalar draws: the same numbers as one draw with the bounds (strip_width, 2), in half the time
        offset, first_phase = int(rng.integers(self.strip_width)), int(rng.integers(2))
        order_key = new_key(rng)
        return StepPlan(offset, first_phase, order_key, new_key(rng))

    def turn_sequence(self, plan: StepPlan) -> np.ndarray:
        """The agents in the order they take their turns this step, as one sequential pass."""
        return turn_sequence(self.agents.x, self.strip_width, plan.offset, self.strips, plan.first_phase,
                             plan.order_key)

    def open_cells(self, mask: np.ndarray) -> None:
        """Cells that were walls become floor (a gate gives way)."""
        w = self.terrain
        w.walkable[mask] = 1
        if mask.any():  # once a run at most: the whole table anew (40-70 ms for the Bishkek map)
            self.cells = cell_table.build(w.walkable, w.place_id, w.is_exit, self.window_r)

    def occupied(self) -> np.ndarray:
        """Bool grid of the cells someone stands on (a copy, for checks and pictures)."""
        return bits.unpack(self.occ, self.terrain.walkable.shape)

    def counts_grid(self) -> np.ndarray:
        """Summed-area tables of police, actives, fleeing, protesters, arresting officers per coarse cell."""
        d, a = self.decisions, self.agents
        nx, ny = self.terrain.walkable.shape
        cx, cy = -(-nx // d.coarse_factor), -(-ny // d.coarse_factor)
        fn = coarse_counts if self.engine == "numba" else coarse_counts_reference
        return fn(a.x, a.y, a.kind, a.state, a.arresting, d.coarse_factor, cx, cy)

    def decide_with(self, key: int) -> None:
        """One decision pass; ``key`` seeds its counter-based draws."""
        d, a = self.decisions, self.agents
        sat = self.counts_grid()
        common = (d.gas.conc, d.gas.factor, sat, d.coarse_factor, d.vision_r, d.arrest_p_table, d.params,
                  d.exit_target, d.regroup, self.window_r, d.crush_count)
        if self.engine == "numba":
            injured, arrested = decide(key, a.x, a.y, a.kind, a.state, a.behaviour, a.target, a.grievance, a.risk,
                                       a.dose, a.timer, a.cause, a.home, self.occ, *common)
        else:
            injured, arrested = decide_reference(key, a, self.occ, *common)
        self.injured_total += int(injured)
        self.arrested_total += int(arrested)

    def step_with(self, plan: StepPlan) -> int:
        """Walk one step by ``plan``; returns how many left the map."""
        w, a = self.terrain, self.agents
        common = (w.field_place, self.speed_table, self.window_r, self.params.dt, w.cell_size, self.mill_threshold,
                  self.max_moves, self.params.flee_factor)
        if self.engine == "numba":
            return int(step_agents(self.strip_width, plan.offset, self.strips, plan.first_phase, plan.order_key,
                                   numba.get_num_threads(), plan.key, a.x, a.y, a.state, a.behaviour, a.target,
                                   a.speed, a.budget, self.occ, self.cells, w.fields, *common))
        return step_agents_reference(self.turn_sequence(plan), plan.key, a, self.occ, w.walkable, w.place_id,
                                     w.is_exit, w.fields, *common)
