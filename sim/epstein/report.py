"""An Epstein run's folder: counts over time, outbursts, the grid at the end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..provenance import manifest_info
from ..results import RunOutcome, events_frame, write_outcome
from ..schema import run_schema
from .bursts import outbursts
from .model import EpsteinModel
from .outputs import DICTIONARY

BURST_SHARE = 0.05  # an outburst: more than 5% of citizens active ...
QUIET_SHARE = 0.01  # ... until at most 1% are, for QUIET_STEPS steps in a row
QUIET_STEPS = 5


def bursts_of(model: EpsteinModel, active) -> list[tuple[int, int]]:
    return outbursts(active, BURST_SHARE * model.citizens, QUIET_SHARE * model.citizens, QUIET_STEPS)


def summarize(model: EpsteinModel, timeseries: pd.DataFrame, setup_s: float, run_s: float) -> dict:
    s = model.spec
    bursts = bursts_of(model, timeseries["active"])
    counts = model.counts()
    return {
        "status": "complete",
        "model": s.model,
        "scenario": s.name,
        "scenario_file": s.source,
        "seed": model.seed,
        "engine": model.engine,
        "steps": model.steps_done,
        "grid": [s.grid.width, s.grid.height],
        "citizens": model.citizens,
        "cops": model.cops,
        "variants": {"arrest_ratio": s.rules.arrest_ratio, "neighbourhood": s.rules.neighbourhood,
                     "jailed": s.rules.jailed},
        "final_counts": {"quiet": int(counts[0]), "active": int(counts[1]), "jailed": int(counts[2])},
        "mean_counts": {c: float(timeseries[c].iloc[1:].mean()) if len(timeseries) > 1 else None
                        for c in ("quiet", "active", "jailed")},
        "peak_active": int(timeseries["active"].max()),
        "outbursts": [{"first_step": int(timeseries["step"].iloc[a]), "last_step": int(timeseries["step"].iloc[b]),
                       "peak_active": int(timeseries["active"].iloc[a:b + 1].max())} for a, b in bursts],
        "outburst_definition": f"more than {BURST_SHARE:.0%} of citizens active, ended by {QUIET_STEPS} steps "
                               f"in a row with at most {QUIET_SHARE:.0%}",
        "wall_seconds": setup_s + run_s,
        "setup_seconds": setup_s,
        "run_seconds": run_s,
        "agent_steps_per_second": len(model.world) * model.steps_done / run_s if run_s > 0 else None,
    }


def write(model: EpsteinModel, out_dir: Path, setup_s: float, run_s: float, *, partial: bool) -> RunOutcome:
    """The run folder (``<out_dir>.partial`` if ``partial``): summary, counts per step, figures."""
    from .plots import plot_counts, plot_grid  # matplotlib: only the writing needs it

    timeseries = model.timeseries()
    summary = summarize(model, timeseries, setup_s, run_s)
    title = f"{model.spec.name} (seed {model.seed}, {model.engine})"
    bursts = bursts_of(model, timeseries["active"])
    figures = {
        "counts": lambda p: plot_counts(timeseries, p, title=title, bursts=bursts),
        "grid": lambda p: plot_grid(model.world, p, title=f"{title}, step {model.steps_done}"),
    }
    events = events_frame([])
    schema = run_schema(DICTIONARY, timeseries=timeseries, events=events, summary=summary)
    return write_outcome(out_dir, partial=partial, summary=summary, timeseries=timeseries, events=events,
                         schema=schema, scenario_toml=model.spec.to_toml(),
                         manifest=manifest_info(model.engine, model.seed, setup_s + run_s,
                                                extra={"model": model.spec.model, "steps": model.steps_done}),
                         figures=figures)
