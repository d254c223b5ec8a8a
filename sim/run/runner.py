"""Run one scenario to the end and write its run folder (the programmatic twin of ``protest-sim run``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .. import gc_pause
from ..core.walk.state import POLICE, PROTESTER
from ..errors import ScenarioError
from ..protest.model import ProtestModel
from ..results import check_out_dir, manifest_info, write_partial, write_run
from ..protest.scenario import Scenario, load_scenario, seconds_to_clock

EVENT_COLUMNS = ["time_s", "clock", "kind", "label", "detail"]


def default_out_dir(scenario: Scenario, seed: int) -> Path:
    stem = Path(scenario.source).stem if scenario.source else "scenario"
    return Path("results") / "runs" / f"{stem}-seed{seed}"


def run(scenario: Scenario | str | Path, *, seed: int | None = None, duration_s: float | None = None,
        engine: str = "numba", out: str | Path | None = None, progress: bool = True, force: bool = False) -> Path:
    """Run a scenario and write its run folder; returns the folder's path. An Epstein scenario
    (``sim.epstein``) runs ``duration_s`` steps if given.

    ``out`` must not exist, or be an empty folder, or (with ``force``) hold an earlier run: a folder
    with anything else in it is never replaced (``results.OutputExistsError``, before the run starts).
    A run stopped by Ctrl-C or an error still writes what it computed, to ``<out>.partial``,
    marked as interrupted, and re-raises.
    """
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    if getattr(scenario, "model", None) == "epstein_2002":  # a step is the time unit: duration counts steps
        from ..epstein.report import run_epstein

        if duration_s is not None and duration_s != int(duration_s):
            raise ScenarioError(f"an Epstein scenario runs in whole steps; --duration {duration_s:g} is not one",
                                file=scenario.source)
        return run_epstein(scenario, seed=seed, steps=None if duration_s is None else int(duration_s),
                           engine=engine, out=out, progress=progress, force=force)
    if seed is not None:
        scenario = scenario.with_values({"scenario.seed": int(seed)})
    out_dir = check_out_dir(Path(out) if out is not None else default_out_dir(scenario, scenario.seed), force=force)
    t_setup = time.perf_counter()
    model = ProtestModel(scenario, engine=engine, duration_s=duration_s)
    setup_s = time.perf_counter() - t_setup

    return step_to_end(model, scenario.name, progress,
                       lambda run_s, partial: _write(model, scenario, out_dir, setup_s, run_s, partial=partial))


def step_to_end(model, name: str, progress: bool, write, chunk: int = 1) -> Path:
    """Step ``model`` until it stops, with a progress bar, then ``write(run_seconds, partial=False)``.

    ``chunk`` > 1: ``chunk`` steps at a time by ``model.run_for`` (for a model that stops exactly
    after ``total_steps``, as the Epstein model, which runs them in one call of its engine).
    Stopped by Ctrl-C or an error, or failing to write the complete folder (a figure that cannot
    be drawn), ``write(run_seconds, partial=True)`` keeps what was computed and the exception goes on.
    """
    gc_pause.resume()  # start-up is over
    t_run = time.perf_counter()
    try:
        with tqdm(total=model.total_steps, disable=not progress, unit="step", desc=name,
                  dynamic_ncols=True, mininterval=0.5) as bar:
            while model.running:
                steps = min(chunk, model.total_steps - model.steps_done) if chunk > 1 else 1
                if steps > 1:
                    model.run_for(steps)
                else:
                    model.step()
                bar.update(steps)
        run_s = time.perf_counter() - t_run
        complete = write(run_s, partial=False)
    except BaseException:
        write(time.perf_counter() - t_run, partial=True)
        raise
    return complete


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


def _write(model: ProtestModel, scenario: Scenario, out_dir: Path, setup_s: float, run_s: float,
           *, partial: bool) -> Path:
    from ..protest.plots import plot_density, plot_timeline

    summary = summarize(model, scenario, setup_s, run_s)
    timeseries = model.timeseries()
    events = pd.DataFrame(model.events_log, columns=EVENT_COLUMNS)
    title = f"{scenario.name} (seed {model.seed}, {model.engine})"
    figures = {
        "timeline": lambda p: plot_timeline(timeseries, p, events=events, title=title),
        "density": lambda p: plot_density(model.gridmap, model.snapshots, p, title=title),
    }
    kwargs = dict(summary=summary, timeseries=timeseries, events=events, scenario_toml=scenario.to_toml(),
                  manifest=manifest_info(model.engine, model.seed, setup_s + run_s,
                                         extra={"duration_s": model.duration_s}),
                  figures=figures)
    if partial:
        return write_partial(out_dir, **kwargs)
    return write_run(out_dir, **kwargs)
