"""A recorded run, read for the browser view: ``trajectories.parquet`` frame by frame, the time series and
the events, each as of any moment, without recomputing anything.

Frames come from the trajectory file's row groups (a million rows each, in frame order): the group
holding a frame is found from the file's statistics, read once and kept (the last few), so scrubbing
back and forth costs a slice, not a read. ``RunRecording.at(t)`` gives a :class:`RecordedState`, a
stand-in for :class:`~sim.protest.model.ProtestModel` with what ``sim.viz.frame`` and the page read
(``arrays``, ``policing``, ``core.decisions.gas``, ``side_counts()``, ``datacollector``, ``events_log``).
The tear-gas cloud comes from ``gas.parquet`` at the same frames (the cells the picture draws); a run
folder recorded before it was written has none, and its replay draws no cloud (``has_gas`` False).

Nothing here imports solara.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..core.walk.state import POLICE, PROTESTER, QUIET
from ..errors import ScenarioError
from ..results import is_run_folder
from ..protest.clock import seconds_to_clock
from ..traj.file import FILE, KINDS, STATES, read_meta
from ..traj.gas import FILE as GAS_FILE, GasStore

MARKER_KINDS = ("event", "trigger", "pursuit", "first_force", "gate")  # the rows the live Events card lists
GROUPS_KEPT = 3
_VEHICLE = KINDS.index("vehicle")
_ON_DUTY = STATES.index("on_duty")
_INJURED = STATES.index("injured")


def _codes(column, names: tuple[str, ...]) -> np.ndarray:
    """int8 codes into ``names`` of a dictionary-encoded pyarrow column (whatever dictionary it was read with)."""
    out = []
    for chunk in column.chunks:
        table = np.array([names.index(v) for v in chunk.dictionary.to_pylist()] + [-1], dtype=np.int8)
        idx = chunk.indices.to_numpy(zero_copy_only=False)
        mask = chunk.is_null().to_numpy(zero_copy_only=False)
        out.append(np.where(mask, -1, table[np.where(mask, 0, idx)]))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int8)


class FrameStore:
    """Rows of one frame of a trajectory file: ids, kind and state codes, cell indices."""

    def __init__(self, path: Path, cell_size: float):
        self.path = Path(path)
        self.cell = float(cell_size)
        self.file = pq.ParquetFile(self.path)
        meta = self.file.metadata
        col = meta.schema.names.index("frame")
        self.bounds = []  # (first frame, last frame) of each row group
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(col).statistics
            self.bounds.append((int(stats.min), int(stats.max)))
        self.last_frame = max((hi for _, hi in self.bounds), default=0)
        self._groups: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()

    def _group(self, g: int) -> dict:
        with self._lock:
            if g in self._groups:
                self._groups.move_to_end(g)
                return self._groups[g]
            t = self.file.read_row_group(g, columns=["frame", "id", "kind", "x_m", "y_m", "state"])
            frame = t.column("frame").to_numpy()
            order = np.argsort(frame, kind="stable")  # written in frame order; sorting costs nothing then
            data = {"frame": frame[order], "id": t.column("id").to_numpy()[order],
                    "kind": _codes(t.column("kind"), KINDS)[order], "state": _codes(t.column("state"), STATES)[order],
                    # metres at cell centres back to cell indices
                    "x": np.floor(t.column("x_m").to_numpy()[order] / self.cell).astype(np.int32),
                    "y": np.floor(t.column("y_m").to_numpy()[order] / self.cell).astype(np.int32)}
            self._groups[g] = data
            while len(self._groups) > GROUPS_KEPT:
                self._groups.popitem(last=False)
            return data

    def frame(self, f: int) -> dict[str, np.ndarray]:
        parts = []
        for g, (lo, hi) in enumerate(self.bounds):
            if lo <= f <= hi:
                d = self._group(g)
                a, b = np.searchsorted(d["frame"], [f, f + 1])
                parts.append({k: v[a:b] for k, v in d.items()})
        if not parts:
            return {k: np.zeros(0, dtype=np.int32) for k in ("frame", "id", "kind", "state", "x", "y")}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@dataclass
class _Arrays:
    """The columns of ``AgentArrays`` a picture needs: cell indices (-1 off the map), kind and state codes."""

    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    state: np.ndarray


@dataclass
class _Gas:
    grams: float
    conc: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), dtype=np.float32))
    factor: int = 1

    def mass(self) -> float:
        return self.grams


class _Policing:
    def __init__(self, trucks: np.ndarray, uses: dict):
        self._trucks, self.uses = trucks, uses

    def trucks(self) -> np.ndarray:
        return self._trucks


class _Core:
    def __init__(self, gas: _Gas):
        self.decisions = type("Decisions", (), {"gas": gas})()


class _Rows:
    """``Ledger.all_rows`` of a recording: the rows of its events.csv up to a time."""

    def __init__(self, rows: list):
        self.rows = rows

    def all_rows(self, _log) -> list:
        return self.rows


class _Collector:
    def __init__(self, model_vars: dict):
        self.model_vars = model_vars


@dataclass
class RecordedState:
    """A recorded run at one moment, read like a ``ProtestModel`` by the picture and the cards."""

    spec: object
    gridmap: object
    seed: int
    dt: float
    duration_s: float
    time_s: float
    running: bool
    arrays: _Arrays
    policing: _Policing
    core: _Core
    datacollector: _Collector
    events_log: list
    counts: dict

    ledger: object = None  # all_rows(log): events.csv's rows up to now, for the page's export

    @property
    def clock(self) -> str:
        return seconds_to_clock(self.spec.start_clock_s + self.time_s)

    def side_counts(self) -> dict:
        return self.counts

    def timeseries(self) -> pd.DataFrame:
        """The time series' rows up to now, as ``ProtestModel.timeseries``."""
        return pd.DataFrame(self.datacollector.model_vars)


