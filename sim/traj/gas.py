"""``gas.parquet``: the tear-gas cloud at the trajectories' frames, so a replay draws it as the run did.

Only the gas cells the browser view draws are stored: those whose concentration, as drawn (float32
with 8 significant bits, :func:`as_drawn`), is above ``VISIBLE_SHARE`` of the scenario's flee
concentration (:func:`visible_cells`; the live picture, ``sim.viz.frame``, draws from the same
values, so a replay's picture is the live one to the pixel). A row is (``time_s`` float32, ``frame``
int32, ``cell`` int32: ``x * ny + y`` on the coarse gas grid, ``conc`` float32 in g/m2); a frame
without visible gas has no rows. Rows are
written in row groups as the run goes (:class:`GasWriter`); the file's metadata holds the gas grid's
shape and factor, the frame interval and the threshold, so a reader needs nothing else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .row_groups import ROWS_PER_GROUP, RowGroupWriter, read_meta

FILE = "gas.parquet"
COLUMNS = ("time_s", "frame", "cell", "conc")
VISIBLE_SHARE = 0.05  # the cloud is drawn where the concentration exceeds this share of the flee concentration
SCHEMA = pa.schema([("time_s", pa.float32()), ("frame", pa.int32()), ("cell", pa.int32()), ("conc", pa.float32())])
GROUPS_KEPT = 3
# the low 16 bits of a float32's mantissa cleared: 8 significant bits (under 0.8% off, less than half a
# colour level of the cloud), and the two low bytes of every value compress to nothing (-56% on disk)
_KEEP_BITS = np.uint32(0xFFFF0000)


def as_drawn(conc: np.ndarray) -> np.ndarray:
    """The concentration as the picture and the file see it: float32, truncated to 8 significant bits."""
    q = np.array(conc, dtype=np.float32)
    q.view(np.uint32)[...] &= _KEEP_BITS
    return q


def visible_cells(conc: np.ndarray, visible: float) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (``x * ny + y``) and values (:func:`as_drawn`) of the cells the picture draws: above
    ``visible``, g/m2."""
    flat = np.asarray(conc).reshape(-1)
    # as drawn, a value is at most 6e-8 above the exact one: cells below this cannot be drawn
    cells = np.flatnonzero(flat > visible * (1.0 - 1e-6))
    values = as_drawn(flat[cells])
    keep = values > np.float32(visible)
    return cells[keep].astype(np.int32), values[keep]


class GasWriter(RowGroupWriter):
    """Appends the visible gas of each frame to ``path``; a row group whenever ``rows_per_group`` rows wait
    (see :class:`~sim.traj.row_groups.RowGroupWriter`).

    ``meta``: ``shape`` and ``factor`` of the gas grid, ``every_s``, ``visible`` (g/m2); stored as JSON
    in the file's metadata. A file with no rows is written if no gas was ever drawn."""

    def __init__(self, path, meta: dict, *, rows_per_group: int = ROWS_PER_GROUP) -> None:
        super().__init__(path, SCHEMA, meta, rows_per_group=rows_per_group, thread_name="gas",
                         use_dictionary=["time_s", "frame"], use_byte_stream_split=["conc"],
                         write_statistics=["frame", "time_s"])
        self.visible = float(self.meta["visible"])

    def add(self, time_s: float, frame: int, conc: np.ndarray) -> None:
        """The cells of ``conc`` (the gas grid, g/m2) that are drawn, at this frame."""
        cells, values = visible_cells(conc, self.visible)
        if cells.size:
            self._append((float(time_s), int(frame), cells, values), int(cells.size))

    def _table(self, parts: list[tuple]) -> pa.Table:
        sizes = [p[2].size for p in parts]
        arrays = [pa.array(np.repeat(np.array([p[0] for p in parts], dtype=np.float32), sizes)),
                  pa.array(np.repeat(np.array([p[1] for p in parts], dtype=np.int32), sizes)),
                  pa.array(np.concatenate([p[2] for p in parts])),
                  pa.array(np.concatenate([p[3] for p in parts]))]
        return pa.Table.from_arrays(arrays, schema=self._schema)


class GasStore:
    """The recorded cloud frame by frame: ``grid(f)`` is the gas grid at frame ``f`` as drawn (float32,
    zero where nothing was drawn). Row groups are found from the file's statistics and the last few kept,
    so scrubbing back and forth costs a slice."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        self.meta = read_meta(self.path)
        self.shape = tuple(int(n) for n in self.meta["shape"])
        self.factor = int(self.meta["factor"])
        self.file = pq.ParquetFile(self.path)
        meta = self.file.metadata
        col = meta.schema.names.index("frame")
        self.bounds = []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(col).statistics
            if stats is not None and stats.has_min_max:
                self.bounds.append((g, int(stats.min), int(stats.max)))
        self._groups: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()

    def _group(self, g: int) -> dict:
        with self._lock:
            if g not in self._groups:
                t = self.file.read_row_group(g, columns=["frame", "cell", "conc"])
                frame = t.column("frame").to_numpy()
                order = np.argsort(frame, kind="stable")
                self._groups[g] = {"frame": frame[order], "cell": t.column("cell").to_numpy()[order],
                                   "conc": t.column("conc").to_numpy()[order]}
                while len(self._groups) > GROUPS_KEPT:
                    self._groups.popitem(last=False)
            self._groups.move_to_end(g)
            return self._groups[g]

    def grid(self, f: int) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.float32)
        flat = out.reshape(-1)
        for g, lo, hi in self.bounds:
            if lo <= f <= hi:
                d = self._group(g)
                a, b = np.searchsorted(d["frame"], [f, f + 1])
                flat[d["cell"][a:b]] = d["conc"][a:b]
        return out
