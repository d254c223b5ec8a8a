"""What sensitivity and calibration specs share: the base scenario and how its runs go (length,
engine, seed, workers), the ``[quick]`` budget, and the parameters, named by scenario key paths,
each with a range and a distribution over it.

    [parameters."protest.baton_per_s"]            # any key path of the scenario
    low = 0.005                                   # the range (units of the setting)
    high = 0.05
    distribution = "loguniform"                   # uniform (default), loguniform, truncnorm
    # mean = 0.02, sd = 0.01                      # truncnorm only: a normal cut to [low, high]

A parameter whose value in the base scenario is an integer (a head count) is rounded. The whole
spec is checked before anything runs: unknown keys, empty ranges, and ranges outside what the
scenario accepts (``low`` and ``high`` are applied to it, alone and together, and checked the way
a run would be), each one line naming the file and key path.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check_keys, choice, number
from ..core import ENGINES
from ..errors import ScenarioError
from ..kinds import kind_of, load_scenario
from .sweep import apply_point, derive_seed

DISTRIBUTIONS = ("uniform", "loguniform", "truncnorm")
HEAD_KEYS = ("name", "description", "scenario", "duration_s", "engine", "base_seed")
_PARAM_KEYS = ("low", "high", "distribution", "mean", "sd")


@dataclass(frozen=True)
class Parameter:
    """One uncertain setting: a scenario key path, its range and its distribution."""

    path: str
    low: float
    high: float
    distribution: str = "uniform"
    mean: float | None = None
    sd: float | None = None
    integer: bool = False  # rounded before it reaches the scenario (head counts)

    def _scipy(self):
        from scipy import stats

        if self.distribution == "loguniform":
            return stats.loguniform(self.low, self.high)
        if self.distribution == "truncnorm":
            return stats.truncnorm((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd,
                                   loc=self.mean, scale=self.sd)
        return stats.uniform(self.low, self.high - self.low)

    def from_unit(self, u) -> np.ndarray:
        """Points of the unit interval (SALib's designs, pyabc's particles) to values of the parameter
        (its quantiles)."""
        return np.clip(self._scipy().ppf(np.clip(np.asarray(u, dtype=float), 0.0, 1.0)), self.low, self.high)

    def to_unit(self, x) -> np.ndarray:
        """Values of the parameter to the unit interval (its distribution function): ``from_unit`` undone."""
        return np.clip(self._scipy().cdf(np.asarray(x, dtype=float)), 0.0, 1.0)

    def value(self, x: float):
        """What the scenario gets: rounded for integer settings, otherwise 12 significant digits."""
        x = min(max(float(x), self.low), self.high)
        return int(round(x)) if self.integer else float(f"{x:.12g}")


@dataclass(frozen=True)
class Design:
    """A spec's base scenario, how its runs go, and its parameters (in file order)."""

    name: str
    description: str
    source: str
    scenario_path: str
    base: object = field(repr=False)
    parameters: tuple[Parameter, ...] = ()
    duration_s: float | None = None
    engine: str = "numba"
    base_seed: int = 0
    workers: int | None = None
    scheduler: str | None = None
    quick: bool = False

    @property
    def kind(self):
        return kind_of(self.base)

    @property
    def run_duration(self) -> float:
        """Each run's length, in the kind's unit (seconds, or steps)."""
        return float(self.duration_s if self.duration_s is not None else self.kind.duration(self.base))

    @property
    def names(self) -> list[str]:
        return [p.path for p in self.parameters]

    def point(self, xs) -> dict:
        """Parameter values (floats, in file order) as the scenario's key paths and values."""
        return {p.path: p.value(x) for p, x in zip(self.parameters, xs)}

    def scenario_at(self, params: dict):
        return apply_point(self.base, params, self.names)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.base.to_toml().encode()).hexdigest()

    def seed_for(self, params: dict | None, replicate: int) -> int:
        """A run's seed: from the base seed, the point (None: common to all points) and the replicate."""
        key = None if params is None else int(hashlib.sha256(json.dumps(params, sort_keys=True).encode())
                                               .hexdigest()[:8], 16)
        return derive_seed(self.base_seed, key, replicate)


def section(data: dict, name: str, allowed, quick: bool) -> dict:
    """The spec's ``[name]`` table, with its ``[quick]`` values laid over it when ``quick``."""
    check_keys(data, (name, "parameters", "batch", "quick", *(("targets",) if name == "calibration" else ())), "")
    table = data.get(name)
    if not isinstance(table, dict):
        raise ScenarioError(f"missing the [{name}] table", path=name)
    check_keys(table, allowed, name)
    over = data.get("quick", {})
    if not isinstance(over, dict):
        raise ScenarioError("expected a table of the values a --quick run uses instead", path="quick")
    check_keys(over, [k for k in allowed if k not in ("name", "description", "scenario")], "quick")
    return {**table, **over} if quick else table


