"""Measurements on recorded trajectories, the field's way: PedPy for density, speed and flow.

Every function takes a :class:`~sim.verify.trajectories.Recording` (or plain numbers, for the
small helpers) and returns numbers or a DataFrame with documented columns; nothing here draws.

* :func:`area_series`: per frame, PedPy's classic density and mean speed of the walkers inside
  a measurement area (``compute_classic_density``, ``compute_individual_speed``,
  ``compute_mean_speed_per_frame``); speeds projected on the walking direction if one is given.
* :func:`line_flow`: PedPy's N-t diagram at a measurement line (``compute_n_t``) and the flow
  between two shares of the people through, the way bottleneck experiments state it.
* :func:`crossing_frames`: when each walker first crosses a line (``compute_n_t``).
* :func:`lane_order`: the lane order parameter of Rex & Loewen (2007) for counterflow.
* :func:`linear_fit` and :func:`off_floor` are small helpers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traj.pedpy import pedpy, trajectory_data
from .trajectories import Recording


def _pedpy():
    """PedPy, imported as every part of the package imports it (``sim.traj.pedpy``)."""
    return pedpy()


def traj_data(frame: pd.DataFrame, frame_rate: float):
    """PedPy's ``TrajectoryData`` of a frame with columns id, frame, x, y (metres): the conversion
    ``protest-sim analyze`` and ``export --to pedpy`` use (``sim.traj.pedpy.trajectory_data``)."""
    return trajectory_data(frame, frame_rate)


def box_polygon(box: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def area_series(rec: Recording, box: tuple[float, float, float, float], *, frames: tuple[int, int],
                frame_step: int, direction: tuple[float, float] | None = None) -> pd.DataFrame:
    """Per frame in ``frames`` (inclusive): ``frame``, ``time_s``, ``density`` (persons/m2, PedPy's
    classic density in the rectangle ``box``), ``speed`` (m/s, PedPy's mean speed of the walkers in
    it; each walker's speed over ``frame_step`` frames either side, one side at the ends of its
    trajectory, projected on ``direction`` if given) and ``count`` (walkers in it).

    Only the walkers that stand in the box at some frame of the window are handed to PedPy, with
    their positions from ``frame_step`` frames before it to ``frame_step`` after: what their speeds
    need, and a small part of a long corridor's trajectories."""
    pedpy = _pedpy()
    f0, f1 = frames
    t = rec.trajectories
    x0, y0, x1, y1 = box
    window = t[(t["frame"] >= f0) & (t["frame"] <= f1)]
    inside = window[(window["x"] > x0) & (window["x"] < x1) & (window["y"] > y0) & (window["y"] < y1)]
    ids = np.unique(inside["id"].to_numpy())
    near = t[t["id"].isin(ids) & (t["frame"] >= f0 - frame_step) & (t["frame"] <= f1 + frame_step)]
    near = near.sort_values(["id", "frame"])
    if near.empty:
        out = pd.DataFrame({"frame": np.arange(f0, f1 + 1)})
        out["time_s"], out["density"], out["speed"], out["count"] = out["frame"] / rec.frame_rate, 0.0, np.nan, 0
        return out
    data = traj_data(near, rec.frame_rate)
    area = pedpy.MeasurementArea(box_polygon(box))
    speeds = pedpy.compute_individual_speed(
        traj_data=data, frame_step=frame_step, speed_calculation=pedpy.SpeedCalculation.BORDER_SINGLE_SIDED,
        movement_direction=None if direction is None else np.asarray(direction, dtype=np.float64))
    density = pedpy.compute_classic_density(traj_data=data, measurement_area=area)
    moving = data
    if len(speeds) < len(data.data):  # a walker seen in one frame only has no speed: it counts, unmeasured
        keep = near.reset_index(drop=True).merge(speeds[["id", "frame"]], on=["id", "frame"])
        moving = traj_data(keep, rec.frame_rate)
    mean_speed = pedpy.compute_mean_speed_per_frame(traj_data=moving, individual_speed=speeds, measurement_area=area)
    out = density.merge(mean_speed, on="frame", how="left")
    out = out[(out["frame"] >= f0) & (out["frame"] <= f1)].reset_index(drop=True)
    out["count"] = np.rint(out["density"] * (x1 - x0) * (y1 - y0)).astype(int)
    out.loc[out["count"] == 0, "speed"] = np.nan  # PedPy fills empty frames with 0 m/s
    out.insert(1, "time_s", out["frame"] / rec.frame_rate)
    return out[["frame", "time_s", "density", "speed", "count"]]


