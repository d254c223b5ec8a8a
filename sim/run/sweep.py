"""Sweep files: a base scenario, the key paths to vary and their values, replicates, and the metrics
to keep. Parsed and checked whole before anything runs: every point is applied to the base
scenario and checked against its map.

    [sweep]
    scenario = "../bishkek_2020_10_05.toml"   # relative to the sweep file
    replicates = 4
    base_seed = 1
    duration_s = 5400                          # optional: the scenario's full length
    metrics = ["injured_protesters", "arrested"]   # or expressions: sim.run.metrics

    [parameters]                               # every combination (mode = "grid")
    "tear_gas.rate_per_min" = [0, 2, 6]
    "triggers.0.at_least" = { start = 10, stop = 90, step = 40 }

A run's id and seed derive from its content (scenario, parameter values, replicate, duration,
engine), never from the order runs finish in, so results do not depend on the number of workers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check_keys, choice, load_toml, number
from ..core import ENGINES
from ..errors import ScenarioError
from ..kinds import kind_of, load_scenario
from .metrics import parse_metrics

_SWEEP_KEYS = ("name", "description", "scenario", "replicates", "base_seed", "seeds", "duration_s", "engine",
               "metrics", "mode")
_BATCH_KEYS = ("workers", "scheduler")
_RANGE_KEYS = ("start", "stop", "step", "num", "log")
MODES = ("grid", "zip")
SEEDINGS = ("independent", "common")
MAX_VALUES = 10_000  # of one parameter
MAX_POINTS = 10_000  # every point is applied and checked before anything runs: a few ms each
MAX_RUNS = 1_000_000  # points x replicates: a folder each


# --- the sweep ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a point of the sweep and a replicate."""

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict
    scenario: object = field(repr=False, compare=False)  # the base scenario with the params applied


@dataclass(frozen=True)
class Sweep:
    name: str
    description: str
    source: str  # the sweep file
    scenario_path: str  # the base scenario file (absolute)
    base: object = field(repr=False)  # the base scenario, of any model kind
    parameters: dict = field(default_factory=dict)  # key path -> tuple of values, in file order
    mode: str = "grid"
    replicates: int = 1
    base_seed: int = 0
    seeds: str = "independent"
    duration_s: float | None = None
    engine: str = "numba"
    metrics: tuple[str, ...] = ()
    workers: int | None = None
    scheduler: str | None = None
    points: tuple = field(default=(), repr=False)  # ((params dict, Scenario), ...)
    metric_specs: tuple = field(default=(), repr=False)  # the metrics parsed (sim.run.metrics.Metric)

    @property
    def kind(self):
        """The base scenario's model kind (a ``sim.kinds`` module)."""
        return kind_of(self.base)

    @property
    def run_duration_s(self) -> float:
        """Each run's length, in the kind's unit (seconds, or steps)."""
        return float(self.duration_s if self.duration_s is not None else self.kind.duration(self.base))

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
    return parse_sweep(load_toml(path, what="sweep file"), path)


def parse_sweep(data: dict, path: Path) -> Sweep:
    """A sweep from the TOML document of the file at ``path`` (base scenario paths are relative to it)."""
    try:
        return _parse_sweep(data, path)
    except ScenarioError as err:
        raise err.with_file(str(path)) if not err.file else err


def _parse_sweep(data: dict, path: Path) -> Sweep:
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
    kind = kind_of(base)

    name = head.get("name", path.stem)
    description = head.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise ScenarioError(f"expected a string, got {value!r}", path=f"sweep.{key}")
    replicates = number(head.get("replicates", 1), "sweep.replicates", low=1, integer=True)
    base_seed = number(head.get("base_seed", base.seed), "sweep.base_seed", low=0, integer=True)
    seeds = choice(head.get("seeds", "independent"), "sweep.seeds", SEEDINGS)
    duration = head.get("duration_s")
    if duration is not None:  # in the kind's unit: seconds, or steps
        duration = number(duration, "sweep.duration_s", low=0, low_open=True, unit=kind.DURATION_UNIT)
    engine = choice(head.get("engine", "numba"), "sweep.engine", ENGINES)
    mode = choice(head.get("mode", "grid"), "sweep.mode", MODES)
    metric_specs = parse_metrics(head.get("metrics", list(kind.DEFAULT_METRICS)), kind, scenario=base,
                                 duration=float(duration if duration is not None else kind.duration(base)),
                                 path="sweep.metrics")
    metrics = tuple(m.name for m in metric_specs)

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

    parameters = _parse_parameters(data.get("parameters", {}), mode)
    for k, m in enumerate(metrics):
        if m in parameters:
            raise ScenarioError(f"{m!r} is both a parameter and a metric", path=f"sweep.metrics.{k}")
    points = _points(parameters, mode)
    if len(points) * replicates > MAX_RUNS:
        raise ScenarioError(f"{len(points):,} points x {replicates:,} replicates = {len(points) * replicates:,} runs, "
                            f"a folder each; at most {MAX_RUNS:,} in one batch", path="sweep.replicates")
    checked = []
    for params in points:
        scenario = apply_point(base, params, parameters)
        try:
            kind.check(scenario)
        except ScenarioError as err:
            raise ScenarioError(f"at {_describe(params)}: {err.message}", path=f"parameters.{err.path}") from None
        checked.append((params, scenario))
    return Sweep(name=name, description=description, source=str(path), scenario_path=str(scenario_file), base=base,
                 parameters=parameters, mode=mode, replicates=replicates, base_seed=base_seed, seeds=seeds,
                 duration_s=duration, engine=engine, metrics=metrics, workers=workers, scheduler=scheduler,
                 points=tuple(checked), metric_specs=metric_specs)


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


def _parse_parameters(table, mode: str = "grid") -> dict:
    """Key path -> its values. In a grid a value listed twice is a mistake; zipped, values repeat (the
    points are the k-th values of every parameter together, e.g. a family of named variants)."""
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
        if dupes and mode != "zip":
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
        n = math.floor((stop - start) / step + 1e-9) + 1
        if n > MAX_VALUES:
            raise ScenarioError(f"{n:,} values: at most {MAX_VALUES:,}", path=where)
        values = [start + k * step for k in range(n)]
    else:
        num = number(spec["num"], f"{where}.num", low=1, integer=True)
        if num > MAX_VALUES:
            raise ScenarioError(f"{num:,} values: at most {MAX_VALUES:,}", path=f"{where}.num")
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
    count = len(next(iter(parameters.values()))) if mode == "zip" else math.prod(len(v) for v in parameters.values())
    if count > MAX_POINTS:
        raise ScenarioError(f"{count:,} points; a sweep checks each before it runs, so at most {MAX_POINTS:,} "
                            "(split it into several sweeps)", path="parameters")
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


def apply_point(base, params: dict, parameters) -> object:
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
