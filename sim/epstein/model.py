"""EpsteinModel: a Mesa model of Epstein's civil violence over the numba core (or its reference).

The arrays live in ``self.world`` (``sim.core.epstein.world.World``); ``Citizen`` and ``Cop``
agents are views over one row of them, so ``model.agents_by_type``, ``AgentSet.groupby`` and
Mesa's DataCollector work while no Python runs per agent per step. Mesa's ``run_for`` and
``run_until`` run their steps in one call of the engine, with no Python per step either (see
``_run_batched``; what that needs of Mesa's internals is in ``sim.epstein.mesa_clock``).
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from ..core import ENGINES
from ..core.activation import RATIO_ROUNDING
from ..core.counter_rng import new_key_rows, new_keys
from ..core.epstein.engine import Kernels
from ..core.epstein.reference import Reference
from ..core.epstein.world import CITIZEN_STATE_NAMES, COP, JAIL_MODES, NEIGHBOURHOODS, Rules, World, populate
from . import mesa_clock
from .scenario import EpsteinScenario

CORES = dict(zip(ENGINES, (Kernels, Reference)))  # engine name -> the class that steps the grid
# the DataCollector's columns: the model attribute each reads
REPORTERS = {"step": "steps_done", "legitimacy": "legitimacy", **{name: name for name in CITIZEN_STATE_NAMES}}


class EpsteinAgent(mesa.Agent):
    """An agent whose attributes live in ``model.world`` at row ``index``."""

    def __init__(self, model: "EpsteinModel", index: int) -> None:
        self.index = index
        super().__init__(model)

    @property
    def pos(self) -> tuple[int, int] | None:
        """The (x, y) cell; None while in jail if jailed agents leave the grid."""
        w = self.model.world
        x, y = int(w.x[self.index]), int(w.y[self.index])
        return (x, y) if w.occ[x, y] == self.index else None

    @pos.setter
    def pos(self, value) -> None:
        if value is not None:  # Mesa's Agent.__init__ sets None; positions change only in steps
            raise AttributeError("positions change only through the model's step")

    def step(self) -> None:
        """Nothing: the model steps all agents at once through the core."""


class Citizen(EpsteinAgent):
    @property
    def state(self) -> str:
        """quiet, active or jailed."""
        return CITIZEN_STATE_NAMES[self.model.world.state[self.index]]

    @property
    def jail_term(self) -> int:
        return int(self.model.world.jail[self.index])

    @property
    def hardship(self) -> float:
        return float(self.model.world.hardship[self.index])

    @property
    def risk_aversion(self) -> float:
        return float(self.model.world.risk[self.index])

    @property
    def grievance(self) -> float:
        return self.hardship * (1.0 - self.model.legitimacy)


class Cop(EpsteinAgent):
    """A cop for life."""


class EpsteinModel(mesa.Model):
    """Epstein's model 1 on a torus, as the scenario says; ``engine`` is "numba" or "python".

    ``steps`` overrides the scenario's number of steps; ``agent_views=False`` skips creating a
    Mesa agent per array row (set-up of a million agents takes seconds; the step does not need them).
    """

    def __init__(self, scenario: EpsteinScenario, *, engine: str = "numba", seed: int | None = None,
                 steps: int | None = None, agent_views: bool = True) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
        self.spec = scenario  # Mesa 3.5 reserves Model.scenario for its own concept
        self.seed = int(scenario.seed if seed is None else seed)
        super().__init__(rng=self.seed)
        self.engine = engine
        self.total_steps = int(scenario.steps if steps is None else steps)
        g, a, r = scenario.grid, scenario.agents, scenario.rules
        self.rules = Rules(width=g.width, height=g.height, citizen_vision=a.citizen_vision, cop_vision=a.cop_vision,
                           neighbourhood=NEIGHBOURHOODS[r.neighbourhood], rounding=RATIO_ROUNDING[r.arrest_ratio],
                           jail_mode=JAIL_MODES[r.jailed], k=r.k, threshold=r.threshold,
                           max_jail_term=r.max_jail_term, movement=r.movement)
        self._world = populate(g.width, g.height, a.citizen_density, a.cop_density, self.rng)
        self.core = CORES[engine](self.rules, self._world)
        if agent_views:
            for i, kind in enumerate(self.world.kind.tolist()):
                (Cop if kind == COP else Citizen)(self, i)
        self.cops = int(np.count_nonzero(self.world.kind == COP))
        self.citizens = len(self.world) - self.cops
        self.steps_done = 0
        self.legitimacy = scenario.legitimacy_at(0)
        self.datacollector = mesa.DataCollector(model_reporters=dict(REPORTERS))
        self._collect()
        self.running = True

    @property
    def world(self) -> World:
        """The agents' arrays, up to date (the numba engine writes positions and states on demand)."""
        self.core.sync(self._world)
        return self._world

    def counts(self) -> np.ndarray:
        """Citizens quiet, active and jailed now (cops are always ``CitizenState.QUIET``)."""
        return np.array(self.core.state_counts(self._world))

    def _collect(self) -> None:
        self.quiet, self.active, self.jailed = (int(c) for c in self.counts())
        self.datacollector.collect(self)

    def step(self) -> None:
        self.steps_done += 1
        self.legitimacy = self.spec.legitimacy_at(self.steps_done)
        self.core.step(self._world, self.legitimacy, new_keys(self.rng, 3))
        self._collect()
        if self.steps_done >= self.total_steps:
            self.running = False

    def run_for(self, duration: float) -> None:
        """Mesa's ``run_for``: the steps due in ``duration`` run in one call of the engine (see
        :meth:`_run_batched`)."""
        if not self._run_batched(self.time + duration):
            super().run_for(duration)

    def run_until(self, end_time: float) -> None:
        """Mesa's ``run_until``, batched as :meth:`run_for`."""
        if not self._run_batched(end_time):
            super().run_until(end_time)

    def _run_batched(self, until: float) -> bool:
        """Run the steps due by time ``until`` in one call of the engine and leave the model, its
        DataCollector and Mesa's clock as Mesa's event loop stepping them one by one would
        (``sim.epstein.mesa_clock``; tests/test_epstein_scenario.py checks it). Only when the
        model's own steps, once per time unit, are all that is scheduled, and the DataCollector
        collects the model's own columns and nothing else (only the counts are known after a
        batch); otherwise returns False and Mesa steps them.

        Why: at 40x40 the Python around a step (Mesa's event loop, drawing keys, the
        DataCollector) costs more than the step."""
        if not mesa_clock.collects_exactly(self.datacollector, REPORTERS):
            return False
        times = mesa_clock.due_step_times(self, until)
        if not times:
            return False
        self._step_many(times)
        mesa_clock.finish_steps(self, times, until)
        return True

    def _step_many(self, times: list[float]) -> None:
        """The steps of :meth:`step` due at Mesa's ``times``, in one call of the engine, and their
        DataCollector rows."""
        steps = len(times)
        first = self.steps_done + 1
        legitimacy = np.array([self.spec.legitimacy_at(s) for s in range(first, first + steps)])
        tally = self.core.run(self._world, legitimacy, new_key_rows(self.rng, steps, 3))
        self.steps_done += steps
        self.legitimacy = float(legitimacy[-1])
        self.quiet, self.active, self.jailed = (int(c) for c in tally[-1])
        columns = {"step": list(range(first, first + steps)), "legitimacy": legitimacy.tolist(),
                   **{name: tally[:, k].tolist() for k, name in enumerate(CITIZEN_STATE_NAMES)}}
        mesa_clock.append_rows(self.datacollector, columns, times)
        if self.steps_done >= self.total_steps:
            self.running = False

    def timeseries(self) -> pd.DataFrame:
        """One row per step (0 = the start): step, time_s (= step), clock, quiet, active, jailed, legitimacy."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df["step"] = df["step"].astype(np.int64)
        df.insert(1, "time_s", df["step"].astype(float))
        df.insert(2, "clock", "step " + df["step"].astype(str))
        return df[["step", "time_s", "clock", "quiet", "active", "jailed", "legitimacy"]]
