"""``trajectories.parquet``: one row per person (or vehicle) on the map per recorded frame.

Positions are map metres: origin at the south-west corner of the map's grid, x east, y north
(the grid's ``[x, y]`` cell indices times the cell size, plus half a cell: a person stands at
the centre of a cell). Arrested people and those who left are off the map and have no rows.

Columns are compact so a long run stays small: ``time_s`` and ``x_m``, ``y_m`` float32 (a
float32 is exact to a millimetre up to 16 km), ``frame`` and ``id`` int32, and ``kind``,
``state``, ``cause`` dictionary-encoded strings (one byte per row before compression). Rows are
written by :class:`TrajectoryWriter` in row groups as the run goes, so memory holds one group
(about ``ROWS_PER_GROUP`` rows), never the run; the file's key-value metadata holds the frame
interval, the cell size and the map's name, so a reader needs nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .row_groups import ROWS_PER_GROUP, RowGroupWriter, read_meta  # noqa: F401  read_meta: readers import it from here

FILE = "trajectories.parquet"
KINDS = ("protester", "police", "vehicle")
STATES = ("quiet", "active", "fleeing", "injured", "on_duty")
CAUSES = ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile")
COLUMNS = ("time_s", "frame", "id", "kind", "x_m", "y_m", "state", "cause")

_DICT = pa.dictionary(pa.int8(), pa.string())
SCHEMA = pa.schema([("time_s", pa.float32()), ("frame", pa.int32()), ("id", pa.int32()), ("kind", _DICT),
                    ("x_m", pa.float32()), ("y_m", pa.float32()), ("state", _DICT), ("cause", _DICT)])


class TrajectoryWriter(RowGroupWriter):
    """Appends frames to ``path``, a row group whenever ``rows_per_group`` rows wait (see
    :class:`~sim.traj.row_groups.RowGroupWriter`: encoded on a thread of its own, memory two groups at most).

    ``meta``: what a reader needs besides the rows (``every_s``, ``cell_size``, ``map``); stored as
    JSON in the file's metadata. Frames must come in order; :meth:`close` writes the rest.
    """

    def __init__(self, path, meta: dict, *, rows_per_group: int = ROWS_PER_GROUP) -> None:
        super().__init__(path, SCHEMA, meta, rows_per_group=rows_per_group, thread_name="trajectories",
                         use_dictionary=["kind", "state", "cause", "time_s", "frame"],
                         use_byte_stream_split=["x_m", "y_m"], write_statistics=["frame", "time_s", "x_m", "y_m"])
        self.frames = 0
        self._dicts = {name: pa.array(values, pa.string()) for name, values in
                       (("kind", KINDS), ("state", STATES), ("cause", CAUSES))}

    def add(self, time_s: float, frame: int, ids: np.ndarray, kind: np.ndarray, x_m: np.ndarray, y_m: np.ndarray,
            state: np.ndarray, cause: np.ndarray) -> None:
        """One frame: per row the id, codes into KINDS and STATES, positions in metres, and a code into
        CAUSES (-1: none)."""
        self.frames += 1
        self._append((float(time_s), int(frame), ids.astype(np.int32, copy=False), kind.astype(np.int8, copy=False),
                      x_m.astype(np.float32), y_m.astype(np.float32), state.astype(np.int8, copy=False),
                      cause.astype(np.int8, copy=False)), int(ids.size))

    def _table(self, parts: list[tuple]) -> pa.Table:
        sizes = [p[2].size for p in parts]
        cause = np.concatenate([p[7] for p in parts])
        arrays = [
            pa.array(np.repeat(np.array([p[0] for p in parts], dtype=np.float32), sizes)),
            pa.array(np.repeat(np.array([p[1] for p in parts], dtype=np.int32), sizes)),
            pa.array(np.concatenate([p[2] for p in parts])),
            pa.DictionaryArray.from_arrays(pa.array(np.concatenate([p[3] for p in parts])), self._dicts["kind"]),
            pa.array(np.concatenate([p[4] for p in parts])),
            pa.array(np.concatenate([p[5] for p in parts])),
            pa.DictionaryArray.from_arrays(pa.array(np.concatenate([p[6] for p in parts])), self._dicts["state"]),
            pa.DictionaryArray.from_arrays(pa.array(np.maximum(cause, 0), mask=cause < 0), self._dicts["cause"]),
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)


def read(path, *, columns=None, kinds=None, frames: tuple[int, int] | None = None) -> pd.DataFrame:
    """The rows of ``path`` (a ``trajectories.parquet``), strings as categories.

    ``kinds``: only rows of these kinds; ``frames``: only frames ``f0 <= frame <= f1`` (row groups
    outside are skipped unread)."""
    filters = []
    if kinds is not None:
        filters.append(("kind", "in", list(kinds)))
    if frames is not None:
        filters += [("frame", ">=", int(frames[0])), ("frame", "<=", int(frames[1]))]
    table = pq.read_table(path, columns=None if columns is None else list(columns), filters=filters or None)
    return table.to_pandas()


def bytes_per_row(path) -> float:
    """Size of the file on disk per row (per agent and frame), bytes."""
    rows = pq.ParquetFile(path).metadata.num_rows
    return Path(path).stat().st_size / rows if rows else float("nan")