def parse_design(data: dict, path: Path, head: dict, name: str, quick: bool) -> Design:
    """The shared part of a spec: ``head`` is its (quick-adjusted) ``[name]`` table."""
    src = head.get("scenario")
    if not isinstance(src, str):
        raise ScenarioError("expected the path of the base scenario file", path=f"{name}.scenario")
    scenario_file = (path.parent / src).resolve()
    if not scenario_file.is_file():
        raise ScenarioError(f"no such scenario file: {src} (looked for {scenario_file})", path=f"{name}.scenario")
    base = load_scenario(scenario_file)
    kind = kind_of(base)
    title = head.get("name", path.stem)
    description = head.get("description", "")
    for key, value in (("name", title), ("description", description)):
        if not isinstance(value, str):
            raise ScenarioError(f"expected a string, got {value!r}", path=f"{name}.{key}")
    where = "quick" if quick and "duration_s" in data.get("quick", {}) else name
    duration = head.get("duration_s")
    if duration is not None:
        duration = number(duration, f"{where}.duration_s", low=0, low_open=True, unit=kind.DURATION_UNIT)
        if duration > kind.duration(base):
            raise ScenarioError(f"{duration:g} {kind.DURATION_UNIT} is longer than the scenario "
                                f"({kind.duration(base):g})", path=f"{where}.duration_s")
    engine = choice(head.get("engine", "numba"), f"{name}.engine", ENGINES)
    seed = number(head.get("base_seed", base.seed), f"{name}.base_seed", low=0, integer=True)
    workers, scheduler = _batch(data.get("batch", {}))
    design = Design(name=title, description=description, source=str(path), scenario_path=str(scenario_file),
                    base=base, duration_s=duration, engine=engine, base_seed=seed, workers=workers,
                    scheduler=scheduler, quick=quick)
    return Design(**{**design.__dict__, "parameters": parse_parameters(data.get("parameters"), design)})


def _batch(table) -> tuple[int | None, str | None]:
    if not isinstance(table, dict):
        raise ScenarioError("expected a table", path="batch")
    check_keys(table, ("workers", "scheduler"), "batch")
    workers = table.get("workers")
    if workers is not None:
        workers = number(workers, "batch.workers", low=1, integer=True)
    scheduler = table.get("scheduler")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ScenarioError("expected a scheduler address such as \"tcp://host:8786\"", path="batch.scheduler")
    return workers, scheduler


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and not any(k in value for k in _PARAM_KEYS):
            out.update(_flatten(value, where))
        else:
            out[where] = value
    return out


def parse_parameters(table, design: Design) -> tuple[Parameter, ...]:
    if not isinstance(table, dict) or not table:
        raise ScenarioError("expected a [parameters] table: key paths of the scenario with low and high",
                            path="parameters")
    out = []
    for key, spec in _flatten(table).items():
        where = f"parameters.{key}"
        if key == "scenario.seed":
            raise ScenarioError("the seed is not a parameter: runs' seeds derive from base_seed", path=where)
        if not isinstance(spec, dict):
            raise ScenarioError(f"expected a table {{low, high}}, got {spec!r}", path=where)
        check_keys(spec, _PARAM_KEYS, where)
        for need in ("low", "high"):
            if need not in spec:
                raise ScenarioError("missing required key", path=f"{where}.{need}")
        low, high = number(spec["low"], f"{where}.low"), number(spec["high"], f"{where}.high")
        if not high > low:
            raise ScenarioError(f"empty range: high ({spec['high']}) must be above low ({spec['low']})",
                                path=f"{where}.high")
        dist = choice(spec.get("distribution", "uniform"), f"{where}.distribution", DISTRIBUTIONS)
        mean = sd = None
        if dist == "loguniform" and low <= 0:
            raise ScenarioError("a loguniform distribution needs low > 0", path=f"{where}.low")
        if dist == "truncnorm":
            for need in ("mean", "sd"):
                if need not in spec:
                    raise ScenarioError("a truncnorm distribution needs mean and sd", path=f"{where}.{need}")
            mean = number(spec["mean"], f"{where}.mean", low=low, high=high)
            sd = number(spec["sd"], f"{where}.sd", low=0, low_open=True)
        elif "mean" in spec or "sd" in spec:
            raise ScenarioError(f"mean and sd go with distribution = \"truncnorm\", not {dist!r}", path=where)
        for other in out:
            if other.path.startswith(key + ".") or key.startswith(other.path + "."):
                raise ScenarioError(f"overlaps parameter {other.path!r}", path=where)
        current = _current(design.base.resolved(), key)
        integer = isinstance(current, int) and not isinstance(current, bool)
        if integer and math.floor(high) < math.ceil(low):
            raise ScenarioError(f"no whole number between {low:g} and {high:g} (the scenario's value is an integer)",
                                path=where)
        out.append(Parameter(path=key, low=low, high=high, distribution=dist, mean=mean, sd=sd, integer=integer))
    _check_bounds(tuple(out), design)
    return tuple(out)


def _current(raw: dict, key: str):
    node = raw
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _check_bounds(parameters: tuple[Parameter, ...], design: Design) -> None:
    """Each parameter's low and high, alone and all together, make scenarios a run accepts."""
    kind = design.kind
    names = [p.path for p in parameters]
    for p in parameters:
        for end in ("low", "high"):
            params = {p.path: p.value(getattr(p, end))}
            try:
                kind.check(apply_point(design.base, params, names))
            except ScenarioError as err:
                if "unknown key" in err.message:  # the key path itself, not its range
                    raise ScenarioError(f"unknown key path: {err.message}", path=f"parameters.{p.path}") from None
                raise ScenarioError(f"{end} = {params[p.path]} is outside what the scenario accepts: "
                                    f"{err.message}", path=f"parameters.{p.path}.{end}") from None
    for end in ("low", "high"):
        params = {p.path: p.value(getattr(p, end)) for p in parameters}
        try:
            kind.check(apply_point(design.base, params, names))
        except ScenarioError as err:
            raise ScenarioError(f"all parameters at their {end} ends make a scenario that cannot run: "
                                f"{err.message}", path="parameters") from None
