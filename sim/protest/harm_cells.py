"""Per map cell: how many people came there and how many were injured there, by cause.

The per-run input of the harm maps (``protest-sim harm``). It is fed frames (everyone on the map
at one moment, every second) and keeps, per side and cell of ``cell_m`` metres:

* ``visits``: arrivals of a person in the cell (their first frame on the map, or a frame where
  they stand in another cell than in the frame before): how many people stood there, a person
  who comes back counted again;
* ``person_s``: person-seconds spent there;
* ``injured_<cause>``: people injured there by that cause (where they lie in the first frame
  they are injured: the injured stay where they fell).

So ``injured / visits`` is the share of the people standing in a cell who were injured there.
The same frames come from the running model (``[output] harm_cells``) or from a run's
``trajectories.parquet`` (:func:`sim.analysis.harm.run_cells`): one accumulator, one answer.
Only these counts leave a run folder: nothing per person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traj.file import CAUSES, KINDS, STATES

FILE = "harm_cells.parquet"
SIDES = ("protesters", "police")  # police and their vehicles count as police
EVERY_S = 1.0  # s between frames fed by a running model
_SIDE_OF_KIND = np.array([0 if k == "protester" else 1 for k in KINDS], dtype=np.intp)
_INJURED = STATES.index("injured")


class HarmCells:
    """Counts over a grid of ``cell_m`` cells covering a map of ``size_m`` (width, height) metres."""

    def __init__(self, size_m: tuple[float, float], cell_m: float, every_s: float = EVERY_S) -> None:
        self.cell_m, self.every_s = float(cell_m), float(every_s)
        self.shape = tuple(max(1, int(np.ceil(s / cell_m - 1e-9))) for s in size_m)
        n = self.shape[0] * self.shape[1]
        self.visits = np.zeros((len(SIDES), n), dtype=np.int64)
        self.person_s = np.zeros((len(SIDES), n), dtype=np.float64)
        self.injured = np.zeros((len(SIDES), len(CAUSES), n), dtype=np.int64)
        self._last = np.full(0, -1, dtype=np.int64)  # per id: the cell of its last frame, -1 none
        self._hurt = np.zeros(0, dtype=bool)  # per id: already counted as injured
        self.frames = 0

    def _grow(self, top: int) -> None:
        if top >= self._last.size:
            extra = top + 1 - self._last.size
            self._last = np.concatenate([self._last, np.full(extra, -1, dtype=np.int64)])
            self._hurt = np.concatenate([self._hurt, np.zeros(extra, dtype=bool)])

    def add(self, ids, kind, x_m, y_m, state, cause) -> None:
        """One frame: per row an id, a code into ``KINDS``, a position in metres, a code into ``STATES``
        and one into ``CAUSES`` (-1: none)."""
        ids = np.asarray(ids, dtype=np.int64)
        self.frames += 1
        if ids.size == 0:
            return
        self._grow(int(ids.max()))
        nx, ny = self.shape
        cx = np.clip((np.asarray(x_m, dtype=np.float64) / self.cell_m).astype(np.int64), 0, nx - 1)
        cy = np.clip((np.asarray(y_m, dtype=np.float64) / self.cell_m).astype(np.int64), 0, ny - 1)
        cell = cx * ny + cy
        side = _SIDE_OF_KIND[np.asarray(kind, dtype=np.intp)]
        flat = side * (nx * ny) + cell
        size = len(SIDES) * nx * ny
        self.person_s += self.every_s * np.bincount(flat, minlength=size).reshape(self.person_s.shape)
        arrived = self._last[ids] != cell
        self.visits += np.bincount(flat[arrived], minlength=size).reshape(self.visits.shape)
        self._last[ids] = cell
        state, cause = np.asarray(state), np.asarray(cause, dtype=np.int64)
        hurt = (state == _INJURED) & ~self._hurt[ids] & (cause >= 0)
        if hurt.any():
            self._hurt[ids[hurt]] = True
            np.add.at(self.injured, (side[hurt], cause[hurt], cell[hurt]), 1)

    def frame(self) -> pd.DataFrame:
        """One row per side and cell anyone visited: side, ix, iy, x_m, y_m (the cell's centre),
        visits, person_s, injured_<cause>."""
        nx, ny = self.shape
        side, cell = np.nonzero(self.visits)
        ix, iy = cell // ny, cell % ny
        out = pd.DataFrame({"side": pd.Categorical.from_codes(side, categories=list(SIDES)),
                            "ix": ix.astype(np.int32), "iy": iy.astype(np.int32),
                            "x_m": ((ix + 0.5) * self.cell_m).astype(np.float32),
                            "y_m": ((iy + 0.5) * self.cell_m).astype(np.float32),
                            "visits": self.visits[side, cell], "person_s": self.person_s[side, cell]})
        for k, cause in enumerate(CAUSES):
            out[f"injured_{cause}"] = self.injured[side, k, cell]
        return out

    def meta(self) -> dict:
        return {"cell_m": self.cell_m, "shape": list(self.shape), "every_s": self.every_s, "frames": self.frames}
