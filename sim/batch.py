"""Sweeps: many seeded runs of one scenario over a grid of parameter values, on any executor.

A sweep file names a base scenario, the key paths to vary and their values, how many
replicates each point gets, and which summary numbers to keep::

    [sweep]
    scenario = "../bishkek_2020_10_05.toml"   # relative to the sweep file
    replicates = 4
    base_seed = 1
    duration_s = 5400                          # optional: the scenario's full length
    metrics = ["injured_protesters", "arrested"]

    [parameters]                               # every combination (mode = "grid")
    "tear_gas.rate_per_min" = [0, 2, 6]
    "triggers.0.at_least" = { start = 10, stop = 90, step = 40 }

``run_batch`` runs every (point, replicate) on a ``concurrent.futures`` executor: a process
pool by default, a dask.distributed cluster with ``scheduler="tcp://host:port"``. Each run
writes its own folder atomically under ``<out>/runs/<run id>``; those folders are the source
of truth, so a batch killed at any moment is completed by running it again. The run id and the
seed derive from the run's content (scenario, parameter values, replicate, duration, engine),
never from the order runs happen to finish in, so results do not depend on the number of
workers or on where they ran. ``<out>/runs.parquet`` has one row per run, ``batch.json`` the
batch's description and ``figures/`` each metric against each parameter.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import difflib
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import sys
import time
import tomllib
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ScenarioError
from .tables import check_keys, number

# --- what a sweep may ask to keep ----------------------------------------------------------------
METRICS = {
    "injured_protesters": "protesters injured",
    "injured_police": "police officers injured",
    "arrested": "people arrested",
    "left_the_area": "people who left the area",
    "first_force_s": "first use of force (s after the start; empty if none)",
    "gate_strength": "gate strength left (1 = intact)",
    "protesters": "protesters",
    "police": "police officers",
    "steps": "steps",
    "sim_seconds": "simulated seconds",
    "wall_seconds": "wall-clock seconds of the run",
    "setup_seconds": "wall-clock seconds of the set-up",
    "run_seconds": "wall-clock seconds stepping",
    "agent_steps_per_second": "agent-steps per second",
}
# families of counts whose members are absent from a summary when zero
_COUNT_FAMILIES = {
    "final_counts": ("quiet", "active", "fleeing", "injured", "arrested", "left"),
    "injuries_by_cause.protesters": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "injuries_by_cause.police": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "means_used": ("tear_gas", "stun_grenades", "water_cannon"),
}
DEFAULT_METRICS = ("injured_protesters", "injured_police", "arrested", "left_the_area", "first_force_s")

_SWEEP_KEYS = ("name", "description", "scenario", "replicates", "base_seed", "seeds", "duration_s", "engine",
               "metrics", "mode")
_BATCH_KEYS = ("workers", "scheduler")
_RANGE_KEYS = ("start", "stop", "step", "num", "log")
ENGINES = ("numba", "python")
MODES = ("grid", "zip")
SEEDINGS = ("independent", "common")
STATUSES = ("complete", "failed", "pending")
_MAX_RESTARTS = 20  # of a broken process pool, per batch


def metric_names() -> list[str]:
    """Every metric name a sweep may list."""
    return list(METRICS) + [f"{fam}.{k}" for fam, keys in _COUNT_FAMILIES.items() for k in keys]


def metric_label(name: str) -> str:
    if name in METRICS:
        return METRICS[name]
    fam, _, key = name.rpartition(".")
    nice = {"final_counts": "at the end", "injuries_by_cause.protesters": "protesters injured by",
            "injuries_by_cause.police": "police injured by", "means_used": "uses of"}
    if fam == "final_counts":
        return f"{key.replace('_', ' ')} at the end"
    return f"{nice.get(fam, fam)} {key.replace('_', ' ')}"


def metric_value(summary: dict, name: str) -> float:
    """A metric out of a run's summary.json: a number, or NaN when it has none (e.g. no force used)."""
    node = summary
    parts = name.split(".")
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            fam = ".".join(parts[:-1])
            return 0.0 if fam in _COUNT_FAMILIES and _lookup(summary, fam) is not None else math.nan
    if isinstance(node, bool):
        return float(node)
    if isinstance(node, (int, float)):
        return float(node)
    return math.nan


