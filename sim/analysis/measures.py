"""Density, speed and flow in measurement areas, measured by PedPy on a run's trajectories.

A 3.5-hour run recorded every second is 12,600 frames of 5,000 people: too many for PedPy frame
by frame in a minute. So the trajectories are read once, row group by row group, keeping the
protesters near some area on *analysis frames* ``stride`` frames apart (:func:`sample`), and
PedPy sees them as trajectories at that lower frame rate:

* classic density and mean speed (``compute_classic_density``, ``compute_individual_speed`` with
  one analysis frame either side, ``compute_mean_speed_per_frame``) on every analysis frame;
  specific flow is density times speed (persons per metre and second);
* Voronoi density (``compute_individual_voronoi_polygons`` with a 1 m cut-off, of the people
  within ``NEAR_M`` of the area, cut to the area widened by ``NEAR_M``; ``compute_voronoi_density``)
  on at most ``VORONOI_FRAMES`` of them, evenly spread.

PedPy's measurement areas are convex: a place is measured in the convex hull of its cells, and
``floor_share`` says how much of the hull is floor (a statue, a corner of a building).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..traj.pedpy import pedpy, trajectory_data
from ..traj.walkable import largest_part, mask_polygon

MAX_ANALYSIS_FRAMES = 720  # classic density and speed: analysis frames per run at most (stride grows)
VORONOI_FRAMES = 30  # Voronoi density: frames per area at most
VORONOI_CUTOFF_M = 1.0  # largest radius of a Voronoi cell (PedPy's Cutoff): a lone walker is not 0 /m2
NEAR_M = 3.0  # people this close to an area are handed to PedPy's Voronoi (cells reach 1 m, neighbours 2 m)
WALK_MAX_MPS = 2.5  # nobody here walks faster: how far a person in an area may be an analysis frame away


def stride_for(frames: int, requested: int | None = None) -> int:
    """Trajectory frames per analysis frame: as asked, else the smallest keeping at most MAX_ANALYSIS_FRAMES."""
    if requested:
        return max(1, int(requested))
    return max(1, int(np.ceil(frames / MAX_ANALYSIS_FRAMES)))


def sample(path, stride: int, box: tuple[float, float, float, float]) -> pd.DataFrame:
    """Protesters on every ``stride``-th frame inside ``box`` (x0, y0, x1, y1, metres): frame, id, x, y."""
    x0, y0, x1, y1 = box
    parquet = pq.ParquetFile(path)
    parts = []
    for g in range(parquet.num_row_groups):
        t = parquet.read_row_group(g, columns=["frame", "id", "kind", "x_m", "y_m"])
        frame, x, y = t["frame"].to_numpy(), t["x_m"].to_numpy(), t["y_m"].to_numpy()
        keep = (frame % stride == 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        keep &= np.asarray(t["kind"].to_pandas() == "protester")
        parts.append(pd.DataFrame({"frame": frame[keep], "id": t["id"].to_numpy()[keep],
                                   "x": x[keep].astype(np.float64), "y": y[keep].astype(np.float64)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["frame", "id", "x", "y"])


def reach_m(stride: int, every_s: float) -> float:
    return NEAR_M + WALK_MAX_MPS * stride * every_s


def measure_area(area, rows: pd.DataFrame, *, stride: int, every_s: float, frames: np.ndarray, gridmap) -> pd.DataFrame:
    """Per analysis frame (``frames``, trajectory frame numbers): PedPy's measurements in ``area``."""
    import shapely

    pp = pedpy()
    hull = area.polygon.convex_hull
    out = pd.DataFrame({"area": area.name, "frame": frames.astype(np.int64), "time_s": frames * every_s})
    floor = _floor_near(gridmap, hull, NEAR_M)
    out["area_m2"], out["floor_share"] = hull.area, floor.intersection(hull).area / hull.area
    for col in ("count", "density_classic", "speed_mean", "flow_specific", "density_voronoi"):
        out[col] = np.nan
    inside = shapely.contains_xy(hull, rows["x"].to_numpy(), rows["y"].to_numpy())
    ids = np.unique(rows["id"].to_numpy()[inside])
    if ids.size == 0:
        out["count"], out["density_classic"] = 0, 0.0
        return out
    near = rows[rows["id"].isin(ids)].copy()
    near["frame"] //= stride  # analysis frames are consecutive for PedPy
    rate = 1.0 / (stride * every_s)
    data = trajectory_data(near, rate)
    measurement = pp.MeasurementArea(hull)
    density = pp.compute_classic_density(traj_data=data, measurement_area=measurement).set_index("frame")["density"]
    speeds = pp.compute_individual_speed(traj_data=data, frame_step=1,
                                         speed_calculation=pp.SpeedCalculation.BORDER_SINGLE_SIDED)
    moving = data  # a person seen on one analysis frame only has no speed: counted, not measured
    if len(speeds) < len(near):
        moving = trajectory_data(near.merge(speeds[["id", "frame"]], on=["id", "frame"]), rate)
    mean_speed = pp.compute_mean_speed_per_frame(traj_data=moving, individual_speed=speeds,
                                                 measurement_area=measurement).set_index("frame")["speed"]
    k = frames // stride
    out["density_classic"] = density.reindex(k).fillna(0.0).to_numpy()
    out["count"] = np.rint(out["density_classic"] * hull.area).astype(int)
    out["speed_mean"] = mean_speed.reindex(k).to_numpy()
    out.loc[out["count"] == 0, "speed_mean"] = np.nan  # PedPy gives 0 m/s for an empty area
    out["flow_specific"] = out["density_classic"] * out["speed_mean"]
    out["density_voronoi"] = _voronoi(pp, rows, hull, frames, measurement).reindex(frames).to_numpy()
    return out


