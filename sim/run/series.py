"""Metrics of a run's time series (``timeseries.parquet``): a column at a time, its peak, and the
time a place is cleared. Column names are whatever the run recorded (``probe_columns`` learns
them from a one-step run of the scenario), so renamed columns need no change here.

Times are offsets from the run's start in the kind's unit: the ``time_s`` column (seconds) of
protest runs, ``step`` of step-counted kinds.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

TIME_COLUMNS = ("time_s", "step", "steps", "time")
CLEARED_SHARE = 0.1  # a place is cleared when it holds at most this share of the people it held at first force
CLEARED_HOLD_S = 300.0  # ... and keeps at most that many for this long (or to the end of the run)


def time_column(frame) -> np.ndarray:
    """Each row's offset from the start (the first time column the run has; else the row number)."""
    for name in TIME_COLUMNS:
        if name in frame.columns:
            return frame[name].to_numpy(dtype=float)
    return np.arange(len(frame), dtype=float)


def value_at(frame, column: str, at: float) -> float:
    """``column`` in the last row recorded at or before ``at``; NaN if the run ended before ``at``
    by more than one recording interval, or has no such column."""
    if column not in frame.columns:
        return math.nan
    t = time_column(frame)
    k = int(np.searchsorted(t, at + 1e-9, side="right")) - 1
    if k < 0:
        return math.nan
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    if at > t[-1] + step + 1e-9:
        return math.nan
    return float(frame[column].iloc[k])


def statistic(frame, column: str, stat: str) -> float:
    """``max``, ``min``, ``mean``, ``final`` of ``column``, or ``time_of_max``: the offset of its first maximum."""
    if column not in frame.columns:
        return math.nan
    v = frame[column].to_numpy(dtype=float)
    if v.size == 0 or not np.isfinite(v).any():
        return math.nan
    if stat == "time_of_max":
        return float(time_column(frame)[int(np.nanargmax(v))])
    if stat == "final":
        return float(v[-1])
    return float({"max": np.nanmax, "min": np.nanmin, "mean": np.nanmean}[stat](v))


def place_column(columns, place: str) -> str | None:
    """The column counting protesters in ``place`` (``protesters_in_X``), else the first counting
    anyone in it (``*_in_X``), else None."""
    columns = [c for c in columns if isinstance(c, str)]
    if f"protesters_in_{place}" in columns:
        return f"protesters_in_{place}"
    return next((c for c in columns if c.endswith(f"_in_{place}")), None)


def cleared_at(frame, place: str, summary: dict) -> float:
    """When ``place`` was cleared, in seconds (steps) after the start.

    Definition: the first recorded time at or after the first use of force (the summary's
    ``first_force_s``; the start if the kind has none) at which the place holds at most
    ``CLEARED_SHARE`` (10%) of the people it held when force was first used, and keeps holding
    at most that many for ``CLEARED_HOLD_S`` (5 minutes) or to the end of the run. A place that
    is never cleared (or no force used) counts as cleared at the end of the run: the value is
    censored there, so it is always a number and sensitivity indices can be computed.
    """
    column = place_column(frame.columns, place)
    t = time_column(frame)
    end = float(t[-1]) if t.size else math.nan
    if column is None or t.size == 0:
        return math.nan
    first = summary.get("first_force_s", 0.0) if "first_force_s" in summary else 0.0
    if first is None:
        return end
    v = frame[column].to_numpy(dtype=float)
    k0 = max(int(np.searchsorted(t, float(first) + 1e-9, side="right")) - 1, 0)
    limit = CLEARED_SHARE * v[k0]
    low = v <= limit
    for k in range(k0, t.size):
        if not low[k]:
            continue
        window = (t >= t[k]) & (t <= t[k] + CLEARED_HOLD_S)
        if low[window].all():
            return float(t[k])
    return end


def probe_columns(scenario, kind) -> list[str]:
    """The time-series columns runs of ``scenario`` record, from a run of one time unit (a second or a
    step) into a temporary folder: the runs themselves say what they record."""
    from .runner import run_to_folder

    tmp = Path(tempfile.mkdtemp(prefix="protest-sim-probe-"))
    try:
        run_to_folder(scenario, duration_s=1.0, out=tmp / "run", progress=False)
        import pyarrow.parquet as pq

        return list(pq.read_schema(tmp / "run" / "timeseries.parquet").names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
