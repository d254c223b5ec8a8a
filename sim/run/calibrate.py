"""Likelihood-free calibration of a scenario's settings against reported figures: ABC-SMC with pyabc,
its simulations run on the batch engine.

    [calibration]
    scenario = "../bishkek_2020_10_05.toml"
    population = 40          # particles per generation
    generations = 6          # at most
    max_evaluations = 1000   # at most, over all generations (the posterior-predictive runs aside)
    alpha = 0.5              # each generation's tolerance: this quantile of the last one's distances
    minimum_epsilon = 1.0    # stop once every target is within its tolerance (distance <= 1)
    predictive = 20          # posterior-predictive runs
    [quick]                  # what --quick changes
    [parameters."protest.baton_per_s"]     # priors: sim.run.design
    [[targets]]
    metric = "sum:injured_protesters,injured_police"    # any metric (sim.run.metrics)
    low = 16                 # the reported band (or value = ..., tolerance = ...)
    high = 120

Distance: the largest of |simulated - centre| / half-width over the targets (pyabc's p-norm with
p = inf and fixed weights), so distance <= 1 means every target inside its band; infinite where a
statistic is NaN (a failed run, a share of no injuries). Generation 0 accepts every prior draw
(tolerance infinite); later tolerances shrink by the ``alpha`` quantile. ``max_evaluations`` holds
within a generation too: one it cuts short is dropped and the calibration ends with those before.

Why pyabc's ABC-SMC and not history matching: it is the field's library for this, gives a
posterior (not only a region not yet ruled out) with no emulator to build and check, and its
``Sampler`` is the documented place to plug in an executor. What it lacks, resuming after kill -9
without losing or repeating simulations, comes from the batch engine: every simulation is a run
folder with a content-derived id, and :mod:`sim.run.abc_sampler` seeds each proposal from its
slot, so a restarted calibration replays pyabc from the start, finds every finished simulation
where it left it, and arrives at the same populations, on any number of workers or on Dask.
pyabc's own database (``abc.db``) is written afresh by each session and is an output, not a state.

Outputs: ``posterior.parquet`` (every generation's particles: weights, distances, parameters and
statistics), ``predictive.parquet``, ``evaluations.parquet`` and ``runs/``, ``calibration.json``
(generations, posterior summaries, the check), ``best_scenario.toml`` (a scenario file at the
best-supported settings) and ``figures/`` (marginals, pairs, the posterior-predictive check).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check_keys, load_toml, number
from ..errors import ScenarioError
from .design import HEAD_KEYS, Design, parse_design, section
from .metrics import parse_metrics

KEYS = HEAD_KEYS + ("population", "generations", "max_evaluations", "alpha", "minimum_epsilon", "predictive")
_TARGET_KEYS = ("metric", "label", "low", "high", "value", "tolerance", "source")


@dataclass(frozen=True)
class Target:
    metric: object  # sim.run.metrics.Metric
    centre: float
    tolerance: float  # half-width of the band
    label: str = ""
    source: str = ""

    @property
    def low(self) -> float:
        return self.centre - self.tolerance

    @property
    def high(self) -> float:
        return self.centre + self.tolerance


@dataclass(frozen=True)
class CalibrationSpec:
    design: Design
    targets: tuple[Target, ...] = ()
    population: int = 40
    generations: int = 6
    max_evaluations: int = 1000
    alpha: float = 0.5
    minimum_epsilon: float = 1.0
    predictive: int = 20
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> tuple:
        return tuple(t.metric for t in self.targets)


def load_calibration(path, *, quick: bool = False) -> CalibrationSpec:
    path = Path(path)
    data = load_toml(path, what="calibration spec")
    try:
        return parse_spec(data, path, quick)
    except ScenarioError as err:
        raise err.with_file(str(path)) if not err.file else err


def parse_spec(data: dict, path: Path, quick: bool = False) -> CalibrationSpec:
    head = section(data, "calibration", KEYS, quick)
    design = parse_design(data, path, head, "calibration", quick)

    def where(key):
        return f"quick.{key}" if quick and key in data.get("quick", {}) else f"calibration.{key}"

    values = {}
    for key, default, low, high in (("population", 40, 2, 100_000), ("generations", 6, 1, 1000),
                                    ("max_evaluations", 1000, 2, 10_000_000), ("predictive", 20, 0, 100_000)):
        values[key] = number(head.get(key, default), where(key), low=low, high=high, integer=True)
    if values["max_evaluations"] < values["population"]:
        raise ScenarioError(f"must be at least the population ({values['population']}): generation 0 runs "
                            "that many", path=where("max_evaluations"))
    values["alpha"] = number(head.get("alpha", 0.5), where("alpha"), low=0, high=1, low_open=True)
    values["minimum_epsilon"] = number(head.get("minimum_epsilon", 1.0), where("minimum_epsilon"), low=0)
    items = data.get("targets")
    if not isinstance(items, list) or not items:
        raise ScenarioError("expected [[targets]] tables: a metric and its reported band", path="targets")
    targets = []
    for k, item in enumerate(items):
        at = f"targets.{k}"
        if not isinstance(item, dict):
            raise ScenarioError("expected a table", path=at)
        check_keys(item, _TARGET_KEYS, at)
        if "metric" not in item:
            raise ScenarioError("missing required key", path=f"{at}.metric")
        if ("low" in item or "high" in item) == ("value" in item or "tolerance" in item) or \
                ("low" in item) != ("high" in item) or ("value" in item) != ("tolerance" in item):
            raise ScenarioError("give the reported band as low and high, or as value and tolerance", path=at)
        if "low" in item:
            low, high = number(item["low"], f"{at}.low"), number(item["high"], f"{at}.high")
            if not high > low:
                raise ScenarioError(f"empty band: high ({item['high']}) must be above low ({item['low']})",
                                    path=f"{at}.high")
            centre, tol = (low + high) / 2, (high - low) / 2
        else:
            centre = number(item["value"], f"{at}.value")
            tol = number(item["tolerance"], f"{at}.tolerance", low=0, low_open=True)
        for key in ("label", "source"):
            if not isinstance(item.get(key, ""), str):
                raise ScenarioError("expected a string", path=f"{at}.{key}")
        targets.append(Target(metric=item["metric"], centre=centre, tolerance=tol, label=item.get("label", ""),
                              source=item.get("source", "")))
    metrics = parse_metrics([t.metric for t in targets], design.kind, scenario=design.base,
                            duration=design.run_duration, paths=[f"targets.{k}.metric" for k in range(len(targets))])
    targets = tuple(Target(metric=m, centre=t.centre, tolerance=t.tolerance, label=t.label or m.name, source=t.source)
                    for m, t in zip(metrics, targets))
    return CalibrationSpec(design=design, targets=targets, raw=data, **values)


def default_out(spec: CalibrationSpec) -> Path:
    stem = Path(spec.design.source).stem + ("-quick" if spec.design.quick else "")
    return Path("results") / "calibration" / stem


def run_calibration(spec_or_path, *, workers=None, scheduler=None, out=None, quick: bool = False,
                    progress: bool = True, executor=None, figures: bool = True) -> Path:
    """Run (or complete) a calibration; returns its folder."""
    import pyabc

    from ..atomic import write_json, write_text
    from .abc_sampler import Distance, RunModel, RunSampler
    from .calibration_report import write_report
    from .evaluate import Evaluator
    from .outputs import check_out, resolve_scheduler

    spec = spec_or_path if isinstance(spec_or_path, CalibrationSpec) else load_calibration(spec_or_path, quick=quick)
    d = spec.design
    out = check_out(Path(out) if out is not None else default_out(spec), "calibration.json")
    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    info = {"status": "running", "name": d.name, "description": d.description, "spec": d.source,
            "scenario": d.scenario_path, "quick": d.quick, "base_seed": d.base_seed, "duration": d.run_duration,
            "engine": d.engine, "parameters": [p.__dict__ for p in d.parameters],
            "targets": [{"metric": t.metric.name, "label": t.label, "low": t.low, "high": t.high,
                         "source": t.source} for t in spec.targets],
            "population": spec.population, "generations": spec.generations,
            "max_evaluations": spec.max_evaluations, "alpha": spec.alpha,
            "minimum_epsilon": spec.minimum_epsilon, "predictive": spec.predictive}
    write_json(out / "calibration.json", info)
    if Path(d.source).is_file():
        write_text(out / "spec.toml", Path(d.source).read_text(encoding="utf-8"), sync=False)
    for name in ("ABC", "pyabc"):
        logging.getLogger(name).setLevel(logging.WARNING)

    ev = Evaluator(d, spec.metrics, out, workers=workers or d.workers, executor=executor, progress=progress,
                   scheduler=resolve_scheduler(scheduler, d.scheduler))
    keys = [f"p{i}" for i in range(len(d.parameters))]
    stats = [f"s{i}" for i in range(len(spec.targets))]

    def point(pars) -> dict:
        return d.point([p.from_unit(pars[k]) for p, k in zip(d.parameters, keys)])

    def key(pars):
        return tuple(sorted(point(pars).items()))

    def run(proposals, t):
        specs = [ev.spec(pt, d.seed_for(pt, 0)) for pt in map(point, proposals)]
        rows = ev.evaluate(specs, f"{d.name}: generation {max(t, 0)}")
        return [{s: float(row[tg.metric.name]) for s, tg in zip(stats, spec.targets)} for row in rows]

    def report(t, evaluated, accepted):
        if progress:
            print(f"generation {t}: {accepted} accepted of {evaluated} evaluated", flush=True)

    model = RunModel(key)
    sampler = RunSampler(model, run, d.base_seed, round_size=max(2 * (workers or d.workers or 2), 4),
                         on_generation=report, budget=spec.max_evaluations)
    # pyabc works in each parameter's unit interval (uniform priors mapped through the prior's quantiles):
    # its kernel density estimates then see coordinates of one scale, where rates from 1e-6 to 0.5
    # made their covariance numerically singular and proposals' densities zero
    priors = pyabc.Distribution(**{k: pyabc.RV("uniform", 0.0, 1.0) for k in keys})
    distance = Distance(p=np.inf, fixed_weights={s: 1.0 / t.tolerance for s, t in zip(stats, spec.targets)})
    abc = pyabc.ABCSMC(model, priors, distance, population_size=spec.population, sampler=sampler,
                       eps=pyabc.QuantileEpsilon(initial_epsilon=np.inf, alpha=spec.alpha))
    _remove_stale_databases(out)
    db = out / f".abc-{os.getpid()}-{time.time_ns()}.db"
    finished = False
    try:
        abc.new(f"sqlite:///{db}", {s: t.centre for s, t in zip(stats, spec.targets)})
        with warnings.catch_warnings():  # pyabc compares the infinite first tolerance with the next: inf - inf
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            history = abc.run(minimum_epsilon=spec.minimum_epsilon, max_nr_populations=spec.generations,
                              max_total_nr_simulations=spec.max_evaluations)
        write_report(spec, history, ev, out, keys, stats, sampler.evaluations_by_generation, info,
                     figures=figures)
        finished = True
    finally:
        ev.close(kill=not finished)
        if finished:
            db.replace(out / "abc.db")
        else:
            db.unlink(missing_ok=True)
    info = {**info, **_read(out / "calibration.json")}
    info.update(status="complete", session={**ev.session(), "wall_seconds": round(time.perf_counter() - t_start, 3)})
    write_json(out / "calibration.json", info)
    return out


def _read(path: Path) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def _remove_stale_databases(out: Path) -> None:
    """pyabc databases of sessions that were killed (their process is gone): rebuilt anyway."""
    for path in out.glob(".abc-*.db"):
        try:
            pid = int(path.name.split("-")[1])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            path.unlink(missing_ok=True)
        except OSError:
            pass
