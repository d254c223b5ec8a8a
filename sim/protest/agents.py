"""Mesa agents that are views over one row of the model's arrays.

Reading ``agent.pos`` or ``agent.state`` gives the live value the kernels wrote; so
``model.agents``, ``agents_by_type``, ``AgentSet.select/agg/groupby`` and Mesa's DataCollector
all work, while no Python runs per agent per step.
"""

from __future__ import annotations

import mesa

from ..core.walk.state import BEHAVIOUR_NAMES, NOWHERE, STATE_NAMES


class ArrayAgent(mesa.Agent):
    """An agent whose attributes live in ``model.arrays`` at row ``index``."""

    def __init__(self, model, index: int) -> None:
        self.index = index
        super().__init__(model)

    @property
    def pos(self) -> tuple[int, int] | tuple[float, float] | None:
        """The (x, y) cell, or None once the agent has left the map. On the continuous walking model
        (``[walking] model = "continuous"``): the (x, y) position in metres, floats (its cell is
        ``cell``)."""
        arrays = self.model.arrays
        x = int(arrays.x[self.index])
        if x == NOWHERE:
            return None
        positions = getattr(self.model.core, "positions_m", None)
        if positions is not None:
            px, py = positions()
            return float(px[self.index]), float(py[self.index])
        return x, int(arrays.y[self.index])

    @property
    def cell(self) -> tuple[int, int] | None:
        """The (x, y) cell on either walking model, or None once the agent has left the map."""
        arrays = self.model.arrays
        x = int(arrays.x[self.index])
        return None if x == NOWHERE else (x, int(arrays.y[self.index]))

    @pos.setter
    def pos(self, value) -> None:
        # Mesa's Agent.__init__ sets pos = None; positions are the engines' to change
        if value is not None:
            raise AttributeError("positions change only through the model's step")

    @property
    def state(self) -> str:
        return STATE_NAMES[self.model.arrays.state[self.index]]

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR_NAMES[self.model.arrays.behaviour[self.index]]

    @property
    def target(self) -> str:
        """The place (or "exits") the agent is heading for or staying in."""
        return self.model.field_targets[self.model.arrays.target[self.index]]

    @property
    def speed(self) -> float:
        """Free walking speed, m/s."""
        return float(self.model.arrays.speed[self.index])

    @property
    def group(self) -> str:
        """The crowd or police unit the agent belongs to."""
        return self.model.group_names[self.model.arrays.group[self.index]]

    def step(self) -> None:
        """Nothing: the model steps all agents at once through the core."""


class Protester(ArrayAgent):
    """A person in the protest crowd."""

    @property
    def legitimacy(self) -> float:
        """The legitimacy L (0-1) this person sees in the police now (with [protest] dynamics it moves)."""
        return float(self.model.arrays.legitimacy[self.index])

    @property
    def energy(self) -> float:
        """1 rested, 0 exhausted: being active costs it (with [protest] dynamics)."""
        return float(self.model.arrays.energy[self.index])


class Police(ArrayAgent):
    """A police officer."""
