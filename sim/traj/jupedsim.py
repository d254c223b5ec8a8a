"""JuPedSim's SQLite trajectory file, so its viewers (and PedPy's ``load_trajectory_from_jupedsim_sqlite``)
open a run.

Written as JuPedSim's database version 2, which PedPy 1.5 reads and JuPedSim upgrades in place
(version 3 only dropped the orientation columns): tables ``trajectory_data(frame, id, pos_x,
pos_y, ori_x, ori_y)``, ``metadata(key, value)`` with ``version``, ``fps`` and the bounds
``xmin``...``ymax``, ``geometry(hash, wkt)`` holding the map's floor as WKT, and
``frame_data(frame, geometry_hash)``. Orientation is the direction walked since the frame before
((1, 0) for a person who has not moved).
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..atomic import write_file
from .file import read_meta

DATABASE_VERSION = 2


def write_sqlite(trajectories, out, *, floor_wkt: str, kinds=("protester", "police", "vehicle")) -> Path:
    """``trajectories`` (a ``trajectories.parquet``) as a JuPedSim SQLite file at ``out``, written
    atomically; ``floor_wkt``: the walkable area. Rows of ``kinds`` only."""
    trajectories, out = Path(trajectories), Path(out)
    meta = read_meta(trajectories)
    tmp = out.with_name(f".{out.name}.part")
    tmp.unlink(missing_ok=True)
    try:
        _fill(tmp, trajectories, meta, floor_wkt, set(kinds))
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    write_file(out, lambda fh: fh.write(data))
    return out


def _fill(db: Path, trajectories: Path, meta: dict, floor_wkt: str, kinds: set[str]) -> None:
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("CREATE TABLE trajectory_data (frame INTEGER NOT NULL, id INTEGER NOT NULL, "
                    "pos_x REAL NOT NULL, pos_y REAL NOT NULL, ori_x REAL NOT NULL, ori_y REAL NOT NULL)")
        con.execute("CREATE TABLE metadata(key TEXT NOT NULL UNIQUE PRIMARY KEY, value TEXT NOT NULL)")
        con.execute("CREATE TABLE geometry(hash INTEGER NOT NULL, wkt TEXT NOT NULL)")
        con.execute("CREATE UNIQUE INDEX geometry_hash ON geometry(hash)")
        con.execute("CREATE TABLE frame_data(frame INTEGER NOT NULL, geometry_hash INTEGER NOT NULL)")
        geo_hash = zlib.crc32(floor_wkt.encode())  # any stable integer: JuPedSim uses Python's hash()
        con.execute("INSERT INTO geometry VALUES(?, ?)", (geo_hash, floor_wkt))
        last = {"x": np.zeros(0), "y": np.zeros(0)}
        frames: set[int] = set()
        bounds = [np.inf, np.inf, -np.inf, -np.inf]
        parquet = pq.ParquetFile(trajectories)
        for g in range(parquet.num_row_groups):
            rows = parquet.read_row_group(g, columns=["frame", "id", "kind", "x_m", "y_m"]).to_pandas()
            rows = rows[rows["kind"].astype(str).isin(kinds)]
            ids, x, y = rows["id"].to_numpy(np.int64), rows["x_m"].to_numpy(float), rows["y_m"].to_numpy(float)
            frame = rows["frame"].to_numpy(np.int64)
            ox, oy = _orientation(frame, ids, x, y, last)
            con.executemany("INSERT INTO trajectory_data VALUES(?, ?, ?, ?, ?, ?)",
                            zip(frame.tolist(), ids.tolist(), x.tolist(), y.tolist(), ox.tolist(), oy.tolist()))
            frames.update(np.unique(frame).tolist())
            if x.size:
                bounds = [min(bounds[0], x.min()), min(bounds[1], y.min()), max(bounds[2], x.max()),
                          max(bounds[3], y.max())]
        con.executemany("INSERT INTO frame_data VALUES(?, ?)", [(f, geo_hash) for f in sorted(frames)])
        con.execute("CREATE INDEX frame_id_idx ON trajectory_data(frame, id)")
        fps = 1.0 / float(meta["every_s"])
        con.executemany("INSERT INTO metadata VALUES(?, ?)",
                        [("version", str(DATABASE_VERSION)), ("fps", repr(fps)), ("xmin", repr(float(bounds[0]))),
                         ("ymin", repr(float(bounds[1]))), ("xmax", repr(float(bounds[2]))),
                         ("ymax", repr(float(bounds[3])))])
        con.commit()
    finally:
        con.close()


def _orientation(frame, ids, x, y, last: dict) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction from each id's position in the frame before it (``last``: arrays ``x``, ``y``
    per id, NaN where unseen, updated); (1, 0) if it has not moved or was not seen."""
    top = int(ids.max()) + 1 if ids.size else 0
    if last["x"].size < top:
        grow = np.full(top - last["x"].size, np.nan)
        last["x"], last["y"] = np.concatenate([last["x"], grow]), np.concatenate([last["y"], grow])
    ox, oy = np.ones(ids.size), np.zeros(ids.size)
    bounds = np.flatnonzero(np.diff(frame)) + 1
    for sl in np.split(np.arange(ids.size), bounds):  # frame by frame, in order
        i = ids[sl]
        dx, dy = x[sl] - last["x"][i], y[sl] - last["y"][i]
        norm = np.hypot(dx, dy)
        moved = np.isfinite(norm) & (norm > 0)
        ox[sl[moved]], oy[sl[moved]] = dx[moved] / norm[moved], dy[moved] / norm[moved]
        last["x"][i], last["y"][i] = x[sl], y[sl]
    return ox, oy
