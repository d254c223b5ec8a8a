"""Small terrains for core tests, built straight from numpy so they need no map files."""

from __future__ import annotations

import numpy as np

from sim.core.walk.engine import Core, Terrain, WalkParams
from sim.core.walk.state import LEAVE, AgentArrays
from sim.geo.fields import distance_field
from sim.geo.gridmap import GridMap


def exit_terrain(walkable: np.ndarray, exit_cells: np.ndarray, cell: float = 0.5) -> tuple[GridMap, Terrain]:
    """A map whose only place is an exit; one field, to that exit."""
    place_id = np.full(walkable.shape, -1, dtype=np.int16)
    place_id[exit_cells & (walkable == 1)] = 0
    gm = GridMap("test", cell, walkable.astype(np.uint8), place_id, ("exit",), ("exit",))
    field = distance_field(gm.walkable, gm.exit_mask(), cell)
    terrain = Terrain(gm.walkable, place_id, gm.exit_mask().astype(np.uint8), field[None],
                  np.array([-1], dtype=np.int16), cell)
    return gm, terrain


def leavers(cells_xy: tuple[np.ndarray, np.ndarray], speeds: np.ndarray) -> AgentArrays:
    n = len(speeds)
    a = AgentArrays.empty(n)
    a.x[:], a.y[:] = cells_xy
    a.behaviour[:] = LEAVE
    a.speed[:] = speeds
    return a


def core(terrain: Terrain, agents: AgentArrays, engine: str = "numba", dt: float = 0.5, max_speed: float = 2.2) -> Core:
    return Core(terrain, WalkParams(dt=dt, max_speed=max_speed), agents, engine)
