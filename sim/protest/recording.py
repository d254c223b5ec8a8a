"""Recording a run as it goes: ``trajectories.parquet`` with ``gas.parquet`` (the tear-gas cloud at the
same frames), and ``harm_cells.parquet`` (``[output]``).

A recorder is an observer of the model (``model.observers``): called after every step, it takes
a frame every ``every_s`` seconds (a whole number of steps) and hands it on, so nothing is kept
per step and memory stays flat however long the run. The files are written into a staging
folder beside the run folder (a temporary folder of :mod:`sim.atomic`, removed by the next
writer if the run dies) and moved into the run folder when it is written, so they appear
atomically with the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.walk.state import INJURED, NOWHERE, POLICE, PROTESTER
from ..traj.file import FILE as TRAJECTORIES, KINDS, STATES, TrajectoryWriter
from ..traj.gas import FILE as GAS, VISIBLE_SHARE, GasWriter
from .harm_cells import EVERY_S as HARM_EVERY_S, FILE as HARM_CELLS, HarmCells

_VEHICLE = KINDS.index("vehicle")
_ON_DUTY = STATES.index("on_duty")
assert KINDS[PROTESTER] == "protester" and KINDS[POLICE] == "police"  # the model's kind codes are the file's


class Frames:
    """Everyone on the map now: ids, kind codes (into ``KINDS``), positions in metres (cell
    centres; real positions on the continuous walking model), state codes (into ``STATES``), cause codes (into ``CAUSES``, -1: not injured)."""

    def __init__(self, model) -> None:
        self.m = model
        kind = np.asarray(model.arrays.kind, dtype=np.int8).copy()  # PROTESTER 0, POLICE 1 as in KINDS
        kind[model.policing.trucks()] = _VEHICLE
        self.kind = kind
        self.cell = float(model.gridmap.cell_size)

    def take(self):
        a = self.m.arrays
        ids = np.flatnonzero(a.x != NOWHERE)
        state = a.state[ids].astype(np.int8)
        kind = self.kind[ids]
        state[(kind != PROTESTER) & (state != INJURED)] = _ON_DUTY  # officers are on duty or injured
        cause = np.where(state == INJURED, a.cause[ids].astype(np.int8) - 1, -1)  # CAUSE_NAMES[0] is "none"
        positions = getattr(self.m.core, "positions_m", None)
        if positions is not None:  # the continuous walking model: real positions, not cell centres
            px, py = positions()
            return ids, kind, px[ids].copy(), py[ids].copy(), state, cause
        return (ids, kind, (a.x[ids] + 0.5) * self.cell, (a.y[ids] + 0.5) * self.cell, state, cause)


class Recorder:
    """Takes a frame now and every ``every_s`` seconds after (rounded to whole steps), and hands it to
    the trajectory writer (and the gas grid to the gas writer) and the harm cells that are on."""

    def __init__(self, model, staging: Path, *, trajectories_every_s: float = 0.0, harm_cell_m: float | None = None):
        self.m, self.staging = model, Path(staging)
        self.frames = Frames(model)
        self.writer = None
        self.gas = None
        self.harm = None
        self._every = {}
        self._done: dict[str, Path] | None = None
        if trajectories_every_s > 0:
            steps = max(1, int(round(trajectories_every_s / model.dt)))
            self.writer = TrajectoryWriter(self.staging / TRAJECTORIES, {
                "every_s": steps * model.dt, "cell_size": self.frames.cell, "map": model.gridmap.name,
                "size_m": list(model.gridmap.size_m), "start_clock": model.spec.start,
                "origin": "south-west corner of the map grid; x east, y north; metres"})
            self._every["trajectories"] = steps
            gas = model.core.decisions.gas
            self.gas = GasWriter(self.staging / GAS, {
                "every_s": steps * model.dt, "shape": list(gas.conc.shape), "factor": gas.factor,
                "cell_m": gas.h, "visible": model.spec.tear_gas.flee_concentration * VISIBLE_SHARE,
                "origin": "cell = x * shape[1] + y on the gas grid: x east, y north from the map grid's "
                          "south-west corner, factor map cells per side"})
        if harm_cell_m is not None:
            steps = max(1, int(round(HARM_EVERY_S / model.dt)))
            self.harm = HarmCells(model.gridmap.size_m, harm_cell_m, every_s=steps * model.dt)
            self._every["harm"] = steps
        self(model)

    def __call__(self, model) -> None:
        done = model.steps_done
        due = {name for name, steps in self._every.items() if done % steps == 0}
        if not due:
            return
        frame = self.frames.take()
        if "trajectories" in due:
            frame_no = done // self._every["trajectories"]
            self.writer.add(model.time_s, frame_no, *frame)
            self.gas.add(model.time_s, frame_no, model.core.decisions.gas.conc)
        if "harm" in due:
            self.harm.add(*frame)

    def finish(self) -> dict[str, Path]:
        """Close the files; returns {file name in the run folder: where it is now}. Called again (a
        complete folder that could not be written, then the partial one), the same files."""
        if self._done is not None:
            return {name: path for name, path in self._done.items() if path.exists()}
        out = {}
        if self.writer is not None:
            out[TRAJECTORIES] = self.writer.close()
            out[GAS] = self.gas.close()
        if self.harm is not None:
            table = pa.Table.from_pandas(self.harm.frame(), preserve_index=False)
            meta = {**(table.schema.metadata or {}), b"protest_sim": json.dumps(self.harm.meta()).encode()}
            pq.write_table(table.replace_schema_metadata(meta), self.staging / HARM_CELLS)
            out[HARM_CELLS] = self.staging / HARM_CELLS
        self._done = out
        return dict(out)


def recorder_for(model, staging: Path) -> Recorder | None:
    """The recorder the scenario's ``[output]`` asks for, attached to ``model``; None if it asks for none."""
    out = model.spec.output
    if not out.trajectories and not out.harm_cells:
        return None
    rec = Recorder(model, staging, trajectories_every_s=out.trajectories_every_s,
                   harm_cell_m=out.harm_cell_m if out.harm_cells else None)
    model.observers.append(rec)
    return rec
