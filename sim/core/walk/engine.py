"""One object that steps the arrays: the terrain, the walking parameters and an engine choice.

``Core`` is what the Mesa model drives and what the benchmarks time directly. Both engines
get the same plan for each step (``movement.StepPlan``: where the strips of the turn order
start, and keys for its shuffle and for the counter-based random numbers), taken here from the
model's generator. The kernels' inputs are named tuples built here once, so each kernel's
argument list is written in one place: ``state.Walkers``/``state.Deciders`` (views of the
agents' arrays), ``movement.Ground`` and ``movement.WalkConstants`` (the map and the walking
numbers), ``behaviour.DecisionParams`` and ``behaviour.DecisionSettings`` (the decision rules).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numba
import numpy as np

from . import bits, cell_table
from .behaviour import (
    CAUSE_BATON, FORCE_ON_ACTIVE, FORCE_ON_PEACEFUL, DecisionParams, DecisionSettings, coarse_counts, decide,
    force_tables,
)
from .behaviour_reference import coarse_counts_reference, decide_reference, force_tables_reference
from .. import ENGINES
from ..counter_rng import new_key
from .hazards import GasField
from .movement import Contacts, Ground, StepPlan, WalkConstants, draws_per_agent, step_agents
from .reference import step_agents_reference
from .state import ACTIVE, ARRESTED, INJURED, AgentArrays, weidmann_factor_table
from .strips import strip_width, turn_sequence



@dataclass(frozen=True)
class Terrain:
    """What does not change during a step: the floor, the places, the exits and the fields."""

    walkable: np.ndarray  # uint8 [nx, ny]
    place_id: np.ndarray  # int16 [nx, ny]
    is_exit: np.ndarray  # uint8 [nx, ny]
    fields: np.ndarray  # float32 [k, nx, ny]: metres to field k's target
    field_place: np.ndarray  # int16 [k]: the place a field leads to, -1 for the exits
    cell_size: float  # m


@dataclass(frozen=True)
class WalkParams:
    """How people walk, in metres and seconds; ``Core`` turns it into cells (``movement.WalkConstants``)."""

    dt: float  # s per step
    max_speed: float  # the fastest free speed any agent can have, m/s
    mill_rate: float = 0.2  # attempted milling moves per second for a rallying person
    flee_factor: float = 2.5  # fleeing people run: 1.34 m/s -> 3.35 m/s (Helbing et al. 2000: 3-4 m/s)
    # side of the square window in which a walker's local density is measured: with the grid's
    # hindrance correction (state.weidmann_factor_table) corridor speeds follow Weidmann within 3 %
    # at 0.5-3.5 per m2 and 1-4 m doors pass 1.5-1.85 persons/(m s), inside the measured 1.2-1.9
    window_m: float = 3.5
    # the chance that two people facing each other, each blocked by the other, swap places in a
    # step: counterflow and crossing streams pass instead of locking (verify: counterflow, crossing)
    swap_chance: float = 0.5
    # how far ahead walkers look for people coming towards them, and keep out of their way
    # (sim.core.walk.anticipation): counterflow forms lanes (verify: counterflow); 0: they do not
    anticipation_m: float = 3.5

    def window_r(self, cell_size: float) -> int:
        """Cells on each side of a walker in its density window."""
        return max(1, int(self.window_m / cell_size) // 2)

    def max_moves(self, cell_size: float) -> int:
        """The most moves the fastest runner can pay for in a step: a move's cost is the field's
        drop, at least ~0.7 cell on open floor."""
        return int(math.ceil(self.max_speed * self.flee_factor * self.dt / (0.7 * cell_size))) + 1

    def horizon(self, cell_size: float) -> int:
        """Cells a walker looks ahead for people coming towards it."""
        return max(0, int(round(self.anticipation_m / cell_size)))

    def swap_threshold(self) -> int:
        """The swap chance out of 65536 (a 16-bit draw)."""
        return int(round(min(1.0, max(0.0, self.swap_chance)) * 65536))

    def mill_threshold(self) -> int:
        """A rallying person's chance to try a milling move in a step, out of 65536 (a 16-bit draw)."""
        return int(round(min(1.0, self.mill_rate * self.dt) * 65536))


