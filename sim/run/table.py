"""``runs.parquet``: one row per run of a batch, kept in plan order, rewritten atomically as runs finish."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..atomic import write_file
from .metrics import parse_metrics, values
from .sweep import RunSpec, Sweep

STATUSES = ("complete", "failed", "pending")


class RunTable:
    """Rows of runs.parquet, kept in plan order; written atomically, at most every ``every`` seconds."""

    def __init__(self, sweep: Sweep, plan: list[RunSpec], out: Path, every: float = 2.0):
        self.sweep, self.plan, self.out, self.every = sweep, plan, out, every
        self.specs = sweep.metric_specs or parse_metrics(list(sweep.metrics), sweep.kind)
        self._previous: dict[str, dict] = {}
        self.rows = {spec.run_id: self._row(spec, "pending", None) for spec in plan}
        self._last = 0.0

    def load_previous(self) -> None:
        """Metric values of the complete runs in an earlier ``runs.parquet`` (a resumed batch), so
        their time series need not be read again."""
        import pandas as pd

        try:
            df = pd.read_parquet(self.out / "runs.parquet")
        except (OSError, ValueError):
            return
        names = [m.name for m in self.specs]
        if not set(names) <= set(df.columns) or "run_id" not in df.columns:
            return
        done = df[df["status"].astype(str) == "complete"]
        self._previous = {rid: dict(zip(names, vals)) for rid, *vals in
                          done[["run_id", *names]].itertuples(index=False, name=None)}

    def _values(self, spec: RunSpec, summary: dict) -> dict:
        """A complete run's metric values: from its summary, an earlier table, or (last resort) its files."""
        if not any(m.needs_timeseries for m in self.specs):
            return values(self.specs, summary)
        if spec.run_id in self._previous:
            return self._previous[spec.run_id]
        return values(self.specs, summary, self.out / "runs" / spec.run_id)

    def _row(self, spec: RunSpec, status: str, summary: dict | None, found: dict | None = None) -> dict:
        row = {"run_id": spec.run_id, "point": spec.point, "replicate": spec.replicate, "seed": spec.seed}
        row.update(spec.params)
        row["status"] = status
        row["error"] = (summary or {}).get("error") if status == "failed" else None
        wall = (summary or {}).get("wall_seconds")
        row["wall_seconds"] = float(wall) if isinstance(wall, (int, float)) else math.nan
        if status == "complete":
            found = found if found else self._values(spec, summary)
        for m in self.sweep.metrics:
            row[m] = float(found.get(m, math.nan)) if status == "complete" else math.nan
        row["run_dir"] = f"runs/{spec.run_id}"
        return row

    def set(self, spec: RunSpec, status: str, summary: dict | None, found: dict | None = None) -> None:
        """Record a run; ``found``: its metric values, computed where it ran (else from its summary)."""
        self.rows[spec.run_id] = self._row(spec, status, summary, found)

    def counts(self) -> dict:
        out = dict.fromkeys(STATUSES, 0)
        for row in self.rows.values():
            out[row["status"]] += 1
        return out

    def frame(self):
        import pandas as pd

        df = pd.DataFrame([self.rows[s.run_id] for s in self.plan])
        df["status"] = pd.Categorical(df["status"], categories=list(STATUSES))
        try:  # one dtype whether or not any run failed
            df["error"] = df["error"].astype(pd.StringDtype(na_value=np.nan))
        except TypeError:  # pandas < 2.3
            df["error"] = df["error"].astype("string")
        return df

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        df = self.frame()
        write_file(self.out / "runs.parquet", lambda fh: df.to_parquet(fh, index=False), sync=False)
