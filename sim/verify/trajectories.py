"""Step a model and record where every walker is at every step: trajectories in metres.

A :class:`Recording` holds the trajectories as PedPy wants them (columns ``id``, ``frame``, ``x``,
``y``; metres, cell centres on the grid model, read as ``trajectories.parquet`` is written
(``sim.protest.recording.Frames``); one frame per step, so the frame rate is ``1 / dt``; kept in
memory at full precision, so the suite's numbers do not depend on the file's float32),
the step at which each walker left the map (-1: still on it), the walkers' crowds and free speeds,
and the map's floor, for the measurements and pictures that need more than positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .models import WALKING_MODELS, WalkingModel


@dataclass
class Recording:
    trajectories: pd.DataFrame  # id, frame, x, y (m)
    frame_rate: float  # frames per second (1 / dt)
    left_frame: np.ndarray  # per agent: the frame (step) at which it left the map, -1 if it did not
    group: np.ndarray  # per agent: crowd index into ``group_names``
    group_names: tuple[str, ...]
    free_speed: np.ndarray  # per agent: free walking speed, m/s
    walkable: np.ndarray  # uint8 [nx, ny], 1 = floor
    cell_size: float  # m
    frames: int  # frames recorded (the first is the start, frame 0)

    @property
    def dt(self) -> float:
        return 1.0 / self.frame_rate

    @property
    def agents(self) -> int:
        return int(self.left_frame.size)

    def arrived(self, within_s: float | None = None) -> np.ndarray:
        """Bool per agent: left the map (within ``within_s`` seconds of the start, if given)."""
        done = self.left_frame >= 0
        if within_s is not None:
            done &= self.left_frame * self.dt <= within_s + 1e-9
        return done

    def group_of(self, name: str) -> np.ndarray:
        """Indices of the agents of crowd ``name``."""
        return np.flatnonzero(self.group == self.group_names.index(name))

    def snapshot(self, frame: int) -> pd.DataFrame:
        return self.trajectories[self.trajectories["frame"] == frame]


def record(scenario, *, seed: int, duration_s: float, model: WalkingModel = WALKING_MODELS[0],
           engine: str = "numba", stop: Callable[[object], bool] | None = None) -> Recording:
    """Run ``scenario`` on walking ``model`` for ``duration_s`` (or until nobody is left on the map,
    or ``stop(model)`` holds) and record every walker at every step."""
    sim = model.build(scenario, seed=seed, engine=engine)
    ids, frames, xs, ys = [], [], [], []
    n = len(sim.arrays)
    left_frame = np.full(n, -1, dtype=np.int64)

    def take(frame: int) -> int:
        i, x, y = model.positions(sim)
        ids.append(i.astype(np.int64))
        frames.append(np.full(i.size, frame, dtype=np.int64))
        xs.append(np.asarray(x, dtype=np.float64))
        ys.append(np.asarray(y, dtype=np.float64))
        return i.size

    take(0)
    steps = int(round(duration_s / sim.dt))
    frame = 0
    for frame in range(1, steps + 1):
        sim.step()
        gone = model.left(sim) & (left_frame < 0)
        left_frame[gone] = frame
        on_map = take(frame)
        if on_map == 0 or (stop is not None and stop(sim)):
            break
    trajectories = pd.DataFrame({"id": np.concatenate(ids), "frame": np.concatenate(frames),
                                 "x": np.concatenate(xs), "y": np.concatenate(ys)})
    return Recording(trajectories=trajectories, frame_rate=1.0 / sim.dt, left_frame=left_frame,
                     group=model.groups(sim).copy(), group_names=model.group_names(sim),
                     free_speed=model.free_speeds(sim).copy(), walkable=np.array(sim.gridmap.walkable),
                     cell_size=float(sim.gridmap.cell_size), frames=frame + 1)


def place_box(scenario, place: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in metres of the cells of ``place`` on the scenario's map (cell edges)."""
    from ..geo.loader import load_map

    gridmap = load_map(scenario.map)
    xs, ys = np.nonzero(gridmap.place_mask(place))
    cell = gridmap.cell_size
    return float(xs.min() * cell), float(ys.min() * cell), float((xs.max() + 1) * cell), float((ys.max() + 1) * cell)
