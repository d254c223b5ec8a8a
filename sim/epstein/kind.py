"""Epstein's civil violence (Epstein 2002) as a scenario kind (see ``sim.kinds``): a step is the
time unit, so ``--duration`` and a sweep's ``duration_s`` count steps."""

from __future__ import annotations

import time
from pathlib import Path

from ..headlines import SCHEMA_LINE, worth_opening
from ..headlines import duration as took
from ..stepping import step_to_end
from .outputs import DICTIONARY as OUTPUTS  # noqa: F401 - offered to sim.kinds
from .scenario import MODEL, EpsteinScenario, parse_epstein

NAME = MODEL
DURATION_UNIT = "steps"
RUN_CHUNK = 50  # steps per call of the engine (Python between steps costs as much as a small grid's step)
METRICS = {
    "peak_active": "most citizens active at once",
    "citizens": "citizens",
    "cops": "cops",
}
COUNT_FAMILIES = {
    "final_counts": ("quiet", "active", "jailed"),
    "mean_counts": ("quiet", "active", "jailed"),
}
FAMILY_LABELS = {"final_counts": "{} at the end", "mean_counts": "mean {}"}
RENAMED_METRICS: dict[str, str] = {}  # metric names a sweep may not list -> what replaces them
DEFAULT_METRICS = ("peak_active", "mean_counts.active", "mean_counts.jailed")


def parse(data: dict, *, file: str | None = None, base_dir=None) -> EpsteinScenario:
    return parse_epstein(data, file=file)


BYTES_PER_CELL = 64  # the grid, what stands on each cell, traits, the counts' padded scratch (twice on two workers)
BYTES_PER_AGENT = 40  # positions, kind, state, hardship, risk, jail term


def check(scenario: EpsteinScenario) -> None:
    """The torus fits in this machine's memory (refused before anything is allocated)."""
    from ..resources import check_memory

    g, a = scenario.grid, scenario.agents
    need = g.width * g.height * (BYTES_PER_CELL + BYTES_PER_AGENT * (a.citizen_density + a.cop_density))
    check_memory(need, f"a {g.width:,} x {g.height:,} torus", path="grid", file=scenario.source,
                 hint="a smaller grid")


def describe(scenario: EpsteinScenario) -> str:
    return scenario.describe()


def duration(scenario: EpsteinScenario) -> int:
    return scenario.steps


def run(scenario: EpsteinScenario, *, duration: float | None, engine: str, out: Path, progress: bool):
    """Build the model, run its steps (``duration`` of them if given) and write ``out``; a RunOutcome."""
    from ..errors import ScenarioError
    from .model import EpsteinModel
    from .report import write

    if duration is not None and duration != int(duration):
        raise ScenarioError(f"an Epstein scenario runs in whole steps; --duration {duration:g} is not one",
                            file=scenario.source)
    check(scenario)
    t_setup = time.perf_counter()
    model = EpsteinModel(scenario, engine=engine, steps=None if duration is None else int(duration),
                         agent_views=False)
    setup_s = time.perf_counter() - t_setup
    return step_to_end(model, scenario.name, progress,
                       lambda run_s, partial: write(model, out, setup_s, run_s, partial=partial), chunk=RUN_CHUNK)


FIGURES = (("figures/counts.png", "quiet, active and jailed citizens over the steps, outbursts marked"),
           ("figures/grid.png", "the torus at the end"), ("summary.json", "the run in numbers"), SCHEMA_LINE)


def headline(outcome, wall_s: float) -> str:
    """What ``protest-sim run`` prints at the end: the peak, the outbursts, the counts at the end, the time
    taken, and the files worth opening."""
    s = outcome.summary
    end = s.get("final_counts", {})
    lines = [f"{s.get('scenario', '')} (seed {s.get('seed')}): {s.get('steps', 0):,} steps in {took(wall_s)}",
             f"  peak active: {s.get('peak_active', 0):,} of {s.get('citizens', 0):,} citizens; outbursts: "
             f"{len(s.get('outbursts', []))}; at the end {end.get('quiet', 0):,} quiet, {end.get('active', 0):,} "
             f"active, {end.get('jailed', 0):,} jailed"]
    return "\n".join(lines + worth_opening(outcome.path, list(FIGURES)))
