"""Global sensitivity analysis of a scenario's settings with SALib: Morris screening (elementary
effects) and Sobol' indices (Saltelli's sampling), on the batch engine.

    [sensitivity]
    scenario = "../bishkek_2020_10_05.toml"   # relative to the spec file
    methods = ["morris", "sobol"]
    metrics = ["injured_protesters", "cleared:ala_too_square"]   # any metric (sim.run.metrics)
    replicates = 1               # runs per design point (metrics averaged over them)
    seeds = "common"             # common random numbers: every point's replicate r has the same seed
    morris_trajectories = 10     # r: r (k + 1) points for k parameters
    morris_levels = 4
    sobol_samples = 64           # N, a power of 2: N (k + 2) points (N (2k + 2) with second order)
    sobol_second_order = false
    bootstrap = 1000             # resamples for the 95% confidence intervals
    [quick]                      # what --quick changes (a small budget for tests and CI)
    [parameters."protest.baton_per_s"]   # sim.run.design
    low = 0.005
    high = 0.05

SALib designs points in the unit cube; each parameter maps its coordinate through the quantile
function of its distribution (so a loguniform range is screened evenly in its logarithm). The
Morris mu* is then in the metric's unit per sweep of a parameter over its whole range, comparable
between parameters. Common random numbers (the default) give every design point the same seeds,
so a parameter that does not enter the model changes nothing and scores exactly zero, and the
noise of the model does not drown small effects. Runs are batch runs (``sim.run.evaluate``):
killed and run again, nothing is repeated.

Outputs: ``indices.parquet`` (method, metric, parameter, index, value and its 95% interval),
``samples.parquet`` (every design point and its metrics), ``evaluations.parquet`` and ``runs/``,
``sensitivity.json`` and ``figures/`` (the parameters ranked, per metric).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_file, write_json, write_text
from ..config import choice, load_toml, number
from ..errors import ScenarioError
from .design import HEAD_KEYS, Design, parse_design, section
from .metrics import parse_metrics

METHODS = ("morris", "sobol")
KEYS = HEAD_KEYS + ("methods", "metrics", "replicates", "seeds", "morris_trajectories", "morris_levels",
                    "sobol_samples", "sobol_second_order", "bootstrap")


@dataclass(frozen=True)
class SensitivitySpec:
    design: Design
    metrics: tuple = ()  # sim.run.metrics.Metric
    methods: tuple[str, ...] = METHODS
    replicates: int = 1
    seeds: str = "common"
    morris_trajectories: int = 10
    morris_levels: int = 4
    sobol_samples: int = 64
    sobol_second_order: bool = False
    bootstrap: int = 1000
    raw: dict = field(default_factory=dict, repr=False)

    def problem(self) -> dict:
        names = self.design.names
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    def budget(self) -> dict:
        """Design points and runs per method."""
        k = len(self.design.parameters)
        points = {"morris": self.morris_trajectories * (k + 1),
                  "sobol": self.sobol_samples * ((2 * k + 2) if self.sobol_second_order else (k + 2))}
        return {m: {"points": points[m], "runs": points[m] * self.replicates} for m in self.methods}


def load_sensitivity(path, *, quick: bool = False) -> SensitivitySpec:
    path = Path(path)
    data = load_toml(path, what="sensitivity spec")
    try:
        return parse_spec(data, path, quick)
    except ScenarioError as err:
        raise err.with_file(str(path)) if not err.file else err


def parse_spec(data: dict, path: Path, quick: bool = False) -> SensitivitySpec:
    head = section(data, "sensitivity", KEYS, quick)
    design = parse_design(data, path, head, "sensitivity", quick)

    def where(key):
        return f"quick.{key}" if quick and key in data.get("quick", {}) else f"sensitivity.{key}"

    methods = head.get("methods", list(METHODS))
    if not isinstance(methods, list) or not methods:
        raise ScenarioError("expected a non-empty list, e.g. [\"morris\", \"sobol\"]", path=where("methods"))
    for k, m in enumerate(methods):
        choice(m, f"{where('methods')}.{k}", METHODS)
    if "metrics" not in head:
        raise ScenarioError("missing required key: the metrics to analyse", path="sensitivity.metrics")
    metrics = parse_metrics(head["metrics"], design.kind, scenario=design.base, duration=design.run_duration,
                            path=where("metrics"))
    ints = {}
    for key, default, low in (("replicates", 1, 1), ("morris_trajectories", 10, 2), ("morris_levels", 4, 2),
                              ("sobol_samples", 64, 2), ("bootstrap", 1000, 10)):
        ints[key] = number(head.get(key, default), where(key), low=low, high=1_000_000, integer=True)
    if ints["sobol_samples"] & (ints["sobol_samples"] - 1):
        raise ScenarioError(f"{ints['sobol_samples']} is not a power of 2 (Sobol' sequences are balanced at "
                            "powers of 2: 16, 32, 64...)", path=where("sobol_samples"))
    second = head.get("sobol_second_order", False)
    if not isinstance(second, bool):
        raise ScenarioError("expected true or false", path=where("sobol_second_order"))
    seeds = choice(head.get("seeds", "common"), where("seeds"), ("common", "independent"))
    spec = SensitivitySpec(design=design, metrics=metrics, methods=tuple(dict.fromkeys(methods)), seeds=seeds,
                           sobol_second_order=second, raw=data, **ints)
    runs = sum(b["runs"] for b in spec.budget().values())
    if runs > 1_000_000:
        raise ScenarioError(f"{runs:,} runs; at most 1,000,000", path="sensitivity")
    return spec


def sample(spec: SensitivitySpec, method: str) -> np.ndarray:
    """SALib's design for ``method`` in the unit cube, reproducible from the spec's base seed."""
    problem = spec.problem()
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, spec.morris_trajectories, num_levels=spec.morris_levels,
                             seed=spec.design.base_seed)
    from SALib.sample import sobol

    return sobol.sample(problem, spec.sobol_samples, calc_second_order=spec.sobol_second_order,
                        seed=spec.design.base_seed)


def analyze(spec: SensitivitySpec, method: str, unit: np.ndarray, y: np.ndarray) -> list[dict]:
    """SALib's indices of one metric's outputs ``y`` (one per design row), as rows with 95% intervals."""
    problem, names, seed = spec.problem(), spec.design.names, spec.design.base_seed
    if not np.isfinite(y).all():
        return [{"parameter": n, "index": i, "value": math.nan, "conf": math.nan}
                for n in names for i in (("mu_star", "mu", "sigma") if method == "morris" else ("S1", "ST"))]
    if np.ptp(y) == 0:  # the metric never changed: no effect, no variance to apportion
        return [{"parameter": n, "index": i, "value": 0.0, "conf": 0.0}
                for n in names for i in (("mu_star", "mu", "sigma") if method == "morris" else ("S1", "ST"))]
    rows = []
    if method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(problem, unit, y, num_resamples=spec.bootstrap, conf_level=0.95,
                             num_levels=spec.morris_levels, seed=seed)
        for k, n in enumerate(names):
            rows += [{"parameter": n, "index": "mu_star", "value": res["mu_star"][k], "conf": res["mu_star_conf"][k]},
                     {"parameter": n, "index": "mu", "value": res["mu"][k], "conf": math.nan},
                     {"parameter": n, "index": "sigma", "value": res["sigma"][k], "conf": math.nan}]
        return rows
    from SALib.analyze import sobol

    res = sobol.analyze(problem, y, calc_second_order=spec.sobol_second_order, num_resamples=spec.bootstrap,
                        conf_level=0.95, seed=seed)
    for k, n in enumerate(names):
        rows += [{"parameter": n, "index": "S1", "value": res["S1"][k], "conf": res["S1_conf"][k]},
                 {"parameter": n, "index": "ST", "value": res["ST"][k], "conf": res["ST_conf"][k]}]
    if spec.sobol_second_order:
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                rows.append({"parameter": f"{names[a]} x {names[b]}", "index": "S2", "value": res["S2"][a, b],
                             "conf": res["S2_conf"][a, b]})
    return rows


def default_out(spec: SensitivitySpec) -> Path:
    stem = Path(spec.design.source).stem + ("-quick" if spec.design.quick else "")
    return Path("results") / "sensitivity" / stem


def run_sensitivity(spec_or_path, *, workers=None, scheduler=None, out=None, quick: bool = False,
                    progress: bool = True, executor=None, figures: bool = True) -> Path:
    """Run (or complete) a sensitivity analysis; returns its folder."""
    from .evaluate import Evaluator
    from .outputs import check_out, resolve_scheduler

    spec = spec_or_path if isinstance(spec_or_path, SensitivitySpec) else load_sensitivity(spec_or_path, quick=quick)
    d = spec.design
    out = check_out(Path(out) if out is not None else default_out(spec), "sensitivity.json")
    t0 = time.perf_counter()
    ev = Evaluator(d, spec.metrics, out, workers=workers or d.workers, executor=executor, progress=progress,
                   scheduler=resolve_scheduler(scheduler, d.scheduler))
    info = {"status": "running", "name": d.name, "description": d.description, "spec": d.source,
            "scenario": d.scenario_path, "quick": d.quick, "parameters": [p.__dict__ for p in d.parameters],
            "metrics": [m.name for m in spec.metrics], "methods": list(spec.methods), "budget": spec.budget(),
            "replicates": spec.replicates, "seeds": spec.seeds, "base_seed": d.base_seed,
            "duration": d.run_duration, "engine": d.engine}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "sensitivity.json", info)
    if Path(d.source).is_file():
        write_text(out / "spec.toml", Path(d.source).read_text(encoding="utf-8"), sync=False)
    indices, samples, finished = [], [], False
    try:
        for method in spec.methods:
            unit = sample(spec, method)
            points = [d.point([p.from_unit(u) for p, u in zip(d.parameters, row)]) for row in unit]
            specs = [ev.spec(pt, d.seed_for(None if spec.seeds == "common" else pt, r), r)
                     for pt in points for r in range(spec.replicates)]
            rows = ev.evaluate(specs, f"{d.name}: {method}")
            frame = pd.DataFrame([{m.name: row[m.name] for m in spec.metrics} for row in rows])
            means = frame.groupby(np.repeat(np.arange(len(points)), spec.replicates)).mean()
            table = pd.DataFrame(points)
            table.insert(0, "sample", np.arange(len(points)))
            table.insert(0, "method", method)
            samples.append(pd.concat([table, means.reset_index(drop=True)], axis=1))
            for m in spec.metrics:
                y = means[m.name].to_numpy(dtype=float)
                for r in analyze(spec, method, unit, y):
                    indices.append({"method": method, "metric": m.name, **r, "missing_runs": int((~np.isfinite(y)).sum())})
        finished = True
    finally:
        ev.close(kill=not finished)
    idx = pd.DataFrame(indices)
    idx["conf_low"] = idx["value"] - idx["conf"]
    idx["conf_high"] = idx["value"] + idx["conf"]
    write_file(out / "indices.parquet", lambda fh: idx.to_parquet(fh, index=False), sync=False)
    smp = pd.concat(samples, ignore_index=True)
    write_file(out / "samples.parquet", lambda fh: smp.to_parquet(fh, index=False), sync=False)
    if figures:
        from .sensitivity_plots import plot_rankings

        info["figures"] = [str(p.relative_to(out)) for p in plot_rankings(idx, spec, out / "figures")]
    info.update(status="complete", session={**ev.session(), "wall_seconds": round(time.perf_counter() - t0, 3)},
                ranking=ranking(idx))
    write_json(out / "sensitivity.json", info)
    return out


def ranking(idx: pd.DataFrame) -> dict:
    """Per method and metric, the parameters from most to least influential (mu* or ST)."""
    out = {}
    for (method, metric), g in idx.groupby(["method", "metric"], sort=False):
        key = "mu_star" if method == "morris" else "ST"
        g = g[g["index"] == key].sort_values("value", ascending=False)
        out.setdefault(method, {})[metric] = [[r.parameter, _num(r.value), _num(r.conf)] for r in g.itertuples()]
    return out


def _num(x) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)

