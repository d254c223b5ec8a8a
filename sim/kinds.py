"""The model kinds a scenario file can describe: the only module that names them all.

A scenario file says which model it is for in ``[scenario] model = "..."`` (no key: the protest
model). Each kind is a package with a ``kind`` module offering the same few functions, so the
command line, the runner and batches never test for a particular model:

* ``NAME``: the value of ``[scenario] model``;
* ``parse(data, *, file, base_dir)``: the TOML document -> that kind's scenario object
  (every mistake a ScenarioError naming the key path);
* ``check(scenario)``: what can only be checked against the map or the machine (capacity,
  reachable goals, memory), before anything runs;
* ``describe(scenario)``: the one line ``protest-sim validate`` prints;
* ``run(scenario, *, duration, engine, out, progress)``: run it into the run folder ``out``,
  returning a :class:`sim.results.RunOutcome`;
* ``DURATION_UNIT`` ("s" or "steps") and ``duration(scenario)``: what ``--duration`` counts;
* ``METRICS``, ``COUNT_FAMILIES``, ``FAMILY_LABELS`` and ``DEFAULT_METRICS``: the summary numbers a
  sweep may keep, and their labels (see ``sim.run.metrics``); ``RENAMED_METRICS``: names that no
  longer exist -> what replaces them (a sweep naming one is refused with that hint);
* ``OUTPUTS``: the data dictionary of its run folders (``sim.schema.Dictionary``);
* ``headline(outcome, wall_s)``: the lines ``protest-sim run`` prints at the end of a run.

Scenario objects of every kind have ``model``, ``name``, ``seed``, ``source``, ``with_seed``,
``with_values`` (dotted key paths, re-validated) and ``to_toml``. Adding a model kind means a
package with such a ``kind`` module and one line in :data:`KINDS`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

from .config import load_toml, suggest
from .errors import ScenarioError

KINDS = {
    "protest": "sim.protest.kind",
    "epstein_2002": "sim.epstein.kind",
}
DEFAULT = "protest"


def dictionaries() -> list:
    """Every kind's data dictionary (``OUTPUTS``), in registry order: what ``docs/outputs.md`` lists."""
    return [kind(name).OUTPUTS for name in KINDS]


def kind(name: str) -> ModuleType:
    """The kind module registered under ``name``."""
    if name not in KINDS:
        raise ScenarioError(f"unknown model {name!r}{suggest(name, KINDS)}", path="scenario.model")
    return import_module(KINDS[name])


def kind_of(scenario) -> ModuleType:
    """The kind module of a parsed scenario."""
    return kind(scenario.model)


def model_of(data) -> str:
    """The kind a TOML document asks for (``[scenario] model``, else the protest model)."""
    head = data.get("scenario") if isinstance(data, dict) else None
    name = head.get("model", DEFAULT) if isinstance(head, dict) else DEFAULT
    if not isinstance(name, str):
        raise ScenarioError(f"expected a model name, got {name!r}", path="scenario.model")
    return name


def parse_scenario(data: dict, *, file: str | None = None, base_dir=None):
    """A parsed scenario of whichever kind the document asks for; errors name ``file``."""
    try:
        return kind(model_of(data)).parse(data, file=file, base_dir=Path(base_dir) if base_dir else None)
    except ScenarioError as err:
        raise err.with_file(file) if file and not err.file else err


def load_scenario(path):
    """Read and validate a scenario file of any kind."""
    path = Path(path)
    return parse_scenario(load_toml(path, what="scenario file"), file=str(path), base_dir=path.parent)