def _lookup(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


# --- the sweep ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a point of the sweep and a replicate."""

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict
    scenario: object = field(repr=False, compare=False)  # sim.scenario.Scenario with the params applied


@dataclass(frozen=True)
class Sweep:
    name: str
    description: str
    source: str  # the sweep file
    scenario_path: str  # the base scenario file (absolute)
    base: object = field(repr=False)  # sim.scenario.Scenario
    parameters: dict = field(default_factory=dict)  # key path -> tuple of values, in file order
    mode: str = "grid"
    replicates: int = 1
    base_seed: int = 0
    seeds: str = "independent"
    duration_s: float | None = None
    engine: str = "numba"
    metrics: tuple[str, ...] = DEFAULT_METRICS
    workers: int | None = None
    scheduler: str | None = None
    points: tuple = field(default=(), repr=False)  # ((params dict, Scenario), ...)

    @property
    def run_duration_s(self) -> float:
        return float(self.duration_s if self.duration_s is not None else self.base.duration_s)

    def plan(self) -> list[RunSpec]:
        """Every run, ordered by point then replicate; ids and seeds depend on content only."""
        fingerprint = hashlib.sha256(self.base.to_toml().encode()).hexdigest()
        out = []
        for p, (params, scenario) in enumerate(self.points):
            pkey = _params_key(params)
            for r in range(self.replicates):
                seed = derive_seed(self.base_seed, None if self.seeds == "common" else pkey, r)
                ident = json.dumps({"scenario": fingerprint, "params": params, "replicate": r, "seed": seed,
                                    "duration_s": self.run_duration_s, "engine": self.engine}, sort_keys=True)
                run_id = hashlib.sha256(ident.encode()).hexdigest()[:12]
                out.append(RunSpec(run_id=run_id, point=p, replicate=r, seed=seed, params=params, scenario=scenario))
        return out


def _params_key(params: dict) -> int:
    text = json.dumps(params, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def derive_seed(base_seed: int, point_key: int | None, replicate: int) -> int:
    """A run's seed from the base seed, its point (None: the same for all points) and its replicate."""
    spawn_key = (replicate,) if point_key is None else (point_key, replicate)
    ss = np.random.SeedSequence(entropy=int(base_seed), spawn_key=spawn_key)
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def load_sweep(path) -> Sweep:
    """Read and check a sweep file; every point is validated against the scenario before anything runs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such sweep file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read: {err}", file=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"malformed TOML: {err}", file=str(path)) from None
    try:
        return _parse_sweep(data, path)
    except ScenarioError as err:
        raise err.with_file(str(path)) if not err.file else err


def _parse_sweep(data: dict, path: Path) -> Sweep:
    from .geo.loader import load_map
    from .scenario import check_capacity, load_scenario

    check_keys(data, ("sweep", "parameters", "batch"), "")
    head = data.get("sweep")
    if not isinstance(head, dict):
        raise ScenarioError("missing the [sweep] table (scenario, replicates, metrics...)", path="sweep")
    check_keys(head, _SWEEP_KEYS, "sweep")
    if "scenario" not in head:
        raise ScenarioError("missing required key: the base scenario file", path="sweep.scenario")
    if not isinstance(head["scenario"], str):
        raise ScenarioError("expected the path of a scenario file", path="sweep.scenario")
    scenario_file = (path.parent / head["scenario"]).resolve()
    if not scenario_file.is_file():
        raise ScenarioError(f"no such scenario file: {head['scenario']} (looked for {scenario_file})",
                            path="sweep.scenario")
    base = load_scenario(scenario_file)  # its errors name the scenario file

    name = head.get("name", path.stem)
    description = head.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise ScenarioError(f"expected a string, got {value!r}", path=f"sweep.{key}")
    replicates = number(head.get("replicates", 1), "sweep.replicates", low=1, integer=True)
    base_seed = number(head.get("base_seed", base.seed), "sweep.base_seed", low=0, integer=True)
    seeds = _choice(head.get("seeds", "independent"), "sweep.seeds", SEEDINGS)
    duration = head.get("duration_s")
    if duration is not None:
        duration = number(duration, "sweep.duration_s", low=0, low_open=True)
    engine = _choice(head.get("engine", "numba"), "sweep.engine", ENGINES)
    mode = _choice(head.get("mode", "grid"), "sweep.mode", MODES)
    metrics = _parse_metrics(head.get("metrics", list(DEFAULT_METRICS)))

    batch = data.get("batch", {})
    if not isinstance(batch, dict):
        raise ScenarioError("expected a table", path="batch")
    check_keys(batch, _BATCH_KEYS, "batch")
    workers = batch.get("workers")
    if workers is not None:
        workers = number(workers, "batch.workers", low=1, integer=True)
    scheduler = batch.get("scheduler")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ScenarioError("expected a scheduler address such as \"tcp://host:8786\"", path="batch.scheduler")

    parameters = _parse_parameters(data.get("parameters", {}))
    for k, m in enumerate(metrics):
        if m in parameters:
            raise ScenarioError(f"{m!r} is both a parameter and a metric", path=f"sweep.metrics.{k}")
    points = _points(parameters, mode)
    checked = []
    maps = {}
    for params in points:
        scenario = _apply(base, params, parameters)
        key = repr(scenario.map)
        if key not in maps:
            maps[key] = load_map(scenario.map)
        try:
            check_capacity(scenario, maps[key])
        except ScenarioError as err:
            raise ScenarioError(f"at {_describe(params)}: {err.message}", path=f"parameters.{err.path}") from None
        checked.append((params, scenario))
    return Sweep(name=name, description=description, source=str(path), scenario_path=str(scenario_file), base=base,
                 parameters=parameters, mode=mode, replicates=replicates, base_seed=base_seed, seeds=seeds,
                 duration_s=duration, engine=engine, metrics=metrics, workers=workers, scheduler=scheduler,
                 points=tuple(checked))


def _choice(value, path: str, options) -> str:
    if value not in options:
        raise ScenarioError(f"expected one of {', '.join(options)}, got {value!r}", path=path)
    return value


def _parse_metrics(value) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ScenarioError("expected a non-empty list of metric names", path="sweep.metrics")
    known = metric_names()
    for k, name in enumerate(value):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"known: {', '.join(known)}"
            raise ScenarioError(f"unknown metric {name!r}; {hint}", path=f"sweep.metrics.{k}")
    if len(set(value)) != len(value):
        raise ScenarioError("a metric is listed twice", path="sweep.metrics")
    return tuple(value)


def _is_range(value) -> bool:
    return (isinstance(value, dict) and "start" in value and "stop" in value
            and not isinstance(value["start"], (dict, list)))


def _flatten(table: dict, prefix: str = "") -> dict:
    """Nested TOML tables of parameters -> {"dotted.key.path": list or range table}."""
    out = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and not _is_range(value):
            if not value:
                raise ScenarioError("expected a list of values or a range {start, stop, step|num}",
                                    path=f"parameters.{path}")
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _parse_parameters(table) -> dict:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table of key paths and their values", path="parameters")
    out = {}
    for path, spec in _flatten(table).items():
        where = f"parameters.{path}"
        if path == "scenario.seed":
            raise ScenarioError("the seed is not a parameter: each run's seed derives from [sweep] base_seed "
                                "and its replicate", path=where)
        if isinstance(spec, list):
            values = spec
        elif _is_range(spec):
            values = _range(spec, where)
        else:
            raise ScenarioError(f"expected a list of values or a range {{start, stop, step|num}}, got {spec!r}",
                                path=where)
        if not values:
            raise ScenarioError("no values to sweep", path=where)
        canon = [json.dumps(v, sort_keys=True) for v in values]
        dupes = sorted({c for c in canon if canon.count(c) > 1})
        if dupes:
            raise ScenarioError(f"value {dupes[0]} is listed twice", path=where)
        for other in out:
            if other.startswith(path + ".") or path.startswith(other + "."):
                raise ScenarioError(f"overlaps parameter {other!r}", path=where)
        out[path] = tuple(values)
    return out


def _clean(v: float):
    return float(f"{v:.12g}")


def _range(spec: dict, where: str) -> list:
    check_keys(spec, _RANGE_KEYS, where)
    start = number(spec["start"], f"{where}.start")
    stop = number(spec["stop"], f"{where}.stop")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ScenarioError("expected true or false", path=f"{where}.log")
    ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("start", "stop", "step")
               if k in spec)
    if ("step" in spec) == ("num" in spec):
        raise ScenarioError("a range needs exactly one of step (spacing) or num (how many values)", path=where)
    if "step" in spec:
        if log:
            raise ScenarioError("log = true goes with num, not step", path=f"{where}.log")
        step = number(spec["step"], f"{where}.step")
        if step == 0 or (stop - start) * step < 0:
            raise ScenarioError(f"step {spec['step']} never gets from {spec['start']} to {spec['stop']}",
                                path=f"{where}.step")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > 10_000:
            raise ScenarioError(f"{n} values: too many", path=where)
        values = [start + k * step for k in range(n)]
    else:
        num = number(spec["num"], f"{where}.num", low=1, integer=True)
        if num > 10_000:
            raise ScenarioError(f"{num} values: too many", path=f"{where}.num")
        if log:
            if start <= 0 or stop <= 0:
                raise ScenarioError("a log range needs positive start and stop", path=where)
            values = list(np.geomspace(start, stop, num))
        else:
            values = list(np.linspace(start, stop, num))
    values = [_clean(float(v)) for v in values]
    if ints and all(float(v).is_integer() for v in values):
        return [int(v) for v in values]
    return values


def _points(parameters: dict, mode: str) -> list[dict]:
    names = list(parameters)
    if not names:
        return [{}]
    if mode == "zip":
        lengths = {n: len(v) for n, v in parameters.items()}
        if len(set(lengths.values())) > 1:
            raise ScenarioError("mode = \"zip\" pairs the k-th values of every parameter, so they need equal "
                                f"lengths; got {', '.join(f'{n}: {k}' for n, k in lengths.items())}",
                                path="parameters")
        return [dict(zip(names, vals)) for vals in zip(*parameters.values())]
    points = [{}]
    for name in names:
        points = [{**p, name: v} for p in points for v in parameters[name]]
    return points


def _describe(params: dict) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items()) or "the base scenario"


def _apply(base, params: dict, parameters: dict):
    """The base scenario with one point's values; errors say which key path and value were refused."""
    try:
        return base.with_values(copy.deepcopy(params))
    except ScenarioError as err:
        culprit = next((k for k in parameters if err.path and (err.path == k or err.path.startswith(k + ".")
                                                               or k.startswith(err.path + "."))), None)
        if culprit is None:
            culprit = next((k for k in parameters if k in err.message), None)
        where = f"parameters.{culprit}" if culprit else "parameters"
        what = f"cannot set {culprit!r} = {json.dumps(params.get(culprit))}" if culprit else \
            f"cannot apply {_describe(params)}"
        hint = _known_keys_hint(base.raw, culprit) if culprit and "unknown key path" in err.message else ""
        raise ScenarioError(f"{what} in scenario {base.source}: {err.path + ': ' if err.path else ''}{err.message}"
                            f"{hint}", path=where) from None


def _known_keys_hint(raw: dict, path: str) -> str:
    """What does exist where a key path stops matching the scenario: "; 'police' has: guard, riot"."""
    node, here = raw, []
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node, here = node[part], here + [part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node, here = node[int(part)], here + [part]
        else:
            break
    where = ".".join(here) or "the scenario"
    if isinstance(node, dict) and node:
        return f"; {where!r} has: {', '.join(map(str, node))}" if here else f"; top-level tables: {', '.join(node)}"
    if isinstance(node, list):
        return f"; {where!r} has items 0 to {len(node) - 1}" if node else f"; {where!r} is empty"
    return ""


# --- running one -------------------------------------------------------------------------------------
def _limit_threads(threads: int) -> None:
    """One numba thread per run: workers are the parallelism, and results must not depend on threads."""
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001 - no numba threading layer: nothing to limit
        pass


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_failed(run_dir: Path, record: dict) -> None:
    """A failed run's folder: just summary.json with status "failed", written atomically."""
    from .results import temp_name

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = run_dir.parent / temp_name(run_dir.name, "failed")
    tmp.mkdir()
    _atomic_json(tmp / "summary.json", {**record, "status": "failed"})
    if run_dir.exists():
        old = run_dir.parent / f".{run_dir.name}.tmp-old-{uuid.uuid4().hex[:8]}"
        os.replace(run_dir, old)
        os.replace(tmp, run_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, run_dir)


def execute(task: dict) -> dict:
    """Run one batch run in whatever process the executor chose; never raises for a failing run.

    ``task`` holds ``run_id, scenario, seed, duration_s, engine, run_dir, threads``. Returns the
    run's status, its summary (if complete) or its error, and timings.
    """
    started = time.time()
    t0 = time.perf_counter()
    run_dir = Path(task["run_dir"])
    try:
        _limit_threads(task.get("threads", 1))
        from .runner import run

        out = run(task["scenario"], seed=task["seed"], duration_s=task["duration_s"], engine=task["engine"],
                  out=run_dir, progress=False, force=True)  # its own folder: at most a failed earlier try
        summary = json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))
        status, error = "complete", None
        shutil.rmtree(run_dir.with_name(run_dir.name + ".partial"), ignore_errors=True)  # of an earlier failure
    except Exception as err:  # noqa: BLE001 - a failing run is recorded, not fatal; Ctrl-C still propagates
        error = f"{type(err).__name__}: {err}"
        summary = {"run_id": task["run_id"], "seed": task["seed"], "error": error,
                   "traceback": traceback.format_exc(), "wall_seconds": time.perf_counter() - t0}
        _write_failed(run_dir, summary)
        status = "failed"
    return {"run_id": task["run_id"], "status": status, "error": error, "summary": summary,
            "task_seconds": time.perf_counter() - t0, "started": started, "finished": time.time(),
            "pid": os.getpid()}


def _worker_init(parent_pid: int) -> None:
    """Process-pool workers die with the batch (even on kill -9), so no orphan writes a run later."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - best effort
            pass
    if os.getppid() != parent_pid:  # the batch died before prctl took effect
        os._exit(1)


# --- executors ------------------------------------------------------------------------------------------
class _Backend:
    """An executor, who owns it, and how to describe and close it."""

    def __init__(self, executor: cf.Executor, description: str, workers: int, *, owned: bool,
                 remake=None, close=None):
        self.executor = executor
        self.description = description
        self.workers = workers
        self.owned = owned
        self._remake = remake
        self._close = close

    def remake(self) -> bool:
        """A fresh executor after the old one broke (a worker process died); False if we cannot."""
        if self._remake is None:
            return False
        self.kill()
        self.executor = self._remake()
        return True

    def kill(self) -> None:
        """Stop now: cancel what is queued, end our worker processes."""
        if not self.owned:
            return
        try:
            self.executor.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001
            pass
        for proc in list((getattr(self.executor, "_processes", None) or {}).values()):
            try:
                proc.kill()
            except Exception:  # noqa: BLE001
                pass
        if self._close:
            self._close()

    def close(self) -> None:
        if not self.owned:
            return
        self.executor.shutdown(wait=True)
        if self._close:
            self._close()


def _process_backend(workers: int) -> _Backend:
    def make():
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_init, initargs=(os.getpid(),))

    return _Backend(make(), f"process pool, {workers} worker{'s' * (workers != 1)}", workers, owned=True,
                    remake=make)


def _dask_backend(address: str, workers: int | None) -> _Backend:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError("running on a dask scheduler needs the dask extra: "
                            "pip install 'protest-sim[dask]'") from None
    cluster = None
    try:
        if address == "local" or address.startswith("local:"):
            n = int(address.split(":", 1)[1]) if ":" in address else (workers or os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        reason = " ".join(str(err).split())  # one line, whatever dask's message spans
        raise ScenarioError(f"cannot reach the dask scheduler at {address}: {reason}") from None
    n_workers = len(client.scheduler_info().get("workers", {}))
    threads = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())

    def close():
        client.close()
        if cluster is not None:
            cluster.close()

    return _Backend(client.get_executor(pure=False), f"dask {client.scheduler.address} ({n_workers} workers, "
                    f"{threads} threads)", max(threads, 1), owned=True, close=close)


def make_backend(*, workers: int | None = None, scheduler: str | None = None) -> _Backend:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ScenarioError(f"workers must be a whole number >= 1, got {workers!r}")
    if scheduler and scheduler != "processes":
        return _dask_backend(scheduler, workers)
    return _process_backend(workers or os.cpu_count() or 1)


# --- the batch --------------------------------------------------------------------------------------------
class _Table:
    """Rows of runs.parquet, kept in plan order; written atomically, at most every ``every`` seconds."""

    def __init__(self, sweep: Sweep, plan: list[RunSpec], out: Path, every: float = 2.0):
        self.sweep, self.plan, self.out, self.every = sweep, plan, out, every
        self.rows = {spec.run_id: self._row(spec, "pending", None) for spec in plan}
        self._last = 0.0

    def _row(self, spec: RunSpec, status: str, summary: dict | None) -> dict:
        row = {"run_id": spec.run_id, "point": spec.point, "replicate": spec.replicate, "seed": spec.seed}
        row.update(spec.params)
        row["status"] = status
        row["error"] = (summary or {}).get("error") if status == "failed" else None
        wall = (summary or {}).get("wall_seconds")
        row["wall_seconds"] = float(wall) if isinstance(wall, (int, float)) else math.nan
        for m in self.sweep.metrics:
            row[m] = metric_value(summary, m) if status == "complete" else math.nan
        row["run_dir"] = f"runs/{spec.run_id}"
        return row

    def set(self, spec: RunSpec, status: str, summary: dict | None) -> None:
        self.rows[spec.run_id] = self._row(spec, status, summary)

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
        tmp = self.out / f".runs.parquet.tmp-{os.getpid()}"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.out / "runs.parquet")


def default_out(sweep: Sweep) -> Path:
    return Path("results") / "batches" / Path(sweep.source).stem


def _local_scheduler(address: str) -> bool:
    """True for the schedulers that start workers on this machine only."""
    return address in ("processes", "local") or address.startswith("local:")


def _check_batch_out(out: Path) -> Path:
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


def _read_done(run_dir: Path) -> tuple[str, dict | None]:
    """"complete", "failed" or "pending" for a run folder, with its summary."""
    from .results import is_complete_run

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
    out = _check_batch_out(Path(out) if out is not None else default_out(sweep))
    runs_dir = out / "runs"
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None and sweep.scheduler and (scheduler_from_file or _local_scheduler(sweep.scheduler)):
        scheduler = sweep.scheduler
    t_start = time.perf_counter()
    t_start_epoch = time.time()
    started_utc = _utc()

    plan = sweep.plan()
    table = _Table(sweep, plan, out)
    todo = []
    for spec in plan:  # the run folders say what is done
        status, summary = _read_done(runs_dir / spec.run_id)
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
        backend = _Backend(executor, f"{type(executor).__name__}", getattr(executor, "_max_workers", 1) or 1,
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
            _drive(sweep, backend, todo, table, runs_dir, stats, progress, done_before, len(plan))
        from .results import clean_stale_temps

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


def _drive(sweep, backend, todo, table, runs_dir, stats, progress, done_before, total) -> None:
    """Submit the runs, collect results as they come; survive worker processes dying.

    When a process-pool worker dies (a segfault, the OOM killer), the pool breaks and every
    unfinished run comes back with BrokenProcessPool. Those that were running (their marker
    file survived) become suspects and are run again one at a time on a fresh pool: a suspect
    that kills its worker while running alone is recorded as failed; the others go on as usual.
    """
    from concurrent.futures.process import BrokenProcessPool

    from tqdm import tqdm

    restarts = 0
    queue, suspects = list(todo), []
    with tqdm(total=total, initial=done_before, disable=not progress, unit="run", desc=sweep.name,
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
            futures = {backend.executor.submit(_guarded, execute, _task(sweep, spec, runs_dir)): spec
                       for spec in batch}
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
                    table.set(spec, res["status"], res["summary"])
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
            "engine": sweep.engine, "run_dir": str(runs_dir / spec.run_id), "threads": 1}


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_provenance(sweep: Sweep, out: Path) -> None:
    """The sweep file and the base scenario as resolved, next to the results."""
    try:
        text = Path(sweep.source).read_text(encoding="utf-8")
    except OSError:
        text = None
    if text is not None:
        _atomic_text(out / "sweep.toml", text)
    _atomic_text(out / "scenario.toml", sweep.base.to_toml())


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_batch_json(sweep: Sweep, out: Path, table: _Table, session: dict, *, status: str) -> None:
    from .results import manifest_info

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
    _atomic_json(out / "batch.json", info)


# --- protest-sim batch -------------------------------------------------------------------------------------
SCHEDULER_ENV = "PROTEST_SIM_SCHEDULER"  # a dask scheduler address chosen by the person running the batch


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="protest-sim batch", description="run or complete a sweep")
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--workers", type=_positive_int, help="worker processes (default: one per CPU)")
    parser.add_argument("--scheduler", help="a dask.distributed scheduler address (tcp://host:8786), or local[:N]; "
                        f"default ${SCHEDULER_ENV}, else a local process pool")
    parser.add_argument("--scheduler-from-file", action="store_true",
                        help="connect to the scheduler the sweep file's [batch] scheduler names (off by default: a "
                             "shared file must not choose which host your machine talks to)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--retry-failed", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    from sim.batch import load_sweep, run_batch  # the module, not __main__: workers must unpickle sim.batch.execute

    try:
        sweep = load_sweep(args.sweep)
        out = _check_batch_out(args.out if args.out is not None else default_out(sweep))
        if sweep.scheduler and not _local_scheduler(sweep.scheduler) and not args.scheduler_from_file \
                and not (args.scheduler or os.environ.get(SCHEDULER_ENV)):
            print(f"note: not connecting to [batch] scheduler = {sweep.scheduler!r} of {args.sweep} (pass "
                  "--scheduler-from-file to use it); running on local processes", file=sys.stderr)
        out = run_batch(sweep, workers=args.workers, scheduler=args.scheduler, out=out,
                        progress=not args.quiet, retry_failed=args.retry_failed,
                        scheduler_from_file=args.scheduler_from_file)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to complete the batch", file=sys.stderr)
        return 130
    info = json.loads((out / "batch.json").read_text())
    print(f"batch folder: {out} ({info['complete']} complete, {info['failed']} failed, {info['pending']} pending)")
    return 0 if info["pending"] == 0 and info["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