def _floor_near(gridmap, polygon, margin_m: float):
    """The floor within ``margin_m`` of ``polygon``'s bounds, as one polygon (the part touching it)."""
    cell = gridmap.cell_size
    nx, ny = gridmap.shape
    x0, y0, x1, y1 = polygon.bounds
    box = (max(0, int((x0 - margin_m) / cell)), max(0, int((y0 - margin_m) / cell)),
           min(nx, int(np.ceil((x1 + margin_m) / cell))), min(ny, int(np.ceil((y1 + margin_m) / cell))))
    floor = mask_polygon(gridmap.walkable == 1, cell, box=box)
    parts = [p for p in getattr(floor, "geoms", [floor]) if p.intersects(polygon)]
    return largest_part(floor) if not parts else max(parts, key=lambda p: p.intersection(polygon).area)


def _voronoi(pp, rows: pd.DataFrame, hull, frames: np.ndarray, measurement) -> pd.Series:
    """Voronoi density in the area on at most VORONOI_FRAMES analysis frames, by trajectory frame."""
    import shapely

    picked = frames[np.unique(np.linspace(0, frames.size - 1, min(VORONOI_FRAMES, frames.size)).astype(int))]
    # the area widened by NEAR_M: a convex polygon of few corners, so cutting 5,000 cells a frame
    # to it is cheap; walls inside it are not cut out (a cell reaches VORONOI_CUTOFF_M at most)
    near = hull.buffer(NEAR_M, quad_segs=2)
    sub = rows[rows["frame"].isin(picked)]
    sub = sub[shapely.contains_xy(near, sub["x"].to_numpy(), sub["y"].to_numpy())]
    if sub.empty:
        return pd.Series(0.0, index=picked)
    walkable = pp.WalkableArea(near)
    polygons = pp.compute_individual_voronoi_polygons(
        traj_data=trajectory_data(sub, 1.0), walkable_area=walkable,
        cut_off=pp.Cutoff(radius=VORONOI_CUTOFF_M, quad_segments=3))
    density, _ = pp.compute_voronoi_density(individual_voronoi_data=polygons, measurement_area=measurement)
    return density.set_index("frame")["density"].reindex(picked).fillna(0.0)


def fundamental_diagram(table: pd.DataFrame, bin_width: float = 0.25) -> pd.DataFrame:
    """Speed and specific flow against classic density over every area and analysis frame with people:
    per area (and ``all``) and density bin, the mean and count."""
    rows = table[(table["count"] > 0) & table["speed_mean"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=["area", "density_bin", "density_mean", "speed_mean", "flow_mean", "n"])
    rows["density_bin"] = (np.floor(rows["density_classic"] / bin_width) + 0.5) * bin_width
    both = pd.concat([rows, rows.assign(area="all")], ignore_index=True)
    fd = both.groupby(["area", "density_bin"], as_index=False).agg(
        density_mean=("density_classic", "mean"), speed_mean=("speed_mean", "mean"),
        flow_mean=("flow_specific", "mean"), n=("frame", "size"))
    return fd