def check_run_folder(path) -> dict:
    """The summary of a run folder that can be replayed; else a one-line :class:`ScenarioError` saying why."""
    import json

    path = Path(path)
    if not path.is_dir():
        raise ScenarioError(f"{path}: no such folder (give a scenario file or a run folder of protest-sim run)")
    if not is_run_folder(path):
        raise ScenarioError(f"{path} is not a run folder of protest-sim (it has no summary.json saying so)")
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    if summary.get("status") == "failed" or not (path / "scenario.toml").is_file():
        raise ScenarioError(f"{path} is the folder of a run that failed: nothing to replay")
    if summary.get("model", "protest") != "protest":
        raise ScenarioError(f"{path} is not a protest run: only protest runs can be replayed")
    if not (path / FILE).is_file():
        raise ScenarioError(f"{path} has no {FILE}, so it cannot be replayed: record the run with "
                            "protest-sim run SCENARIO --trajectories")
    return summary


class RunRecording:
    """A run folder with trajectories, ready to show at any time ``t`` (seconds since the scenario's start)."""

    def __init__(self, path):
        path = Path(path)
        self.path, self.summary = path, check_run_folder(path)
        from ..geo.loader import load_map
        from ..kinds import load_scenario
        from ..protest.model import ProtestModel

        self.spec = load_scenario(path / "scenario.toml")
        # the map as the live model has it: a [gate]'s cells walls (the live picture draws them so all run)
        self.gridmap = ProtestModel.close_gate(load_map(self.spec.map), self.spec)
        meta = read_meta(path / FILE)
        self.every_s = float(meta["every_s"])
        self.frames = FrameStore(path / FILE, float(meta.get("cell_size", self.gridmap.cell_size)))
        self.end_s = self.frames.last_frame * self.every_s  # the last recorded moment
        ts = pd.read_parquet(path / "timeseries.parquet")
        self.series = {c: ts[c].to_numpy() for c in ts.columns}
        self.series_t = np.asarray(ts["time_s"], dtype=float)
        ev = pd.read_csv(path / "events.csv")
        text = [c for c in ev.columns if ev[c].dtype == object]
        ev[text] = ev[text].fillna("")
        self.events = ev
        self.event_t = pd.to_numeric(ev["time_s"]).to_numpy(dtype=float)
        self.rows = ev.to_dict("records")
        self.markers = [r for r in self.rows if r["kind"] in MARKER_KINDS]
        self.gas = GasStore(path / GAS_FILE) if (path / GAS_FILE).is_file() else None
        first = self.frames.frame(0)
        self.trucks = np.sort(first["id"][first["kind"] == _VEHICLE])
        self.size = int(max(self.frames.frame(0)["id"].max(initial=-1), self.trucks.max(initial=-1)) + 1)

    @property
    def has_gas(self) -> bool:
        """Whether the tear-gas cloud was recorded (``gas.parquet``; folders written before it lack it)."""
        return self.gas is not None

    @property
    def gas_note(self) -> str:
        """What the page says of the cloud: empty when it was recorded."""
        if self.has_gas:
            return ""
        return (f"this folder has no {GAS_FILE} (recorded before the cloud was), so the tear-gas cloud is not "
                "drawn (its mass is in the Events card)")

    @property
    def seed(self) -> int:
        return int(self.summary.get("seed", self.spec.seed))

    def frame_of(self, t: float) -> int:
        """The last recorded frame at or before ``t``."""
        return int(np.clip(np.floor(t / self.every_s + 1e-6), 0, self.frames.last_frame))

    def at(self, t: float) -> RecordedState:
        f = self.frame_of(t)
        t = f * self.every_s
        rows = self.frames.frame(f)
        n = max(self.size, int(rows["id"].max(initial=-1)) + 1)
        x = np.full(n, -1, dtype=np.int32)
        y = np.full(n, -1, dtype=np.int32)
        kind = np.zeros(n, dtype=np.int8)
        state = np.zeros(n, dtype=np.int8)
        ids = rows["id"]
        x[ids], y[ids] = rows["x"], rows["y"]
        kind[ids] = np.where(rows["kind"] == PROTESTER, PROTESTER, POLICE)
        state[ids] = np.where(rows["state"] == _ON_DUTY, QUIET, rows["state"])  # the model's codes 0-3 are the file's
        kind[self.trucks[self.trucks < n]] = POLICE
        k = int(np.searchsorted(self.series_t, t + 1e-6))  # rows at or before t
        series = {c: v[:k] for c, v in self.series.items()}
        last = {c: (v[k - 1] if k else 0) for c, v in self.series.items()}
        # rows stamped t come from the step that starts at t: the live model logs them after this frame
        e = int(np.searchsorted(self.event_t, t - 1e-6, side="right"))
        return RecordedState(
            spec=self.spec, gridmap=self.gridmap, seed=self.seed, dt=float(self.spec.dt),
            duration_s=float(self.spec.duration_s), time_s=t, running=f < self.frames.last_frame,
            arrays=_Arrays(x, y, kind, state), policing=_Policing(self.trucks, self._uses(e)),
            core=_Core(self._gas(f, float(last.get("gas_grams", 0.0)))), datacollector=_Collector(series),
            events_log=[m for m in self.markers if float(m["time_s"]) < t - 1e-6],
            counts=self._counts(rows, last), ledger=_Rows(self.rows[:e]))

    def _gas(self, f: int, grams: float) -> _Gas:
        """The cloud at frame ``f`` as drawn (none without ``gas.parquet``); its grams from the time series."""
        if self.gas is None:
            return _Gas(grams)
        return _Gas(grams, self.gas.grid(f), self.gas.factor)

    def _uses(self, e: int) -> dict:
        """Uses of force up to the ``e``-th event row: canisters, grenades, seconds of water jet."""
        force = self.events.iloc[:e]
        force = force[force["kind"] == "force"]
        means = force["means"] if "means" in force else pd.Series([], dtype=str)
        count = pd.to_numeric(force.get("count", pd.Series([], dtype=float)), errors="coerce").fillna(1)
        jet = pd.to_numeric(force.get("duration_s", pd.Series([], dtype=float)), errors="coerce").fillna(0)
        return {"tear_gas": int(count[means == "tear_gas"].sum()), "stun_grenades": int(count[means == "stun_grenades"].sum()),
                "water_cannon": float(jet[means == "water_cannon"].sum())}

    @staticmethod
    def _counts(rows: dict, last: dict) -> dict:
        """On the map from the frame; arrested and gone from the time series' last row (they have no rows)."""
        prot = rows["kind"] == PROTESTER
        by_state = np.bincount(rows["state"][prot].astype(np.intp), minlength=len(STATES))
        protesters = {s: int(by_state[i]) for i, s in enumerate(STATES[:4])}
        protesters["arrested"] = int(last.get("protesters_arrested", 0))
        protesters["left"] = int(last.get("protesters_left", 0))
        police_states = rows["state"][~prot]
        police = {"on_duty": int((police_states != _INJURED).sum()), "injured": int((police_states == _INJURED).sum()),
                  "left": int(last.get("police_left", 0))}
        return {"protesters": protesters, "police": police}
