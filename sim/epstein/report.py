"""Run an Epstein scenario to the end and write its run folder (``protest-sim run`` dispatches here)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..results import check_out_dir, manifest_info, write_partial, write_run
from ..run.runner import step_to_end
from .bursts import outbursts
from .model import EpsteinModel
from .plots import plot_counts, plot_grid
from .scenario import EpsteinScenario

BURST_SHARE = 0.05  # an outburst: more than 5% of citizens active ...
QUIET_SHARE = 0.01  # ... until at most 1% are, for QUIET_STEPS steps in a row
QUIET_STEPS = 5
RUN_CHUNK = 50  # steps per call of the engine (Python between steps costs as much as a small grid's step)


def run_epstein(scenario: EpsteinScenario, *, seed: int | None = None, steps: int | None = None,
                engine: str = "numba", out: str | Path | None = None, progress: bool = True,
                force: bool = False) -> Path:
    """Run and write the folder; returns its path (``out`` as in ``sim.runner.run``). Interrupted
    runs go to ``<out>.partial``."""
    if seed is not None:
        scenario = scenario.with_values({"scenario.seed": int(seed)})
    stem = Path(scenario.source).stem if scenario.source else "epstein"
    out_dir = check_out_dir(Path(out) if out is not None else Path("results") / "runs" / f"{stem}-seed{scenario.seed}",
                            force=force)
    t_setup = time.perf_counter()
    model = EpsteinModel(scenario, engine=engine, steps=steps, agent_views=False)
    setup_s = time.perf_counter() - t_setup
    return step_to_end(model, scenario.name, progress,
                       lambda run_s, partial: _write(model, out_dir, setup_s, run_s, partial=partial), chunk=RUN_CHUNK)


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


def _write(model: EpsteinModel, out_dir: Path, setup_s: float, run_s: float, *, partial: bool) -> Path:
    timeseries = model.timeseries()
    summary = summarize(model, timeseries, setup_s, run_s)
    title = f"{model.spec.name} (seed {model.seed}, {model.engine})"
    bursts = bursts_of(model, timeseries["active"])
    figures = {
        "counts": lambda p: plot_counts(timeseries, p, title=title, bursts=bursts),
        "grid": lambda p: plot_grid(model.world, p, title=f"{title}, step {model.steps_done}"),
    }
    kwargs = dict(summary=summary, timeseries=timeseries, events=[], scenario_toml=model.spec.to_toml(),
                  manifest=manifest_info(model.engine, model.seed, setup_s + run_s,
                                         extra={"model": model.spec.model, "steps": model.steps_done}),
                  figures=figures)
    if partial:
        return write_partial(out_dir, **kwargs)
    return write_run(out_dir, **kwargs)
