"""The numbers kept from each run: which exist for a model kind, their labels, and their values
(NaN where a run has none, such as no force used).

A metric is a name of the run's ``summary.json`` or an expression over its time series:

==========================================  =====================================================
``injured_protesters``                      a summary number (``sim.kinds``: ``METRICS``, members
                                            of ``COUNT_FAMILIES`` such as
                                            ``final_counts.protesters.active``)
``timeseries.COLUMN@21:00``                 a time-series column at a clock time (the last row
                                            recorded at or before it); ``@+3600`` counts seconds
                                            (steps, for step-counted kinds) after the start
``max:timeseries.COLUMN``                   over the whole run: ``max``, ``min``, ``mean``,
                                            ``final``, and ``time_of_max`` (seconds after the
                                            start of the first maximum)
``cleared:PLACE``                           seconds after the start at which PLACE is cleared
                                            (``sim.run.series.cleared_at`` defines it)
``sum:A,B``  ``share:A,B``                  A + B, and A / (A + B) (NaN when both are 0), of
                                            any of the above
==========================================  =====================================================

Column names are read from the runs themselves (``sim.run.series.probe_columns`` runs the base
scenario for one step to learn them), never from a list kept here, so a renamed column needs no
change in this module. Values are computed in the worker that ran the run (``values``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..config import suggest
from ..errors import ScenarioError

# every kind's summary has these
COMMON = {
    "steps": "steps",
    "wall_seconds": "wall-clock seconds of the run",
    "setup_seconds": "wall-clock seconds of the set-up",
    "run_seconds": "wall-clock seconds stepping",
    "agent_steps_per_second": "agent-steps per second",
}
STATS = ("max", "min", "mean", "final", "time_of_max")
COMBOS = ("sum", "share")
TIMESERIES = "timeseries."
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TIMING = ("wall_seconds", "setup_seconds", "run_seconds", "agent_steps_per_second")  # differ between machines


def metric_names(kind) -> list[str]:
    """Every summary metric name a sweep over a scenario of ``kind`` (a ``sim.kinds`` module) may list."""
    return list(kind.METRICS) + list(COMMON) + [f"{fam}.{k}" for fam, keys in kind.COUNT_FAMILIES.items()
                                                for k in keys]


@dataclass(frozen=True)
class Metric:
    """One parsed metric: ``op`` is "summary", "at", a statistic of ``STATS``, "cleared" or a combo."""

    name: str
    op: str
    key: str = ""  # summary name, time-series column, or place
    at: float = math.nan  # "at": offset from the start, in the kind's unit
    parts: tuple = ()  # combos: the Metrics combined
    families: tuple = ()  # the kind's count families (absent members of a present family are 0)

    @property
    def needs_timeseries(self) -> bool:
        return self.op != "summary" and (self.op not in COMBOS or any(p.needs_timeseries for p in self.parts))

    def columns(self) -> set[str]:
        """The time-series columns it reads (places are resolved to columns later)."""
        if self.op in COMBOS:
            return set().union(*(p.columns() for p in self.parts))
        return {self.key} if self.op == "at" or self.op in STATS else set()

    def value(self, summary: dict, frame=None) -> float:
        """Its value for a run with this summary and time series (a pandas DataFrame)."""
        from . import series

        if self.op == "summary":
            return summary_value(summary, self.key, self.families)
        if self.op in COMBOS:
            vals = [p.value(summary, frame) for p in self.parts]
            total = math.fsum(vals)
            if self.op == "sum":
                return total
            return vals[0] / total if total != 0 else math.nan
        if frame is None or len(frame) == 0:
            return math.nan
        if self.op == "at":
            return series.value_at(frame, self.key, self.at)
        if self.op == "cleared":
            return series.cleared_at(frame, self.key, summary)
        return series.statistic(frame, self.key, self.op)


def parse_metric(name, kind, *, scenario=None, duration: float | None = None, path: str = "") -> Metric:
    """``name`` as a :class:`Metric` of ``kind``; with ``scenario`` and ``duration`` (the run's length,
    in the kind's unit), clock times outside the run and unknown places are refused too. Every
    mistake is a ScenarioError at ``path``."""
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"expected a metric name, got {name!r}", path=path)
    families = tuple(kind.COUNT_FAMILIES)
    head, colon, rest = ("", "", "") if name.startswith(TIMESERIES) else name.partition(":")
    if colon and head in COMBOS:
        items = rest.split(",")
        if len(items) < 2 or not all(items):
            raise ScenarioError(f"{head}: combines two or more metrics separated by commas, e.g. "
                                f"{head}:injured_police,injured_protesters", path=path)
        parts = tuple(parse_metric(i.strip(), kind, scenario=scenario, duration=duration, path=path) for i in items)
        if any(p.op in COMBOS for p in parts):
            raise ScenarioError(f"{name!r}: sum and share do not nest", path=path)
        return Metric(name=name, op=head, parts=parts, families=families)
    if colon and head in STATS:
        column = _column(rest, name, path)
        return Metric(name=name, op=head, key=column, families=families)
    if colon and head == "cleared":
        places = _places(scenario)
        if not rest or (places is not None and rest not in places):
            raise ScenarioError(f"cleared: needs a place of the scenario's map, got {rest!r}"
                                f"{suggest(rest, places or [])}", path=path)
        return Metric(name=name, op="cleared", key=rest, families=families)
    if colon:
        raise ScenarioError(f"unknown metric {name!r}: {head!r} is not one of {', '.join(STATS + COMBOS)}, "
                            "cleared", path=path)
    if name.startswith(TIMESERIES):
        column, at, when = name[len(TIMESERIES):].partition("@")
        if not at:
            raise ScenarioError(f"{name!r}: a time-series value needs a time, e.g. {name}@21:00 (clock) or "
                                f"{name}@+3600 (after the start); or a statistic, e.g. max:{name}", path=path)
        _column(TIMESERIES + column, name, path)
        offset = _offset(when, name, kind, scenario, duration, path)
        return Metric(name=name, op="at", key=column, at=offset, families=families)
    if name in kind.RENAMED_METRICS:
        raise ScenarioError(f"the metric {name!r} is now {kind.RENAMED_METRICS[name]}", path=path)
    known = metric_names(kind)
    if name not in known:
        raise ScenarioError(f"unknown metric {name!r} for the {kind.NAME} model{suggest(name, known)}; or an "
                            "expression such as timeseries.COLUMN@21:00, max:timeseries.COLUMN, cleared:PLACE, "
                            "share:A,B", path=path)
    return Metric(name=name, op="summary", key=name, families=families)


def _column(text: str, name: str, path: str) -> str:
    if not text.startswith(TIMESERIES) or not text[len(TIMESERIES):] or "@" in text:
        raise ScenarioError(f"{name!r}: expected timeseries.COLUMN after the colon", path=path)
    return text[len(TIMESERIES):]


def _places(scenario):
    places = getattr(scenario, "place_names", None)
    return tuple(places()) if callable(places) else None


def _offset(when: str, name: str, kind, scenario, duration, path: str) -> float:
    """The time of ``@when`` as an offset from the run's start, in the kind's unit; checked within the run."""
    start = getattr(scenario, "start_clock_s", None)
    if when.startswith("+"):
        try:
            offset = float(when[1:])
        except ValueError:
            offset = math.nan
        if not math.isfinite(offset) or offset < 0:
            raise ScenarioError(f"{name!r}: expected @+N with N >= 0 {kind.DURATION_UNIT} after the start",
                                path=path)
    else:
        m = _CLOCK.match(when)
        if not m or int(m[1]) > 23 or int(m[2]) > 59 or int(m[3] or 0) > 59:
            raise ScenarioError(f"{name!r}: expected a clock time HH:MM[:SS] or +N after the @", path=path)
        if scenario is not None and start is None:
            raise ScenarioError(f"{name!r}: {kind.NAME} scenarios have no clock; use @+N ({kind.DURATION_UNIT} "
                                "after the start)", path=path)
        clock = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3] or 0)
        offset = float((clock - (start or 0.0)) % 86400)
    if duration is not None and offset > duration + 1e-9:
        end = "" if start is None else f" (it ends at {_clock(start + duration)})"
        raise ScenarioError(f"{name!r} is after the end of the run, {duration:g} {kind.DURATION_UNIT} after its "
                            f"start{end}", path=path)
    return offset


def _clock(seconds: float) -> str:
    s = int(round(seconds)) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}" + (f":{s % 60:02d}" if s % 60 else "")


def check_columns(metrics, columns, paths) -> None:
    """Refuse metrics naming time-series columns (or places) the runs do not record."""
    from .series import place_column

    for metric, path in zip(metrics, paths):
        todo = metric.parts if metric.op in COMBOS else (metric,)
        for m in todo:
            if m.op == "cleared":
                if place_column(columns, m.key) is None:
                    raise ScenarioError(f"{m.name!r}: the runs record no count of people in {m.key!r}", path=path)
                continue
            for column in m.columns():
                if column not in columns:
                    raise ScenarioError(f"{m.name!r}: the runs record no time-series column {column!r}"
                                        f"{suggest(column, columns)}", path=path)


def parse_metrics(names, kind, *, scenario=None, duration: float | None = None, path: str = "metrics",
                  paths=None) -> tuple[Metric, ...]:
    """A list of metric names, each parsed (errors at ``path.k``, or at ``paths[k]``); time-series
    columns are checked against what a one-step run of ``scenario`` records."""
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(v, str) for v in names):
        raise ScenarioError("expected a non-empty list of metric names", path=path)
    paths = list(paths) if paths is not None else [f"{path}.{k}" for k in range(len(names))]
    out = tuple(parse_metric(n, kind, scenario=scenario, duration=duration, path=p) for n, p in zip(names, paths))
    seen = set()
    for m, p in zip(out, paths):
        if m.name in seen:
            raise ScenarioError(f"metric {m.name!r} is listed twice", path=p)
        seen.add(m.name)
    if scenario is not None and any(m.needs_timeseries for m in out):
        from .series import probe_columns

        check_columns(out, probe_columns(scenario, kind), paths)
    return out


def is_timing(name: str) -> bool:
    """Whether a metric measures the machine rather than the model (left out of equality checks)."""
    return name in _TIMING


def metric_label(kind, name: str) -> str:
    """A label for axes and tables: "protesters injured", "injured by gas", "quiet at the end".

    A kind's ``FAMILY_LABELS`` gives a family a format with one ``{}`` for the member, or a dict of
    one label per member."""
    if name in kind.METRICS:
        return kind.METRICS[name]
    if name in COMMON:
        return COMMON[name]
    head, colon, rest = ("", "", "") if name.startswith(TIMESERIES) else name.partition(":")
    if colon and head in COMBOS:
        labels = [metric_label(kind, p.strip()) for p in rest.split(",")]
        return " + ".join(labels) if head == "sum" else f"share of {labels[0]} in {' + '.join(labels)}"
    if colon and head in STATS:
        column = rest[len(TIMESERIES):].replace("_", " ")
        return f"time of the peak of {column} (s)" if head == "time_of_max" else f"{head} of {column}"
    if colon and head == "cleared":
        return f"time {rest.replace('_', ' ')} is cleared (s after the start)"
    if name.startswith(TIMESERIES):
        column, _, when = name[len(TIMESERIES):].partition("@")
        return f"{column.replace('_', ' ')} at {when}"
    family, _, key = name.rpartition(".")
    label = kind.FAMILY_LABELS.get(family, family + " {}")
    if isinstance(label, dict):  # one label per member
        return label[key]
    return label.format(key.replace("_", " "))


def metric_value(summary: dict, name: str, kind) -> float:
    """A summary metric out of a run's summary: a number, or NaN when it has none."""
    return summary_value(summary, name, tuple(kind.COUNT_FAMILIES))


def summary_value(summary: dict, name: str, families=()) -> float:
    """A number of ``summary`` at the dotted ``name``; NaN when it has none. A member of a count
    family (``families``) the summary lists only when non-zero is 0 when absent."""
    node = summary
    parts = name.split(".")
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            family = ".".join(parts[:-1])
            return 0.0 if family in families and _lookup(summary, family) is not None else math.nan
    if isinstance(node, bool):
        return float(node)
    if isinstance(node, (int, float)):
        return float(node)
    return math.nan


def values(metrics, summary: dict, run_dir=None) -> dict[str, float]:
    """Every metric's value for one run; its time series is read (once) only if one needs it."""
    frame = None
    if run_dir is not None and any(m.needs_timeseries for m in metrics):
        import pandas as pd
        from pathlib import Path

        frame = pd.read_parquet(Path(run_dir) / "timeseries.parquet")
    return {m.name: float(m.value(summary, frame)) for m in metrics}


def _lookup(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d
