"""Per-cell density maps of a whole run: the highest density each cell of ``grid_m`` metres reached,
and how long it was at or above 4 and 6 persons per m2.

PedPy computes the classic density profile of every analysis frame (``compute_density_profile``
with ``DensityMethod.CLASSIC`` over the box everyone stayed in; the frames ``stride`` apart that
the areas are measured on, so a time above a threshold is a count of those frames times their
interval); the profiles are reduced as they come, a row group of the trajectories at a time, so
memory holds a few hundred frames, never the run.
Everyone on the map counts (protesters, police, vehicles): a crush does not ask for sides.

On a grid model one person stands on a cell: with 0.5 m cells no place is ever denser than
4 persons per m2, so "at or above 6" stays empty there by construction (finer cells allow more).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..traj.pedpy import pedpy

THRESHOLDS = (4.0, 6.0)  # persons per m2
GRID_M = 2.0  # side of a map cell, m: 16 people on 0.5 m cells fill it
# frames per call of PedPy: each call builds its grid of cells anew (~2 s for the Bishkek run's box), each
# frame's profile is a float64 per cell (~2 MB there): ~150 frames keep calls few and memory in bounds
FRAMES_PER_CALL = 150


def bounds(path) -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1 metres) every row of the trajectories lies in, from the file's statistics."""
    meta = pq.ParquetFile(path).metadata
    lo, hi = [np.inf, np.inf], [-np.inf, -np.inf]
    names = meta.schema.names
    for g in range(meta.num_row_groups):
        for k, col in enumerate(("x_m", "y_m")):
            stats = meta.row_group(g).column(names.index(col)).statistics
            if stats is None or not stats.has_min_max:  # not written: read the column
                values = pq.ParquetFile(path).read_row_group(g, columns=[col])[col].to_numpy()
                low, high = (values.min(), values.max()) if values.size else (np.inf, -np.inf)
            else:
                low, high = stats.min, stats.max
            lo[k], hi[k] = min(lo[k], low), max(hi[k], high)
    return lo[0], lo[1], hi[0], hi[1]


def density_maps(path, every_s: float, *, stride: int = 1, grid_m: float = GRID_M, box=None) -> pd.DataFrame:
    """One row per cell anyone stood in on the frames measured (every ``stride``-th): ix, iy, x_m,
    y_m (the cell's centre), density_max (persons per m2), seconds_at_least_4, seconds_at_least_6
    (frames at or above, times ``stride * every_s``)."""
    pp = pedpy()
    parquet = pq.ParquetFile(path)
    x0, y0, x1, y1 = box or bounds(path)
    x0, y0 = np.floor(x0 / grid_m) * grid_m, np.floor(y0 / grid_m) * grid_m
    x1, y1 = x0 + (np.floor((x1 - x0) / grid_m) + 1) * grid_m, y0 + (np.floor((y1 - y0) / grid_m) + 1) * grid_m
    area = pp.AxisAlignedMeasurementArea(x0, y0, x1, y1)
    best, above = None, None
    waiting: list[pd.DataFrame] = []

    def reduce(parts: list[pd.DataFrame]) -> None:
        nonlocal best, above
        profiles = pp.compute_density_profile(data=pd.concat(parts, ignore_index=True), grid_size=grid_m,
                                              axis_aligned_measurement_area=area,
                                              density_method=pp.DensityMethod.CLASSIC)
        stack = np.stack([np.rot90(p, -1) for p in profiles])  # PedPy's rows run north to south: back to [x, y]
        peak = stack.max(axis=0)
        counts = np.stack([(stack >= thr - 1e-9).sum(axis=0) for thr in THRESHOLDS])
        best = peak if best is None else np.maximum(best, _fit(peak, best.shape))
        above = counts if above is None else above + _fit(counts, above.shape)

    for g in range(parquet.num_row_groups):
        t = parquet.read_row_group(g, columns=["frame", "x_m", "y_m"])
        frame = t["frame"].to_numpy()
        keep = frame % stride == 0
        if keep.any():
            waiting.append(pd.DataFrame({"frame": frame[keep], "x": t["x_m"].to_numpy()[keep].astype(np.float64),
                                         "y": t["y_m"].to_numpy()[keep].astype(np.float64)}))
        if sum(p["frame"].nunique() for p in waiting) >= FRAMES_PER_CALL:
            reduce(waiting)
            waiting = []
    if waiting:
        reduce(waiting)
    if best is None:
        return pd.DataFrame(columns=["ix", "iy", "x_m", "y_m", "density_max"]
                            + [f"seconds_at_least_{thr:g}" for thr in THRESHOLDS])
    ix, iy = np.nonzero(best > 0)
    out = pd.DataFrame({"ix": ix.astype(np.int32), "iy": iy.astype(np.int32),
                        "x_m": x0 + (ix + 0.5) * grid_m, "y_m": y0 + (iy + 0.5) * grid_m,
                        "density_max": best[ix, iy]})
    for k, thr in enumerate(THRESHOLDS):
        out[f"seconds_at_least_{thr:g}"] = above[k][ix, iy] * every_s * stride
    return out


def _fit(array: np.ndarray, shape) -> np.ndarray:
    """``array`` cut or padded with zeros to ``shape`` in its last two axes (PedPy's grid may have a
    row more or less at the box's far edges)."""
    out = np.zeros(array.shape[:-2] + tuple(shape[-2:]), dtype=array.dtype)
    nx, ny = min(array.shape[-2], shape[-2]), min(array.shape[-1], shape[-1])
    out[..., :nx, :ny] = array[..., :nx, :ny]
    return out

