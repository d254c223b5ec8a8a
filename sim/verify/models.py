"""The walking models the suite measures: the grid model and the continuous one (the Collision-Free Speed Model).

A walking model is named once here with how a scenario is switched to it (key paths set with
``Scenario.with_values``) and how the positions of its walkers are read in metres. Every case runs
for every model in :data:`WALKING_MODELS`, through the public model API only (``ProtestModel``,
``model.step()``, ``model.arrays``), so the suite measures whatever the model does.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import suggest
from ..core.walk.state import LEFT
from ..errors import ScenarioError
from ..protest.recording import Frames
from ..traj.file import KINDS

_FRAMES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # model -> its Frames


def grid_positions(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and positions (m, cell centres) of the walkers on the map of a grid model: the
    protesters of the frames a run's ``trajectories.parquet`` is written from
    (``sim.protest.recording.Frames``), so the suite measures what users analyse."""
    frames = _FRAMES.get(model)
    if frames is None:
        frames = _FRAMES[model] = Frames(model)
    ids, kind, x, y, _, _ = frames.take()
    walkers = kind == KINDS.index("protester")
    return ids[walkers], x[walkers], y[walkers]


@dataclass(frozen=True)
class WalkingModel:
    """One walking model: its name, the scenario keys that select it, how its walkers are read."""

    name: str
    description: str
    overrides: dict = field(default_factory=dict)  # key path -> value, applied with Scenario.with_values
    positions: Callable = grid_positions  # model -> (agent indices, x_m, y_m) of the walkers on the map

    def scenario(self, scenario):
        """``scenario`` switched to this walking model."""
        return scenario.with_values(self.overrides) if self.overrides else scenario

    def build(self, scenario, *, seed: int, engine: str = "numba"):
        """A ``ProtestModel`` of ``scenario`` on this walking model."""
        from ..protest.model import ProtestModel

        return ProtestModel(self.scenario(scenario), engine=engine, seed=seed)

    @staticmethod
    def left(model) -> np.ndarray:
        """Bool per agent: has left the map (walked out through an exit)."""
        return model.arrays.state == LEFT

    @staticmethod
    def group_names(model) -> tuple[str, ...]:
        return tuple(model.group_names)

    @staticmethod
    def groups(model) -> np.ndarray:
        """The crowd index of every agent (into :meth:`group_names`)."""
        return np.asarray(model.arrays.group)

    @staticmethod
    def free_speeds(model) -> np.ndarray:
        """Every agent's free walking speed (m/s) as the model drew it."""
        return np.asarray(model.arrays.speed, dtype=np.float64)


def continuous_positions(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and real positions (m) of the walkers on the map of a continuous model."""
    return model.positions()


@dataclass(frozen=True)
class ContinuousWalkingModel(WalkingModel):
    """The continuous model: the scenario's crowds placed as the grid places them, then walked by
    the Collision-Free Speed Model (``sim.verify.continuous``)."""

    positions: Callable = continuous_positions

    def build(self, scenario, *, seed: int, engine: str = "numba"):
        from .continuous import ContinuousWalkers

        return ContinuousWalkers(self.scenario(scenario), seed=seed, engine=engine)

    @staticmethod
    def left(model) -> np.ndarray:
        return model.gone.copy()


WALKING_MODELS: tuple[WalkingModel, ...] = (
    WalkingModel("grid", "cellular automaton on the scenario's grid of cells (sim.core.walk), the default"),
    ContinuousWalkingModel("continuous", "Collision-Free Speed Model (Tordeux, Chraibi & Seyfried 2016; "
                                         "JuPedSim's defaults) at real positions (sim.core.continuous)"),
)


def walking_model(name: str) -> WalkingModel:
    for m in WALKING_MODELS:
        if m.name == name:
            return m
    names = [m.name for m in WALKING_MODELS]
    raise ScenarioError(f"unknown walking model {name!r}{suggest(name, names)}")
