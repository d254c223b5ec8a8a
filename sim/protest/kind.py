"""The protest model as a scenario kind (see ``sim.kinds``): parse, check, describe and run its
scenarios, and the summary numbers a sweep may keep."""

from __future__ import annotations

import time
from pathlib import Path

from ..stepping import step_to_end
from .scenario import MODEL, Scenario, check_capacity, parse_scenario

NAME = MODEL
DURATION_UNIT = "s"
# the summary's numbers a sweep may keep, with their labels
METRICS = {
    "injured_protesters": "protesters injured",
    "injured_police": "police officers injured",
    "arrested": "people arrested",
    "left_the_area": "people who left the area",
    "first_force_s": "first use of force (s after the start; empty if none)",
    "gate_strength": "gate strength left (1 = intact)",
    "protesters": "protesters",
    "police": "police officers",
    "sim_seconds": "simulated seconds",
}
# families of counts whose members are absent from a summary when zero
COUNT_FAMILIES = {
    "final_counts": ("quiet", "active", "fleeing", "injured", "arrested", "left"),
    "injuries_by_cause.protesters": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "injuries_by_cause.police": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "means_used": ("tear_gas", "stun_grenades", "water_cannon"),
}
FAMILY_LABELS = {"final_counts": "{} at the end", "injuries_by_cause.protesters": "protesters injured by {}",
                 "injuries_by_cause.police": "police injured by {}", "means_used": "uses of {}"}
DEFAULT_METRICS = ("injured_protesters", "injured_police", "arrested", "left_the_area", "first_force_s")

parse = parse_scenario


def check(scenario: Scenario) -> None:
    """What needs the map or the machine: the run fits in memory and suits the walking engine, every
    crowd and unit fits where it starts and can reach where it is sent."""
    from ..geo.loader import load_map
    from .checks import check_goals, check_resources, floor_reachability

    check_resources(scenario)
    gridmap = load_map(scenario.map)
    check_capacity(scenario, gridmap)
    check_goals(scenario, floor_reachability(gridmap), exits=bool(gridmap.exits))


def describe(scenario: Scenario) -> str:
    agents = sum(c.count for c in scenario.crowds) + sum(u.count for u in scenario.police)
    return f"{agents} agents, {scenario.start}-{scenario.end}, {len(scenario.events)} events"


def duration(scenario: Scenario) -> float:
    return scenario.duration_s


def run(scenario: Scenario, *, duration: float | None, engine: str, out: Path, progress: bool):
    """Build the model, step it to the end and write the run folder ``out``; a RunOutcome."""
    from .checks import check_resources
    from .model import ProtestModel
    from .report import write

    check_resources(scenario)  # before anything is allocated; the model checks capacity and goals
    t_setup = time.perf_counter()
    model = ProtestModel(scenario, engine=engine, duration_s=duration)
    setup_s = time.perf_counter() - t_setup
    return step_to_end(model, scenario.name, progress,
                       lambda run_s, partial: write(model, scenario, out, setup_s, run_s, partial=partial))
