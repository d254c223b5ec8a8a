"""The numbers a sweep keeps from each run's ``summary.json``: which exist for a model kind, their
labels, and their values (NaN where a run has none, such as no force used)."""

from __future__ import annotations

import math

# every kind's summary has these
COMMON = {
    "steps": "steps",
    "wall_seconds": "wall-clock seconds of the run",
    "setup_seconds": "wall-clock seconds of the set-up",
    "run_seconds": "wall-clock seconds stepping",
    "agent_steps_per_second": "agent-steps per second",
}


def metric_names(kind) -> list[str]:
    """Every metric name a sweep over a scenario of ``kind`` (a ``sim.kinds`` module) may list."""
    return list(kind.METRICS) + list(COMMON) + [f"{fam}.{k}" for fam, keys in kind.COUNT_FAMILIES.items()
                                                for k in keys]


def metric_label(kind, name: str) -> str:
    """A label for axes and tables: "protesters injured", "injured by gas", "quiet at the end".

    A kind's ``FAMILY_LABELS`` gives a family a format with one ``{}`` for the member, or a dict of
    one label per member."""
    if name in kind.METRICS:
        return kind.METRICS[name]
    if name in COMMON:
        return COMMON[name]
    family, _, key = name.rpartition(".")
    label = kind.FAMILY_LABELS.get(family, family + " {}")
    if isinstance(label, dict):  # one label per member
        return label[key]
    return label.format(key.replace("_", " "))


def metric_value(summary: dict, name: str, kind) -> float:
    """A metric out of a run's summary: a number, or NaN when it has none. A member of a count
    family the summary lists only when non-zero is 0 when absent."""
    node = summary
    parts = name.split(".")
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            family = ".".join(parts[:-1])
            return 0.0 if family in kind.COUNT_FAMILIES and _lookup(summary, family) is not None else math.nan
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