def crossing_frames(rec: Recording, line: tuple[tuple[float, float], tuple[float, float]]) -> pd.Series:
    """The frame at which each walker first crosses ``line`` (PedPy), indexed by walker id."""
    pedpy = _pedpy()
    _, crossings = pedpy.compute_n_t(traj_data=traj_data(rec.trajectories, rec.frame_rate),
                                     measurement_line=pedpy.MeasurementLine(list(line)))
    return crossings.set_index("id")["frame"].astype(int)


def line_flow(rec: Recording, line, *, between: tuple[float, float] = (0.1, 0.9)) -> dict:
    """Flow through ``line``: ``flow`` (persons/s) between the ``between`` shares of the walkers
    who cross it (from PedPy's N-t diagram), ``crossed`` (how many), ``nt`` (the N-t diagram:
    frame, cumulative_pedestrians, time)."""
    pedpy = _pedpy()
    nt, crossings = pedpy.compute_n_t(traj_data=traj_data(rec.trajectories, rec.frame_rate),
                                      measurement_line=pedpy.MeasurementLine(list(line)))
    times = np.sort(crossings["frame"].to_numpy()) / rec.frame_rate
    n = times.size
    flow = np.nan
    if n >= 10:
        i0, i1 = int(np.floor(between[0] * n)), int(np.ceil(between[1] * n)) - 1
        if times[i1] > times[i0]:
            flow = (i1 - i0) / (times[i1] - times[i0])
    return {"flow": float(flow), "crossed": int(n), "nt": nt}


def lane_order(x: np.ndarray, y: np.ndarray, direction: np.ndarray, *, lane_m: float, reach_m: float,
               ) -> tuple[float, int]:
    """The lane order parameter (Rex & Loewen 2007; for pedestrians Nowak & Schadschneider 2012)
    of one moment of a counterflow along x: for each walker that has a walker of the other
    direction within ``reach_m`` along the corridor, phi = ((same - other) / (same + other))^2
    over the walkers in its lane (``|dy| < lane_m / 2``) within ``reach_m``; the mean of phi over
    those walkers that have such lane neighbours, and how many they are (0: no encounter).
    ``direction`` is +1 / -1 per walker. 1: clean lanes; random mixing: about 1 / neighbours."""
    x, y, d = np.asarray(x, float), np.asarray(y, float), np.asarray(direction)
    dx = np.abs(x[:, None] - x[None, :])
    dy = np.abs(y[:, None] - y[None, :])
    close = dx <= reach_m
    np.fill_diagonal(close, False)
    opposite = d[:, None] != d[None, :]
    meeting = (close & opposite).any(axis=1)
    lane = close & (dy < lane_m / 2)
    same = (lane & ~opposite).sum(axis=1)
    other = (lane & opposite).sum(axis=1)
    counted = meeting & (same + other > 0)
    if not counted.any():
        return float("nan"), 0
    phi = ((same - other) / np.maximum(same + other, 1)) ** 2
    return float(phi[counted].mean()), int(counted.sum())


def linear_fit(x, y) -> tuple[float, float, float]:
    """(slope, intercept, R^2) of the least-squares straight line through the points."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual ** 2).sum() / total if total > 0 else 1.0
    return float(slope), float(intercept), float(r2)


def off_floor(rec: Recording) -> int:
    """How many recorded positions are not on a floor cell (through or in a wall)."""
    t = rec.trajectories
    ix = np.floor(t["x"].to_numpy() / rec.cell_size).astype(np.int64)
    iy = np.floor(t["y"].to_numpy() / rec.cell_size).astype(np.int64)
    nx, ny = rec.walkable.shape
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    ok = np.zeros(ix.size, dtype=bool)
    ok[inside] = rec.walkable[ix[inside], iy[inside]] == 1
    return int((~ok).sum())
