"""Batches: every (point, replicate) of a sweep (``sim.run.sweep``) run on any executor, resumable.

``run_batch`` runs them on a ``concurrent.futures`` executor (``sim.run.executors``): a process
pool by default, a dask.distributed cluster on request. Each run writes its own folder atomically
under ``<out>/runs/<run id>``; those folders are the source of truth, so a batch killed at any
moment is completed by running it again, and ids and seeds derive from each run's content, so
results do not depend on the number of workers or on where they ran. ``<out>/runs.parquet`` has
one row per run, ``batch.json`` the batch's description and ``figures/`` each metric against each
parameter.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import time
import traceback
from pathlib import Path


from ..atomic import clean_stale_temps, new_temp_folder, publish_folder, write_json, write_text
from ..errors import ScenarioError
from .executors import Backend, limit_threads, local_scheduler, make_backend
from .metrics import values
from .sweep import RunSpec, Sweep, load_sweep
from .table import RunTable

SCHEDULER_ENV = "PROTEST_SIM_SCHEDULER"  # a dask scheduler address chosen by the person running the batch
_MAX_RESTARTS = 20  # of a broken process pool, per batch


# --- running one -------------------------------------------------------------------------------------
def _write_failed(run_dir: Path, record: dict) -> None:
    """A failed run's folder: just summary.json with status "failed", written atomically."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_folder(run_dir)
    try:
        write_json(tmp / "summary.json", {**record, "status": "failed"})
        publish_folder(tmp, run_dir, replace=True)  # its own folder: at most an earlier try of this run
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def execute(task: dict) -> dict:
    """Run one batch run in whatever process the executor chose; never raises for a failing run.

    ``task`` holds ``run_id, scenario, seed, duration_s, engine, run_dir, threads`` and
    ``metrics`` (``sim.run.metrics.Metric``s to compute from the run's files). Returns the run's
    status, its summary (if complete) or its error, the metrics' values, and timings.
    """
    started = time.time()
    t0 = time.perf_counter()
    run_dir = Path(task["run_dir"])
    try:
        limit_threads(task.get("threads", 1))
        from .runner import run_to_folder

        summary = run_to_folder(task["scenario"], seed=task["seed"], duration_s=task["duration_s"],
                                engine=task["engine"], out=run_dir, progress=False,
                                force=True).summary  # its own folder: at most a failed earlier try
        found = values(task.get("metrics", ()), summary, run_dir)  # here, where the run's files are
        status, error = "complete", None
        shutil.rmtree(run_dir.with_name(run_dir.name + ".partial"), ignore_errors=True)  # of an earlier failure
    except Exception as err:  # noqa: BLE001 - a failing run is recorded, not fatal; Ctrl-C still propagates
        error = f"{type(err).__name__}: {err}"
        summary = {"run_id": task["run_id"], "seed": task["seed"], "error": error,
                   "traceback": traceback.format_exc(), "wall_seconds": time.perf_counter() - t0}
        _write_failed(run_dir, summary)
        status, found = "failed", {}
    return {"run_id": task["run_id"], "status": status, "error": error, "summary": summary, "values": found,
            "task_seconds": time.perf_counter() - t0, "started": started, "finished": time.time(),
            "pid": os.getpid()}


def default_out(sweep: Sweep) -> Path:
    return Path("results") / "batches" / Path(sweep.source).stem


def check_batch_out(out: Path) -> Path:
    """The batch folder, absolute; refuses one that holds anything but a batch (its files would be
    overwritten: scenario.toml, runs.parquet, figures...)."""
    if str(out) == "" or out.name in ("", ".", ".."):
        raise ScenarioError(f"{str(out)!r} is not a folder name for a batch; give a new folder, e.g. --out "
                            "results/batches/mine")
    if os.path.lexists(out):
        if out.is_symlink() or not out.is_dir():
            raise ScenarioError(f"{out} exists and is not a folder; choose another --out")
        if any(out.iterdir()) and not (out / "batch.json").is_file():
            raise ScenarioError(f"{out} holds files that are not a batch of protest-sim; choose another --out")
    return out.resolve()


def read_done(run_dir: Path) -> tuple[str, dict | None]:
    """"complete", "failed" or "pending" for a run folder, with its summary."""
    from ..results import is_complete_run

    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        return "pending", None
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "pending", None
    if is_complete_run(run_dir):
        return "complete", summary
    if summary.get("status") == "failed":
        return "failed", summary
    return "pending", None


