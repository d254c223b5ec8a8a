"""A protest run's folder: the summary people compare tactics by, the time series, events and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.walk.state import POLICE, PROTESTER
from ..provenance import manifest_info
from ..results import RunOutcome, write_outcome
from .model import ProtestModel
from .scenario import Scenario, seconds_to_clock

EVENT_COLUMNS = ["time_s", "clock", "kind", "label", "detail"]


def summarize(model: ProtestModel, scenario: Scenario, setup_s: float, run_s: float) -> dict:
    a = model.arrays
    agent_steps = len(a) * model.steps_done
    return {
        "status": "complete",
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "map": model.gridmap.name,
        "cell_size": model.gridmap.cell_size,
        "seed": model.seed,
        "engine": model.engine,
        "dt": model.dt,
        "steps": model.steps_done,
        "sim_seconds": model.time_s,
        "start_clock": scenario.start,
        "end_clock": seconds_to_clock(scenario.start_clock_s + model.time_s),
        "wall_seconds": setup_s + run_s,
        "setup_seconds": setup_s,
        "run_seconds": run_s,
        "protesters": int(np.sum(a.kind == PROTESTER)),
        "police": int(np.sum(a.kind == POLICE)),
        "final_counts": model.state_counts(),
        "left_the_area": model.left_total,
        "agent_steps_per_second": agent_steps / run_s if run_s > 0 else None,
        "events": [e["label"] for e in model.events_log if e["kind"] == "event"],
        **police_summary(model, scenario),
    }


def police_summary(model: ProtestModel, scenario: Scenario) -> dict:
    """Force, triggers, injuries and arrests: the numbers people compare tactics by."""
    pol = model.policing
    first = pol.first_force_s
    injuries = pol.injuries()
    return {
        "first_force_s": first,
        "first_force_clock": None if first is None else seconds_to_clock(scenario.start_clock_s + first),
        "triggers": {label: seconds_to_clock(scenario.start_clock_s + t) for label, t in pol.book.fired.items()},
        "injured_protesters": sum(injuries["protesters"].values()),
        "injured_police": sum(injuries["police"].values()),
        "injuries_by_cause": injuries,
        "arrested": model.state_counts()["arrested"],
        "means_used": dict(pol.uses),
        "gate_strength": pol.gate_strength,
    }


def write(model: ProtestModel, scenario: Scenario, out_dir: Path, setup_s: float, run_s: float,
          *, partial: bool) -> RunOutcome:
    """The run folder (``<out_dir>.partial`` if ``partial``): summary, data, figures."""
    from .plots import plot_density, plot_timeline  # matplotlib: ~0.5 s of import only the writing needs

    summary = summarize(model, scenario, setup_s, run_s)
    timeseries = model.timeseries()
    events = pd.DataFrame(model.events_log, columns=EVENT_COLUMNS)
    title = f"{scenario.name} (seed {model.seed}, {model.engine})"
    figures = {
        "timeline": lambda p: plot_timeline(timeseries, p, events=events, title=title),
        "density": lambda p: plot_density(model.gridmap, model.snapshots, p, title=title),
    }
    return write_outcome(out_dir, partial=partial, summary=summary, timeseries=timeseries, events=events,
                         scenario_toml=scenario.to_toml(),
                         manifest=manifest_info(model.engine, model.seed, setup_s + run_s,
                                                extra={"duration_s": model.duration_s}),
                         figures=figures)
