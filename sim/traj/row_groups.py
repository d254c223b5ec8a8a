"""A Parquet file written in row groups as a run goes: memory holds a group or two, never the run.

Both recorded files (``trajectories.parquet`` and ``gas.parquet``) are written this way. A group is
encoded and compressed on a thread of its own (about 0.1 s per million rows; pyarrow lets go of the
GIL), so the run goes on stepping meanwhile; at most one group waits for it. What a reader needs
besides the rows is JSON in the file's key-value metadata under ``META_KEY``.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"protest_sim"
ROWS_PER_GROUP = 1 << 20  # ~1 M rows: ~10 MB in memory while a group fills, few groups per file


class RowGroupWriter:
    """Collects parts (one per frame) and writes a row group whenever ``rows_per_group`` rows wait.

    Subclasses turn a list of parts into a table (:meth:`_table`) and call :meth:`_append` per frame;
    parts must come in order. :meth:`close` writes the rest. ``options`` go to ``pq.ParquetWriter``.
    """

    def __init__(self, path, schema: pa.Schema, meta: dict, *, rows_per_group: int, thread_name: str,
                 **options) -> None:
        self.path = Path(path)
        self.meta = dict(meta)
        self._schema = schema.with_metadata({META_KEY: json.dumps(self.meta).encode()})
        self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd", compression_level=1, **options)
        self._rows = rows_per_group
        self._parts: list[tuple] = []
        self._waiting = 0
        self.rows = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._pending = None  # the group being written

    def _table(self, parts: list[tuple]) -> pa.Table:
        raise NotImplementedError

    def _append(self, part: tuple, rows: int) -> None:
        self._parts.append(part)
        self._waiting += rows
        self.rows += rows
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
        self._writer.write_table(self._table(parts))

    def close(self) -> Path:
        """Write what waits and close the file (a valid file with no rows if nothing came); returns its path."""
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
    """The metadata a writer stored."""
    return json.loads((pq.read_schema(path).metadata or {}).get(META_KEY, b"{}"))
