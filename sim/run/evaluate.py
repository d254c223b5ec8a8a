"""Evaluations: runs of one base scenario at chosen parameter values, on the batch engine.

Each evaluation is a batch run (``sim.run.batch``): an id derived from its content (the base
scenario, the values, the seed, the length and the engine), its own folder ``runs/<id>``
written atomically, executed on the same process pool or dask.distributed cluster, its metrics
computed in the worker that ran it. ``evaluations.parquet`` (rewritten atomically as results
come) keeps one row per evaluation with its values and metrics. Asking again for an evaluation
that is done returns it from there (or, for a run that finished after the table was last
written, from its folder): so a sensitivity analysis or a calibration killed at any moment and
started again repeats no run and loses none but those that were running.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

from ..atomic import clean_stale_temps, write_file
from .batch import drive, execute, read_done
from .executors import make_backend
from .metrics import values
from .sweep import RunSpec

TABLE = "evaluations.parquet"


class Evaluator:
    """Runs ``design``'s scenario at parameter values and returns ``metrics`` (``Metric``s) for each."""

    def __init__(self, design, metrics, out: Path, *, workers: int | None = None, scheduler: str | None = None,
                 executor=None, progress: bool = True):
        self.design, self.metrics, self.out = design, tuple(metrics), Path(out)
        self.runs_dir = self.out / "runs"
        self.names = [m.name for m in self.metrics]
        self.workers, self.scheduler, self.executor, self.progress = workers, scheduler, executor, progress
        self.backend = None
        self.description = "nothing run"
        self.rows: dict[str, dict] = {}  # run id -> row of evaluations.parquet
        self.executed = self.reused = self.read_from_folders = 0
        self.task_seconds = 0.0
        self._fingerprint = design.fingerprint()
        self._last_write = 0.0
        self._round: dict[str, dict] = {}
        self._load()

    # --- the table ----------------------------------------------------------------------------
    def _load(self) -> None:
        import pandas as pd

        try:
            df = pd.read_parquet(self.out / TABLE)
        except (OSError, ValueError):
            return
        if not set(self.names) <= set(df.columns):
            return
        for row in df.to_dict("records"):
            if row.get("status") in ("complete", "failed") and (self.runs_dir / row["run_id"]).is_dir():
                self.rows[row["run_id"]] = row

    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows.values()))

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < 2.0:
            return
        self._last_write = now
        df = self.frame()
        self.out.mkdir(parents=True, exist_ok=True)
        write_file(self.out / TABLE, lambda fh: df.to_parquet(fh, index=False), sync=False)

    # --- what drive() calls -----------------------------------------------------------------------
    def set(self, spec: RunSpec, status: str, summary: dict | None, found: dict | None = None) -> None:
        row = {"run_id": spec.run_id, "seed": spec.seed, "replicate": spec.replicate, **spec.params,
               "status": status, "error": (summary or {}).get("error") if status == "failed" else None}
        if status == "complete" and not found:
            found = values(self.metrics, summary, self.runs_dir / spec.run_id)
        for name in self.names:
            row[name] = float((found or {}).get(name, math.nan)) if status == "complete" else math.nan
        self.rows[spec.run_id] = row
        self._round[spec.run_id] = row

    def counts(self) -> dict:
        out = {"complete": 0, "failed": 0, "pending": 0}
        for row in self._round.values():
            out[row["status"]] += 1
        return out

    # --- evaluating -------------------------------------------------------------------------------
    def spec(self, params: dict, seed: int, replicate: int = 0) -> RunSpec:
        """The run of ``params`` with ``seed``: its id from its content only."""
        ident = json.dumps({"scenario": self._fingerprint, "params": params, "seed": seed,
                            "duration_s": self.design.run_duration, "engine": self.design.engine}, sort_keys=True)
        run_id = hashlib.sha256(ident.encode()).hexdigest()[:12]
        return RunSpec(run_id=run_id, point=0, replicate=replicate, seed=seed, params=params, scenario=None)

    def evaluate(self, specs: list[RunSpec], desc: str) -> list[dict]:
        """The metrics of every run in ``specs`` (in order; NaN for a failed run), running those not done."""
        todo, seen = [], set()
        self._round = {}
        for spec in specs:
            if spec.run_id in seen:
                continue
            seen.add(spec.run_id)
            if spec.run_id in self.rows:
                self._round[spec.run_id] = self.rows[spec.run_id]
                self.reused += 1
                continue
            status, summary = read_done(self.runs_dir / spec.run_id)
            if status == "pending":
                todo.append(spec)
            else:  # finished after the table was last written (a kill): read once, here
                self.set(spec, status, summary)
                self.read_from_folders += 1
        for spec in todo:
            self._round[spec.run_id] = {"status": "pending"}
        if todo:
            if self.backend is None:
                self.backend = make_backend(workers=self.workers, scheduler=self.scheduler) if self.executor is None \
                    else _Borrowed(self.executor)
                self.description = self.backend.description
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            stats = {"executed": 0, "task_seconds": 0.0, "first_task_start": None, "last_result": None, "tasks": []}
            drive(desc, self.backend, [self._with_scenario(s) for s in todo], self, self._task, self.runs_dir, stats,
                  self.progress, len(seen) - len(todo), len(seen), fn=execute)
            self.executed += stats["executed"]
            self.task_seconds += stats["task_seconds"]
            clean_stale_temps(self.runs_dir)  # what writers of a killed session left, now that they are gone
        self.write(force=True)
        return [self.rows[s.run_id] for s in specs]

    def _with_scenario(self, spec: RunSpec) -> RunSpec:
        return RunSpec(run_id=spec.run_id, point=spec.point, replicate=spec.replicate, seed=spec.seed,
                       params=spec.params, scenario=self.design.scenario_at(spec.params))

    def _task(self, spec: RunSpec) -> dict:
        return {"run_id": spec.run_id, "scenario": spec.scenario, "seed": spec.seed,
                "duration_s": self.design.duration_s, "engine": self.design.engine,
                "run_dir": str(self.runs_dir / spec.run_id), "threads": 1, "metrics": self.metrics}

    def session(self) -> dict:
        """What this session did: for the output's JSON, and for tests counting evaluations."""
        return {"executor": self.description, "executed": self.executed, "reused": self.reused,
                "read_from_folders": self.read_from_folders, "task_seconds": round(self.task_seconds, 3)}

    def close(self, *, kill: bool = False) -> None:
        if self.backend is not None:
            self.backend.kill() if kill else self.backend.close()
            self.backend = None


class _Borrowed:
    """An executor the caller owns (tests: a thread pool): used, never shut down."""

    def __init__(self, executor):
        self.executor = executor
        self.description = type(executor).__name__
        self.workers = getattr(executor, "_max_workers", 1) or 1

    def remake(self) -> bool:
        return False

    def kill(self) -> None:
        pass

    def close(self) -> None:
        pass
