"""A protest run's folder: the summary people compare tactics by, the time series, events and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..core.walk.state import POLICE, PROTESTER
from ..provenance import manifest_info
from ..results import RunOutcome, write_outcome
from ..schema import run_schema
from .ledger import COLUMNS, TEXT_COLUMNS
from .model import ProtestModel
from .outputs import DICTIONARY
from .scenario import Scenario, seconds_to_clock


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
        "final_counts": model.side_counts(),
        "left_the_area": model.left_total,
        "protesters_left_via": dict(zip(model.ledger.exits, model.ledger.left_via.tolist())),
        "agent_steps_per_second": agent_steps / run_s if run_s > 0 else None,
        "events": [e["label"] for e in model.events_log if e["kind"] == "event"],
        **police_summary(model, scenario),
    }


def police_summary(model: ProtestModel, scenario: Scenario) -> dict:
    """Force, triggers, injuries and arrests: the numbers people compare tactics by."""
    pol = model.policing
    first = pol.first_force_s
    means, unit = pol.first_force_by or (None, None)
    injuries = pol.injuries()
    return {
        "first_force_s": first,
        "first_force_clock": None if first is None else seconds_to_clock(scenario.start_clock_s + first),
        "first_force_means": means,
        "first_force_unit": unit,
        "triggers": {label: seconds_to_clock(scenario.start_clock_s + t) for label, t in pol.book.fired.items()},
        "injured_protesters": sum(injuries["protesters"].values()),
        "injured_police": sum(injuries["police"].values()),
        "injuries_by_cause": injuries,
        "arrested": model.side_counts()["protesters"]["arrested"],
        "means_used": {"tear_gas": pol.uses["tear_gas"], "stun_grenades": pol.uses["stun_grenades"],
                       "water_cannon_s": pol.uses["water_cannon"]},
        "gate_strength": pol.gate_strength,
    }


def write(model: ProtestModel, scenario: Scenario, out_dir: Path, setup_s: float, run_s: float,
          *, partial: bool, attachments: dict[str, Path] | None = None) -> RunOutcome:
    """The run folder (``<out_dir>.partial`` if ``partial``): summary, data, figures, and the files
    recorded as the run went (``attachments``: {name: where it is now}, ``sim.protest.recording``)."""
    from .density import plot_density  # matplotlib: ~0.5 s of import only the writing needs
    from .plots import plot_injuries, plot_timeline

    summary = summarize(model, scenario, setup_s, run_s)
    timeseries = model.timeseries()
    events = events_table(model)
    title = f"{scenario.name} (seed {model.seed}, {model.engine})"
    figures = {
        "timeline": lambda p: plot_timeline(timeseries, p, events=events, title=title),
        "injuries": lambda p: plot_injuries(timeseries, events, p, title=title),
        "density": lambda p: plot_density(model.gridmap, model.snapshots, p, title=title,
                                          gas_edge=scenario.tear_gas.flee_concentration),
    }
    attachments = attachments or {}
    schema = run_schema(DICTIONARY, timeseries=timeseries, events=events, summary=summary,
                        more={name: pq.read_schema(path).names for name, path in attachments.items()})
    return write_outcome(out_dir, partial=partial, summary=summary, timeseries=timeseries, events=events,
                         schema=schema, scenario_toml=scenario.to_toml(), attachments=attachments,
                         manifest=manifest_info(model.engine, model.seed, setup_s + run_s,
                                                extra={"duration_s": model.duration_s}),
                         figures=figures)


def events_table(model: ProtestModel) -> pd.DataFrame:
    """events.csv: the model's log and the ledger's rows, typed (text, whole counts, seconds)."""
    events = pd.DataFrame(model.ledger.all_rows(model.events_log), columns=list(COLUMNS))
    for col in TEXT_COLUMNS:
        events[col] = events[col].astype(object).fillna("").astype(str)
    events["count"] = events["count"].astype("Int64")
    events["duration_s"] = events["duration_s"].astype(float)
    return events
