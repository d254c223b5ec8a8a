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

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FILE = "trajectories.parquet"
KINDS = ("protester", "police", "vehicle")
STATES = ("quiet", "active", "fleeing", "injured", "on_duty")
CAUSES = ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile")
COLUMNS = ("time_s", "frame", "id", "kind", "x_m", "y_m", "state", "cause")
ROWS_PER_GROUP = 1 << 20  # ~1 M rows: ~10 MB in memory while a group fills, few groups per file
META_KEY = b"protest_sim"

_DICT = pa.dictionary(pa.int8(), pa.string())
SCHEMA = pa.schema([("time_s", pa.float32()), ("frame", pa.int32()), ("id", pa.int32()), ("kind", _DICT),
                    ("x_m", pa.float32()), ("y_m", pa.float32()), ("state", _DICT), ("cause", _DICT)])


class TrajectoryWriter:
    """Appends frames to ``path`` and writes a row group whenever ``rows_per_group`` rows wait.

    ``meta``: what a reader needs besides the rows (``every_s``, ``cell_size``, ``map``); stored
    as JSON in the file's metadata. Frames must come in order; :meth:`close` writes the rest.
    Encoding and compressing a group (about 0.1 s per million rows) happens on a thread of its
    own (pyarrow lets go of the GIL), so a run goes on stepping meanwhile; at most one group
    waits for it, so memory holds two groups at most.
    """

    def __init__(self, path, meta: dict, *, rows_per_group: int = ROWS_PER_GROUP) -> None:
        self.path = Path(path)
        self.meta = dict(meta)
        schema = SCHEMA.with_metadata({META_KEY: json.dumps(self.meta).encode()})
        self._writer = pq.ParquetWriter(self.path, schema, compression="zstd", compression_level=1,
                                        use_dictionary=["kind", "state", "cause", "time_s", "frame"],
                                        use_byte_stream_split=["x_m", "y_m"],
                                        write_statistics=["frame", "time_s", "x_m", "y_m"])
        self._schema = schema
        self._rows = rows_per_group
        self._parts: list[tuple] = []
        self._waiting = 0
        self.rows = 0
        self.frames = 0
        self._dicts = {name: pa.array(values, pa.string()) for name, values in
                       (("kind", KINDS), ("state", STATES), ("cause", CAUSES))}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trajectories")
        self._pending = None  # the group being written

    def add(self, time_s: float, frame: int, ids: np.ndarray, kind: np.ndarray, x_m: np.ndarray, y_m: np.ndarray,
            state: np.ndarray, cause: np.ndarray) -> None:
        """One frame: per row the id, codes into KINDS and STATES, positions in metres, and a code into
        CAUSES (-1: none)."""
        n = int(ids.size)
        self._parts.append((float(time_s), int(frame), ids.astype(np.int32, copy=False),
                            kind.astype(np.int8, copy=False), x_m.astype(np.float32), y_m.astype(np.float32),
                            state.astype(np.int8, copy=False), cause.astype(np.int8, copy=False)))
        self._waiting += n
        self.rows += n
        self.frames += 1
        if self._waiting >= self._rows:
            self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        parts, self._parts, self._waiting = self._parts, [], 0
        self._wait()
        self._pending = self._pool.submit(self._write, parts)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # a failed write raises here

    def _write(self, parts: list[tuple]) -> None:
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
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> Path:
        """Write what waits and close the file; returns its path."""
        if self._writer is not None:
            try:
                self._flush()
                self._wait()
            finally:
                self._pool.shutdown(wait=True)
                self._writer.close()
                self._writer = None
        return self.path


def read_meta(path) -> dict:
    """The metadata a writer stored (``every_s``, ``cell_size``, ``map``, ...)."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(META_KEY, b"{}"))


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
