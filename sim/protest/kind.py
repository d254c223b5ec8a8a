"""The protest model as a scenario kind (see ``sim.kinds``): parse, check, describe and run its
scenarios, and the summary numbers a sweep may keep."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..atomic import new_temp_folder
from ..headlines import SCHEMA_LINE, worth_opening
from ..headlines import duration as took
from ..stepping import step_to_end
from .outputs import DICTIONARY as OUTPUTS  # noqa: F401 - offered to sim.kinds
from .scenario import MODEL, Scenario, check_capacity, parse_scenario

NAME = MODEL
DURATION_UNIT = "s"
TRAJECTORIES_KEY = "output.trajectories_every_s"  # what `protest-sim run --trajectories` sets
# the summary's numbers a sweep may keep, with their labels
METRICS = {
    "injured_protesters": "protesters injured",
    "injured_police": "police officers injured",
    "arrested": "protesters arrested",
    "left_the_area": "people who left the area",
    "first_force_s": "first use of force (s after the start; empty if none)",
    "gate_strength": "gate strength left (1 = intact)",
    "protesters": "protesters",
    "police": "police officers",
    "sim_seconds": "simulated seconds",
}
# families of counts whose members are absent from a summary when zero
COUNT_FAMILIES = {
    "final_counts.protesters": ("quiet", "active", "fleeing", "injured", "arrested", "left"),
    "final_counts.police": ("on_duty", "injured", "left"),
    "injuries_by_cause.protesters": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "injuries_by_cause.police": ("gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile"),
    "means_used": ("tear_gas", "stun_grenades", "water_cannon_s"),
}
FAMILY_LABELS = {"final_counts.protesters": "protesters {} at the end", "final_counts.police": "police {} at the end",
                 "injuries_by_cause.protesters": "protesters injured by {}",
                 "injuries_by_cause.police": "police injured by {}",
                 "means_used": {"tear_gas": "tear gas canisters thrown", "stun_grenades": "stun grenades thrown",
                                "water_cannon_s": "seconds of water cannon jet (summed over trucks)"}}
# metric names a sweep may not list (they mixed both sides, or counted steps): each is refused
# with the name that replaces it
RENAMED_METRICS = {
    "final_counts.quiet": "final_counts.protesters.quiet (officers: final_counts.police.on_duty)",
    "final_counts.active": "final_counts.protesters.active",
    "final_counts.fleeing": "final_counts.protesters.fleeing",
    "final_counts.injured": "final_counts.protesters.injured or final_counts.police.injured",
    "final_counts.arrested": "final_counts.protesters.arrested",
    "final_counts.left": "final_counts.protesters.left or final_counts.police.left",
    "means_used.water_cannon": "means_used.water_cannon_s (seconds of jet summed over trucks, not steps)",
}
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
    from .recording import recorder_for
    from .report import write

    check_resources(scenario)  # before anything is allocated; the model checks capacity and goals
    t_setup = time.perf_counter()
    model = ProtestModel(scenario, engine=engine, duration_s=duration)
    staging = None
    if scenario.output.trajectories or scenario.output.harm_cells:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = new_temp_folder(out)  # beside the run folder: the recorded files move in, never copied
    recorder = recorder_for(model, staging) if staging is not None else None
    setup_s = time.perf_counter() - t_setup

    def finish(run_s: float, partial: bool):
        files = recorder.finish() if recorder is not None else None
        return write(model, scenario, out, setup_s, run_s, partial=partial, attachments=files)

    try:
        return step_to_end(model, scenario.name, progress, finish)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


FIGURES = (("figures/timeline.png", "protesters by state, injured and arrested, the busiest places"),
           ("figures/injuries.png", "injuries by cause over time, each side"),
           ("figures/density.png", "the crowd, the police and the gas on the map"),
           ("events.csv", "every use of force, injury and arrest, with clock, unit and place"),
           ("summary.json", "the run in numbers"), SCHEMA_LINE,
           ("trajectories.parquet", "everyone's position every few seconds (protest-sim analyze, export)"))


def headline(outcome, wall_s: float) -> str:
    """What ``protest-sim run`` prints at the end: injured on each side, arrests, first force, time taken,
    and the files worth opening."""
    s = outcome.summary
    start, end = s.get("start_clock", ""), str(s.get("end_clock", ""))[:5]
    lines = [f"{s.get('scenario', '')} (seed {s.get('seed')}): {start}-{end} simulated in {took(wall_s)}",
             f"  injured: {s.get('injured_protesters', 0):,} protesters, {s.get('injured_police', 0):,} police; "
             f"arrested: {s.get('arrested', 0):,}; left the area: {s.get('left_the_area', 0):,}"]
    if s.get("first_force_clock"):
        means = str(s.get("first_force_means") or "force").replace("_", " ")
        lines.append(f"  first use of gas, grenades or water cannon: {s['first_force_clock']}, {means} by "
                     f"{s.get('first_force_unit')}")
    else:
        lines.append("  no tear gas, stun grenades or water cannon used")
    return "\n".join(lines + worth_opening(outcome.path, list(FIGURES)))
