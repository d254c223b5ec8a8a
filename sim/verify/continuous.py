"""The validation scenarios walked by the continuous model (``sim.core.continuous``, the
Collision-Free Speed Model) instead of the grid.

A scenario is read and its crowds placed exactly as the grid model does it (a ``ProtestModel``
is built and not stepped: the same cells, free speeds, crowds and targets for the same seed);
each walker then starts at its cell's centre with JuPedSim's default body (radius 0.2 m, time gap
1 s) and walks down the same distance fields. One step of the scenario (its ``dt``, 0.5 s in the
validation scenarios) is taken as sub-steps of ``SUBSTEP_S``: the model is explicit in time and
wants steps well under its time gap, and frames stay one per scenario step, as on the grid.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.continuous.engine import ContinuousCore, floor_from_raster, params_for
from ..core.continuous.state import Crowd

# s; JuPedSim's default is 0.01 s. The model's answer moves with the step: 200 people leave a 20 m room
# by a 1.2 m door in 105 s at 0.01 s and 117 s at 0.05 s (door flow 1.92 and 1.73 /s; JuPedSim: 108 s
# and 123 s), so the suite's flows at 0.05 s are about 10 % under those at 0.01 s
SUBSTEP_S = 0.05
RADIUS_M = 0.2  # JuPedSim's default body
TIME_GAP_S = 1.0  # JuPedSim's default T


class ContinuousWalkers:
    """A scenario's walkers on the continuous model: ``step()`` advances one scenario step."""

    def __init__(self, scenario, *, seed: int, engine: str = "numba", substep_s: float = SUBSTEP_S):
        from ..protest.model import ProtestModel

        grid = ProtestModel(scenario, engine="numba", seed=seed)
        self.dt = float(grid.dt)
        self.gridmap = grid.gridmap
        self.arrays = grid.arrays  # crowds and free speeds, as drawn; never stepped
        self.group_names = tuple(grid.group_names)
        self.substeps = max(1, int(math.ceil(self.dt / substep_s - 1e-9)))
        terrain = grid.core.terrain
        a = grid.arrays
        on = a.on_map()
        crowd = Crowd.empty(len(a))
        cell = float(terrain.cell_size)
        crowd.x[:] = (a.x.astype(np.float64) + 0.5) * cell
        crowd.y[:] = (a.y.astype(np.float64) + 0.5) * cell
        crowd.radius[:] = RADIUS_M
        crowd.time_gap[:] = TIME_GAP_S
        crowd.v0[:] = np.asarray(a.speed, dtype=np.float64)
        crowd.target[:] = np.asarray(a.target, dtype=np.int32)
        crowd.active[:] = on.astype(np.uint8)
        params = params_for(crowd)
        floor = floor_from_raster(terrain.walkable, terrain.is_exit, terrain.fields, cell, params.cutoff_m)
        self.core = ContinuousCore(floor, params, crowd, engine)
        self.gone = ~on  # who has left the map (or was never on it)

    def step(self) -> None:
        for _ in range(self.substeps):
            self.core.step(self.dt / self.substeps)
            self.gone |= self.core.gone.astype(bool)

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices and positions (m) of the walkers on the map."""
        c = self.core.crowd
        ids = np.flatnonzero(c.active == 1)
        return ids, c.x[ids].copy(), c.y[ids].copy()
