"""``protest-sim analyze RUN_DIR``: a run's trajectories measured with PedPy, into ``RUN_DIR/analysis/``.

The folder holds ``areas.parquet`` (per measurement area and analysis frame: classic and Voronoi
density, mean speed, specific flow), ``fundamental_diagram.parquet`` (speed and flow per density
bin), ``density_maps.parquet`` (per map cell: highest density, seconds at or above 4 and 6 per
m2), ``about.json`` (what was measured how: areas, frame stride, Voronoi frames, PedPy's
version, time taken) and ``figures/`` (``density_maps.png``, ``areas.png``,
``fundamental_diagram.png``). It is written into a temporary folder and renamed into place, like
a run folder; analysing again replaces it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..atomic import clean_stale_temps, staged_folder, write_json
from . import measures
from .areas import resolve
from .density_maps import GRID_M, THRESHOLDS, density_maps
from .figures import plot_areas, plot_density_maps, plot_fundamental_diagram
from .run_folder import frame_interval, open_run

FOLDER = "analysis"
ABOUT = "about.json"


def last_frame(path) -> int:
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.names.index("frame")
    return max(int(meta.row_group(g).column(col).statistics.max) for g in range(meta.num_row_groups))


def analyze(run_dir, *, areas: list[str] | None = None, stride: int | None = None, grid_m: float = GRID_M,
            figures: bool = True) -> tuple[Path, dict]:
    """Measure the run at ``run_dir``; returns the analysis folder and what ``about.json`` says."""
    t0 = time.perf_counter()
    run = open_run(run_dir)
    every = frame_interval(run)
    chosen = resolve(areas, run.scenario, run.gridmap)
    path = run.trajectories
    frames_total = last_frame(path) + 1
    stride = measures.stride_for(frames_total, stride)
    frames = np.arange(0, frames_total, stride)
    reach = measures.reach_m(stride, every)
    x0, y0, x1, y1 = np.array([a.polygon.convex_hull.bounds for a in chosen]).T
    box = (x0.min() - reach, y0.min() - reach, x1.max() + reach, y1.max() + reach)
    rows = measures.sample(path, stride, box)
    t_read = time.perf_counter()
    import pandas as pd

    table = pd.concat([measures.measure_area(a, rows, stride=stride, every_s=every, frames=frames, gridmap=run.gridmap)
                       for a in chosen], ignore_index=True)
    fd = measures.fundamental_diagram(table)
    t_areas = time.perf_counter()
    maps = density_maps(path, every, stride=stride, grid_m=grid_m)
    t_maps = time.perf_counter()
    title = f"{run.summary.get('scenario', run.scenario.name)} (seed {run.summary.get('seed', run.scenario.seed)})"
    # where the maps' cell (0, 0) starts: x_m = x0 + (ix + 0.5) * grid_m
    origin = ((float(maps["x_m"].iloc[0] - (maps["ix"].iloc[0] + 0.5) * grid_m),
               float(maps["y_m"].iloc[0] - (maps["iy"].iloc[0] + 0.5) * grid_m)) if len(maps) else (0.0, 0.0))
    about = {
        "run": str(run.path), "trajectory_frames": frames_total, "frame_interval_s": every,
        "analysis_stride_frames": stride, "analysis_interval_s": stride * every,
        "voronoi_frames_per_area": int(min(measures.VORONOI_FRAMES, frames.size)),
        "voronoi_cutoff_m": measures.VORONOI_CUTOFF_M,
        "areas": {a.name: {"place": a.place, "wkt": a.polygon.wkt if not a.place else None,
                           "measured_in": "convex hull of the place's cells" if a.place else "the polygon given",
                           "area_m2": float(a.polygon.convex_hull.area)} for a in chosen},
        "who": "areas: protesters (PedPy's speeds follow a person); density maps: everyone on the map",
        "density_map_cell_m": grid_m, "density_thresholds_per_m2": list(THRESHOLDS),
        "pedpy_version": _pedpy_version(),
        "seconds": {"reading": t_read - t0, "areas": t_areas - t_read, "density_maps": t_maps - t_areas},
    }
    out = run.path / FOLDER
    clean_stale_temps(run.path)
    with staged_folder(out, replace=True, replaceable=lambda p: (p / ABOUT).is_file()) as tmp:
        table.to_parquet(tmp / "areas.parquet", index=False)
        fd.to_parquet(tmp / "fundamental_diagram.parquet", index=False)
        maps.to_parquet(tmp / "density_maps.parquet", index=False)
        if figures:
            (tmp / "figures").mkdir()
            if len(maps):
                plot_density_maps(maps, run.gridmap, tmp / "figures" / "density_maps.png", grid_m=grid_m,
                                  origin=origin, title=title, areas=chosen)
            plot_areas(table, tmp / "figures" / "areas.png", title=title)
            plot_fundamental_diagram(table, fd, tmp / "figures" / "fundamental_diagram.png", title=title)
        about["seconds"]["total"] = time.perf_counter() - t0
        write_json(tmp / ABOUT, about)
    return out, about


def _pedpy_version() -> str:
    from ..traj.pedpy import pedpy

    return str(getattr(pedpy(), "__version__", ""))
