"""``ContinuousCore``: the floor, the model's constants, the crowd and an engine choice, stepped.

Built from what the grid model already has (a walkable raster, exit cells, distance fields) or
from wall segments in metres; both engines step the same arrays, the numba kernels or the
plain-Python reference.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import ENGINES
from .directions import direction_grids
from .kernel import move_and_leave, new_states, scratch
from .reference import step_reference
from .state import CfsmParams, Crowd, Floor, cutoff_for
from .walls import build_walls, raster_segments


def floor_from_raster(walkable: np.ndarray, is_exit: np.ndarray, fields: np.ndarray, cell_size: float,
                      cutoff_m: float, extra_segments: np.ndarray | None = None) -> Floor:
    """The floor of a grid map: walls round its floor cells (plus ``extra_segments`` [k, 4] m),
    exits, and the desired directions down ``fields`` ([k, nx, ny], m)."""
    segments = raster_segments(walkable, cell_size)
    if extra_segments is not None and len(extra_segments):
        segments = np.concatenate([segments, np.asarray(extra_segments, dtype=np.float64).reshape(-1, 4)])
    extent = (walkable.shape[0] * cell_size, walkable.shape[1] * cell_size)
    return Floor(walls=build_walls(segments, extent, cutoff_m), is_exit=np.ascontiguousarray(is_exit, dtype=np.uint8),
                 grids=np.ascontiguousarray(direction_grids(fields, cell_size)), cell_size=float(cell_size))


def params_for(crowd: Crowd, **overrides) -> CfsmParams:
    """JuPedSim's constants with a cut-off that is exact for this crowd (``state.cutoff_for``)."""
    cutoff = cutoff_for(float(crowd.radius.max(initial=0.2)), float(crowd.v0.max(initial=1.2)),
                        float(crowd.time_gap.max(initial=1.0)))
    return CfsmParams(**{"cutoff_m": cutoff, **overrides})


class ContinuousCore:
    """Steps a :class:`Crowd` over a :class:`Floor` (``engine``: "numba" or "python").

    The floor's wall bins must be at least the cut-off wide (``floor_from_raster(..., cutoff_m)``):
    the cells of the neighbour list (half a bin) around an agent then hold everyone within it."""

    def __init__(self, floor: Floor, params: CfsmParams, crowd: Crowd, engine: str = "numba"):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if floor.walls.bin_m < params.cutoff_m:
            raise ValueError(f"wall bins of {floor.walls.bin_m} m are narrower than the cut-off {params.cutoff_m} m")
        self.params, self.crowd, self.engine = params, crowd, engine
        self.floor = floor
        n = len(crowd)
        self._next = [np.empty(n) for _ in range(4)]
        self.gone = np.zeros(n, dtype=np.uint8)  # 1 for who left in the last step

    @property
    def floor(self) -> Floor:
        return self._floor

    @floor.setter
    def floor(self, floor: Floor) -> None:
        """A new floor (walls opened) gets scratch sized for its walls and cells."""
        self._floor = floor
        self._scratch = scratch(numba.config.NUMBA_NUM_THREADS, floor.walls)

    def step(self, dt: float) -> int:
        """One step of ``dt`` s; returns how many left through an exit."""
        c, f = self.crowd, self.floor
        if self.engine == "python":
            gone = step_reference(c, f, self.params, dt)
            self.gone[:] = gone
            return int(gone.sum())
        if np.any((c.v0 != 0.0) & (c.active == 1)):
            new_states(c.x, c.y, c.ex, c.ey, c.radius, c.v0, c.time_gap, c.target, c.active, f.grids, f.cell_size,
                       f.walls, self.params, float(dt), *self._next, *self._scratch)
        else:  # everybody stands still (v0 = 0): new_states would keep every state, without its cell list
            for new, old in zip(self._next, (c.x, c.y, c.ex, c.ey)):
                new[:] = old
        return int(move_and_leave(c.x, c.y, c.ex, c.ey, c.active, *self._next, f.is_exit, f.cell_size, self.gone))