@dataclass(frozen=True)
class Decisions:
    """What the decision pass needs beyond the walking terrain (see ``sim.core.walk.behaviour``)."""

    params: DecisionParams  # params.interval_s is dt * decide_every
    arrest_p_table: np.ndarray  # float64: Epstein's P for each integer ratio floor(C / (1 + A))
    gas: GasField
    coarse_factor: int  # fine cells per coarse cell side, for the counts
    vision_r: int  # vision radius in coarse cells
    exit_target: int  # field index of the exits
    regroup: bool  # calmed-down protesters go back to their home place (else they go home)
    crush_count: int  # others in the density window from which packed flight injures
    decide_every: int = 1  # decide once every this many steps
    dynamics: bool = False  # legitimacy from force seen, fatigue, regrouping by the person

    def __post_init__(self) -> None:
        # floats whatever the caller gave (an int rate would compile the kernel anew, for nothing)
        object.__setattr__(self, "params", DecisionParams(*(float(v) for v in self.params)))


def start_numba_set_up() -> None:
    """Start numba's own set-up on another thread.

    The first kernel call of a process costs ~0.5 s of numba setting itself up, even with every
    kernel cached. A caller that first builds its terrain with numpy (which releases the GIL in
    its loops) can overlap the two, though both sides mostly hold the GIL, so the gain is small.
    The thread loads the real kernel of the map's cell table; numba's compiler lock makes later
    calls from other threads wait for it.
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


_NO_FORCE = np.zeros((2, 1, 1))


class Core:
    """Steps an :class:`AgentArrays` on a :class:`Terrain` with the numba or the Python engine.

    ``walking``, ``walkers``, ``ground`` (and with decisions ``deciders``, ``decision_settings``)
    are the kernels' named-tuple inputs, built here once; ``occ`` is the occupancy bit grid and
    ``cells`` the packed cell table, both kept in step with the agents and the floor.
    """

    def __init__(self, terrain: Terrain, params: WalkParams, agents: AgentArrays, engine: str = "numba",
                 decisions: Decisions | None = None):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        self.params = params
        self.agents = agents
        self.engine = engine
        cell = terrain.cell_size
        window_r = params.window_r(cell)
        if window_r > bits.PAD:
            raise ValueError(f"a density window of {2 * window_r + 1} cells is wider than the bit grids allow")
        max_moves = params.max_moves(cell)
        draws_per_agent(max_moves)
        horizon = params.horizon(cell)
        if horizon + 1 > bits.PAD:
            raise ValueError(f"walkers cannot look {params.anticipation_m:g} m ahead on {cell:g} m cells: "
                             f"at most {(bits.PAD - 1) * cell:g} m")
        # a walker reads its density window and, looking ahead, the cell beyond its horizon
        width = strip_width(max_moves, max(window_r, horizon + 1 if horizon else 0))
        self.walking = WalkConstants(
            speed_table=weidmann_factor_table((2 * window_r + 1) ** 2 - 1, cell), window_r=window_r,
            dt=float(params.dt), cell_size=float(cell), mill_threshold=params.mill_threshold(),
            swap_threshold=params.swap_threshold(), horizon=horizon,
            max_moves=max_moves, flee_factor=float(params.flee_factor), strip_width=width,
            strips=terrain.walkable.shape[0] // width + 2)
        self.walkers = agents.walkers()
        self.occ = agents.occupancy(terrain.walkable)  # bit grid: who stands where
        self.contacts = Contacts(agents.who(terrain.walkable.shape), np.zeros(terrain.walkable.shape, dtype=np.uint8),
                                 np.zeros(len(agents.x), dtype=np.uint8))
        self.cells = cell_table.build(terrain.walkable, terrain.place_id, terrain.is_exit, window_r)
        self.terrain = terrain
        self.decisions = decisions
        if decisions is not None:
            self.deciders = agents.deciders()
            self.decision_settings = DecisionSettings(
                arrest_p_table=decisions.arrest_p_table, coarse_factor=int(decisions.coarse_factor),
                vision_r=int(decisions.vision_r), gas_factor=int(decisions.gas.factor),
                exit_target=int(decisions.exit_target), regroup=bool(decisions.regroup), window_r=window_r,
                crush_count=int(decisions.crush_count), dynamics=bool(decisions.dynamics))
            nx, ny = terrain.walkable.shape
            f = int(decisions.coarse_factor)
            # people hit by force since the last pass, per count cell, by what they were doing
            # (``behaviour.FORCE_ON_*``): the police's means add to it (:meth:`saw_force`), and so do the
            # pass's own arrests and baton blows
            self.force = np.zeros((2, -(-nx // f), -(-ny // f)), dtype=np.float64)
            self._force_seen = False  # anything booked in ``force`` since the last pass
        self.injured_total = 0
        self.arrested_total = 0
        self.steps = 0

    @property
    def terrain(self) -> Terrain:
        return self._terrain

    @terrain.setter
    def terrain(self, terrain: Terrain) -> None:
        """A new terrain of the same floor, e.g. its fields copied out of a memory map mid-run (the
        model does that on another thread: each step walks on the one or the other, whole)."""
        self._terrain = terrain
        self.ground = Ground(self.cells, terrain.fields, terrain.field_place)

    @property
    def world(self) -> Terrain:
        """The terrain under its other name (tests/test_bishkek_splinter.py reads ``core.world``)."""
        return self._terrain

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
        offset, first_phase = int(rng.integers(self.walking.strip_width)), int(rng.integers(2))
        order_key = new_key(rng)
        return StepPlan(offset, first_phase, order_key, new_key(rng))

    def turn_sequence(self, plan: StepPlan) -> np.ndarray:
        """The agents in the order they take their turns this step, as one sequential pass."""
        w = self.walking
        return turn_sequence(self.agents.x, w.strip_width, plan.offset, w.strips, plan.first_phase, plan.order_key)

    def open_cells(self, mask: np.ndarray) -> None:
        """Cells that were walls become floor (a gate gives way)."""
        t = self.terrain
        t.walkable[mask] = 1
        if mask.any():  # once a run at most: the whole table anew (40-70 ms for the Bishkek map)
            self.cells = cell_table.build(t.walkable, t.place_id, t.is_exit, self.walking.window_r)
            self.ground = self.ground._replace(cells=self.cells)

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

    def saw_force(self, xs: np.ndarray, ys: np.ndarray, was_active: np.ndarray) -> None:
        """People at cells (xs, ys) were hit by force (gas, a jet, a grenade): those in sight see it next pass."""
        if self.decisions is None or not self.decisions.dynamics or xs.size == 0:
            return
        f = self.decisions.coarse_factor
        layer = np.where(was_active, FORCE_ON_ACTIVE, FORCE_ON_PEACEFUL)
        np.add.at(self.force, (layer, xs // f, ys // f), 1.0)
        self._force_seen = True

    def decide_with(self, key: int) -> None:
        """One decision pass; ``key`` seeds its counter-based draws."""
        fn = decide if self.engine == "numba" else decide_reference
        a, dynamics = self.agents, self.decisions.dynamics
        force = _NO_FORCE  # nothing seen: every window of it sums to 0, as a grid of zeros would
        if dynamics:
            before = (a.state.copy(), a.x.copy(), a.y.copy())
            if self._force_seen:
                force = (force_tables if self.engine == "numba" else force_tables_reference)(self.force)
                self.force[:] = 0.0
                self._force_seen = False
        # the gas grid is read here, each pass: the gas swaps its buffers as it spreads
        injured, arrested = fn(key, self.deciders, self.occ, self.counts_grid(), self.decisions.gas.conc, force,
                               self.decisions.params, self.decision_settings)
        self.injured_total += int(injured)
        self.arrested_total += int(arrested)
        if dynamics and (injured or arrested):
            state, xs, ys = before
            hit = np.flatnonzero((a.state != state) & ((a.state == ARRESTED) | ((a.state == INJURED)
                                                                                 & (a.cause == CAUSE_BATON))))
            self.saw_force(xs[hit], ys[hit], state[hit] == ACTIVE)

    def step_with(self, plan: StepPlan) -> int:
        """Walk one step by ``plan``; returns how many left the map."""
        if self.engine == "numba":
            return int(step_agents(plan, numba.get_num_threads(), self.walkers, self.occ, self.contacts, self.ground,
                                   self.walking))
        return step_agents_reference(self.turn_sequence(plan), plan.key, self.walkers, self.occ, self.contacts,
                                     self.terrain, self.walking)
