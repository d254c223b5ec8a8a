"""Trajectories as PedPy reads them: the one way every part of this package hands positions to PedPy
(the validation suite, ``protest-sim analyze``, ``protest-sim export --to pedpy``)."""

from __future__ import annotations

import logging

import pandas as pd

from ..errors import ScenarioError


def pedpy():
    """PedPy, imported on use (about a second; the ``analysis`` and ``verify`` extras bring it). Its
    preprocessing module calls ``logging.basicConfig(level=INFO)`` on import, which would print
    every Mesa step: the root logger is put back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import pedpy as module
    except ImportError:
        raise ScenarioError('analysing trajectories needs PedPy, the analysis extra: '
                            'python -m pip install -e ".[analysis]"') from None
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return module


def trajectory_data(frame: pd.DataFrame, frame_rate: float):
    """PedPy's ``TrajectoryData`` of a frame with columns id, frame, x, y (metres), or id, frame,
    x_m, y_m as ``trajectories.parquet`` has them."""
    if "x" not in frame.columns:
        frame = frame.rename(columns={"x_m": "x", "y_m": "y"})
    data = frame[["id", "frame", "x", "y"]].reset_index(drop=True)
    data = data.astype({"id": "int64", "frame": "int64", "x": "float64", "y": "float64"})
    return pedpy().TrajectoryData(data=data, frame_rate=frame_rate)


def run_trajectory_data(path, *, kinds=("protester",), frames: tuple[int, int] | None = None):
    """A run's ``trajectories.parquet`` (``path``) as PedPy's ``TrajectoryData``: the rows of
    ``kinds`` (default the protesters: the crowd), all frames or ``frames`` (first, last)."""
    from .file import read, read_meta

    rows = read(path, columns=["frame", "id", "x_m", "y_m", "kind"], kinds=kinds, frames=frames)
    return trajectory_data(rows, 1.0 / float(read_meta(path)["every_s"]))


def write_txt(trajectories, out, *, kinds=("protester",)):
    """``trajectories.parquet`` as the plain text PedPy's ``load_trajectory`` reads (``id frame x y``,
    metres, the frame rate in the header), row group by row group, written atomically."""
    from pathlib import Path

    import numpy as np
    import pyarrow.parquet as pq

    from ..atomic import write_file
    from .file import read_meta

    trajectories = Path(trajectories)
    fps = 1.0 / float(read_meta(trajectories)["every_s"])

    def write(fh) -> None:
        fh.write(f"# framerate: {fps!r}\n# protest-sim trajectories ({', '.join(kinds)}), "
                 "x/m y/m from the map's south-west corner\n# id frame x/m y/m\n".encode())
        parquet = pq.ParquetFile(trajectories)
        for g in range(parquet.num_row_groups):
            t = parquet.read_row_group(g, columns=["id", "frame", "kind", "x_m", "y_m"]).to_pandas()
            t = t[t["kind"].astype(str).isin(kinds)]
            np.savetxt(fh, np.column_stack([t["id"], t["frame"], t["x_m"], t["y_m"]]), fmt="%d %d %.3f %.3f")

    write_file(out, write)
    return Path(out)