def run_batch(sweep_path, *, workers: int | None = None, scheduler: str | None = None, out=None,
              progress: bool = True, retry_failed: bool = False, executor: cf.Executor | None = None,
              figures: bool = True, scheduler_from_file: bool = False) -> Path:
    """Run (or complete) a sweep; returns the batch folder.

    ``workers``: processes (default: the sweep's ``[batch] workers``, else one per CPU).
    ``scheduler``: a dask.distributed address (``tcp://host:8786``; ``local`` or ``local:N``
    starts a local cluster); default ``$PROTEST_SIM_SCHEDULER``, else the sweep's ``[batch]
    scheduler`` if it starts a local cluster (a remote address from the file only with
    ``scheduler_from_file``: a shared sweep file must not point this machine at a host its
    user does not control); None (or ``"processes"``) runs on a process pool.
    ``executor``: any ``concurrent.futures.Executor`` to use instead (left open).
    Runs whose folders are already complete (or failed, unless ``retry_failed``) are not run again.
    """
    sweep = sweep_path if isinstance(sweep_path, Sweep) else load_sweep(sweep_path)
    out = check_batch_out(Path(out) if out is not None else default_out(sweep))
    runs_dir = out / "runs"
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None and sweep.scheduler and (scheduler_from_file or local_scheduler(sweep.scheduler)):
        scheduler = sweep.scheduler
    t_start = time.perf_counter()
    t_start_epoch = time.time()
    started_utc = _utc()

    plan = sweep.plan()
    table = RunTable(sweep, plan, out)
    table.load_previous()  # metric values of runs done before: their folders need not be read again
    todo = []
    for spec in plan:  # the run folders say what is done
        status, summary = read_done(runs_dir / spec.run_id)
        if status == "failed" and retry_failed:
            status = "pending"
        if status == "pending":
            todo.append(spec)
        else:
            table.set(spec, status, summary)
    done_before = len(plan) - len(todo)
    # rep 0 of every point first: a rough picture of the whole sweep comes early
    todo.sort(key=lambda s: (s.replicate, s.point))

    if executor is not None:
        backend = Backend(executor, f"{type(executor).__name__}", getattr(executor, "_max_workers", 1) or 1,
                          owned=False)
    elif todo:  # before writing anything: an unreachable scheduler is a user mistake
        backend = make_backend(workers=workers or sweep.workers, scheduler=scheduler)
    else:
        backend = None
    session = {"executor": backend.description if backend else None, "workers": backend.workers if backend else 0,
               "started_utc": started_utc, "already_done": done_before, "to_run": len(todo)}
    stats = {"executed": 0, "task_seconds": 0.0, "first_task_start": None, "last_result": None, "tasks": []}
    finished = interrupted = False
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        # markers a killed batch left: of runs it left running, and of runs whose folder was complete
        # before the kill reached the marker's removal
        for spec in plan:
            _marker(runs_dir / spec.run_id).unlink(missing_ok=True)
        _write_provenance(sweep, out)
        _write_batch_json(sweep, out, table, session, status="running")
        table.write(force=True)
        if todo:
            drive(sweep.name, backend, todo, table, lambda spec: _task(sweep, spec, runs_dir), runs_dir, stats,
                  progress, done_before, len(plan), fn=execute)
        for folder in (runs_dir, out):  # what writers of a killed batch left, now that they are gone
            clean_stale_temps(folder)
        finished = True
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if backend is not None:
            if finished:
                backend.close()
            else:  # Ctrl-C or a bug: stop the workers now rather than wait for their runs
                backend.kill()
        t_end = time.perf_counter()
        session.update(wall_seconds=t_end - t_start, finished_utc=_utc(), executed=stats["executed"],
                       task_seconds=stats["task_seconds"])
        if stats["first_task_start"] is not None:
            session["first_task_started_after_s"] = stats["first_task_start"] - t_start_epoch
            session["last_result_after_s"] = stats["last_result"] - t_start_epoch
            # [worker pid, started (s after the batch started), seconds inside the run], for this session's runs
            session["tasks"] = [[pid, round(at - t_start_epoch, 3), round(sec, 3)] for pid, at, sec in stats["tasks"]]
        if out.exists():
            table.write(force=True)
            counts = table.counts()
            status = ("interrupted" if interrupted else "complete" if counts["complete"] == len(plan) else
                      "complete_with_failures" if counts["pending"] == 0 else "incomplete")
            if figures and finished:
                try:
                    from .batch_plots import plot_batch

                    drawn = plot_batch(table.frame(), sweep, out / "figures")
                    session["figures"] = [str(p.relative_to(out)) for p in drawn]
                except Exception as err:  # noqa: BLE001 - the table matters more than its pictures
                    session["figures_error"] = f"{type(err).__name__}: {err}"
            _write_batch_json(sweep, out, table, session, status=status)
    return out


