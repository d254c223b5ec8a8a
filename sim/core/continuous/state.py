"""What the continuous model keeps: the agents (struct of arrays), the model's parameters, the floor.

Parameters are those of the Collision-Free Speed Model (Tordeux, Chraibi & Seyfried 2016,
"Collision-free speed model for pedestrian dynamics", Traffic and Granular Flow '15, 225-232,
doi:10.1007/978-3-319-33482-0_29) with JuPedSim's names and defaults (its CollisionFreeSpeedModel):
an agent's speed is ``min(v0, max(0, s / T))`` with ``s`` the gap (m, centre distance minus both
radii) to the nearest neighbour ahead in its walking direction, and that direction is its desired
direction plus the repulsions ``a exp((l - d) / D)`` of neighbours (l: both radii, d: distance) and
of walls (l: its radius, d: distance to the wall), normalised.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from .walls import Walls


class CfsmParams(NamedTuple):
    """The model's constants (JuPedSim's defaults); lengths in m."""

    strength_neighbour: float = 8.0  # a of the neighbour repulsion (dimensionless)
    range_neighbour: float = 0.1  # D of the neighbour repulsion, m
    strength_wall: float = 5.0  # a of the wall repulsion
    range_wall: float = 0.02  # D of the wall repulsion, m
    cutoff_m: float = 2.0  # neighbours and walls farther than this are ignored (see ``cutoff_for``)


def cutoff_for(radius_max: float, v0_max: float, time_gap_max: float, floor_m: float = 2.0) -> float:
    """A cut-off (m) that changes nothing the model computes but float noise: beyond
    ``2 r + v0 T`` a neighbour ahead no longer slows anyone (``s / T >= v0``), and beyond 2 m with
    the default ranges a push is below 8 exp(-16) ~ 1e-6 of the unit desired direction."""
    return max(floor_m, 2.0 * radius_max + v0_max * time_gap_max)


@dataclass
class Crowd:
    """One row per agent; positions in m, speeds in m/s, times in s."""

    x: np.ndarray  # float64
    y: np.ndarray  # float64
    ex: np.ndarray  # float64: the direction walked last step (unit vector, or 0)
    ey: np.ndarray  # float64
    radius: np.ndarray  # float64, m
    v0: np.ndarray  # float64: free (desired) speed, m/s
    time_gap: np.ndarray  # float64: T, s
    target: np.ndarray  # int32: index of the direction grid walked down, -1: none (stands)
    active: np.ndarray  # uint8: 1 on the map, 0 gone (left through an exit, or never placed)

    @classmethod
    def empty(cls, n: int) -> "Crowd":
        return cls(x=np.zeros(n), y=np.zeros(n), ex=np.zeros(n), ey=np.zeros(n), radius=np.full(n, 0.2),
                   v0=np.full(n, 1.2), time_gap=np.full(n, 1.0), target=np.zeros(n, np.int32),
                   active=np.ones(n, np.uint8))

    def __len__(self) -> int:
        return int(self.x.size)

    def copy(self) -> "Crowd":
        return Crowd(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def equals(self, other: "Crowd") -> bool:
        """Bit for bit the same arrays."""
        return all(np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))


@dataclass(frozen=True)
class Floor:
    """What does not change during a run: walls, exits and the directions to targets."""

    walls: Walls
    is_exit: np.ndarray  # uint8 [nx, ny]: agents whose centre enters one of these cells leave
    grids: np.ndarray  # float64 [k, nx, ny, 2]: desired directions (directions.direction_grids)
    cell_size: float  # m, of the raster behind is_exit and grids

    @property
    def extent_m(self) -> tuple[float, float]:
        return self.is_exit.shape[0] * self.cell_size, self.is_exit.shape[1] * self.cell_size