def drive(name, backend, todo, table, make_task, runs_dir, stats, progress, done_before, total, *,
          fn=execute) -> None:
    """Submit the runs (``make_task(spec)``: the task ``fn`` runs), collect results into ``table`` as
    they come (its ``set``, ``counts`` and ``write``); survive worker processes dying.

    When a process-pool worker dies (a segfault, the OOM killer), the pool breaks and every
    unfinished run comes back with BrokenProcessPool. Those that were running (their marker
    file survived) become suspects and are run again one at a time on a fresh pool: a suspect
    that kills its worker while running alone is recorded as failed; the others go on as usual.
    """
    from concurrent.futures.process import BrokenProcessPool

    from tqdm import tqdm

    restarts = 0
    queue, suspects = list(todo), []
    with tqdm(total=total, initial=done_before, disable=not progress, unit="run", desc=name,
              dynamic_ncols=True, smoothing=0.1) as bar:
        def postfix():
            c = table.counts()
            bar.set_postfix_str(f"done={c['complete']} failed={c['failed']} remaining={c['pending']}", refresh=False)

        def fail(spec, msg, err=None):
            record = {"run_id": spec.run_id, "seed": spec.seed, "error": msg,
                      "traceback": "".join(traceback.format_exception(err)) if err else None}
            _write_failed(runs_dir / spec.run_id, record)
            table.set(spec, "failed", record)

        postfix()
        while queue or suspects:
            solo = bool(suspects)
            if solo:
                batch = [suspects.pop(0)]
            else:
                batch, queue = queue, []
            futures = {backend.executor.submit(_guarded, fn, make_task(spec)): spec for spec in batch}
            broken = False
            for fut in cf.as_completed(futures):
                spec = futures[fut]
                try:
                    res = fut.result()
                except cf.CancelledError:
                    queue.append(spec)
                    continue
                except BrokenProcessPool as err:
                    broken = True
                    marker = _marker(runs_dir / spec.run_id)
                    was_running = marker.exists()
                    marker.unlink(missing_ok=True)
                    if not solo:
                        (suspects if was_running else queue).append(spec)
                        continue
                    fail(spec, "its worker process died running it, twice (out of memory? a crash in compiled "
                               "code?)", err)
                except Exception as err:  # noqa: BLE001 - e.g. dask gave up on it, or it could not be sent
                    fail(spec, f"{type(err).__name__}: {err}", err)
                else:
                    table.set(spec, res["status"], res["summary"], res.get("values"))
                    stats["executed"] += 1
                    stats["task_seconds"] += res["task_seconds"]
                    first = stats["first_task_start"]
                    stats["first_task_start"] = res["started"] if first is None else min(first, res["started"])
                    stats["last_result"] = time.time()
                    stats["tasks"].append((res["pid"], res["started"], res["task_seconds"]))
                postfix()
                bar.update(1)
                table.write()
            if broken and (queue or suspects):
                restarts += 1
                if restarts > _MAX_RESTARTS or not backend.remake():
                    for spec in suspects + queue:
                        fail(spec, "not run: the worker pool broke and could not be restarted")
                        bar.update(1)
                    queue, suspects = [], []


def _marker(run_dir: Path) -> Path:
    return run_dir.with_name(f".{run_dir.name}.running")


def _guarded(fn, task: dict) -> dict:
    """Run ``fn(task)`` with a marker file saying so, left behind only if the process dies inside."""
    marker = _marker(Path(task["run_dir"]))
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(os.getpid()))
    except OSError:
        pass
    try:
        return fn(task)
    finally:
        marker.unlink(missing_ok=True)


def _task(sweep: Sweep, spec: RunSpec, runs_dir: Path) -> dict:
    return {"run_id": spec.run_id, "scenario": spec.scenario, "seed": spec.seed, "duration_s": sweep.duration_s,
            "engine": sweep.engine, "run_dir": str(runs_dir / spec.run_id), "threads": 1,
            "metrics": sweep.metric_specs}


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_provenance(sweep: Sweep, out: Path) -> None:
    """The sweep file and the base scenario as resolved, next to the results."""
    try:
        text = Path(sweep.source).read_text(encoding="utf-8")
    except OSError:
        text = None
    if text is not None:
        write_text(out / "sweep.toml", text, sync=False)
    write_text(out / "scenario.toml", sweep.base.to_toml(), sync=False)


def _write_batch_json(sweep: Sweep, out: Path, table: RunTable, session: dict, *, status: str) -> None:
    from ..provenance import manifest_info

    counts = table.counts()
    info = {
        "status": status,
        "sweep": sweep.name,
        "description": sweep.description,
        "sweep_file": sweep.source,
        "scenario_file": sweep.scenario_path,
        "scenario": sweep.base.name,
        "parameters": {k: list(v) for k, v in sweep.parameters.items()},
        "mode": sweep.mode,
        "points": len(sweep.points),
        "replicates": sweep.replicates,
        "base_seed": sweep.base_seed,
        "seeds": sweep.seeds,
        "duration_s": sweep.run_duration_s,
        "engine": sweep.engine,
        "metrics": list(sweep.metrics),
        "runs": len(table.plan),
        "complete": counts["complete"],
        "failed": counts["failed"],
        "pending": counts["pending"],
        "session": session,
        "manifest": manifest_info(sweep.engine, sweep.base_seed, session.get("wall_seconds") or 0.0),
    }
    write_json(out / "batch.json", info)


