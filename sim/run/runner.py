"""Run one scenario, of any model kind, to the end into its run folder: the programmatic twin of
``protest-sim run``."""

from __future__ import annotations

from pathlib import Path

from ..core import ENGINES
from ..errors import ScenarioError
from ..kinds import kind_of, load_scenario
from ..results import RunOutcome, check_out_dir, default_run_dir


def run(scenario, *, seed: int | None = None, duration_s: float | None = None, engine: str = "numba",
        out: str | Path | None = None, progress: bool = True, force: bool = False,
        trajectories_every_s: float | None = None) -> Path:
    """Run a scenario (a file or a parsed scenario) and write its run folder; returns the folder's path.

    ``duration_s`` cuts the run short (steps, for kinds whose time unit is a step). ``out`` (default
    ``results/runs/<scenario file>-seed<seed>``) must not exist, or be an empty folder, or (with
    ``force``) hold an earlier run: a folder with anything else in it is never replaced
    (``results.OutputExistsError``, before the run starts). A run stopped by Ctrl-C or an error
    still writes what it computed, to ``<out>.partial``, marked as interrupted, and re-raises.
    ``trajectories_every_s``: also write ``trajectories.parquet``, a frame every so many seconds
    (the scenario's ``[output] trajectories_every_s``; kinds that record trajectories only).
    """
    return run_to_folder(scenario, seed=seed, duration_s=duration_s, engine=engine, out=out, progress=progress,
                         force=force, trajectories_every_s=trajectories_every_s).path


def run_to_folder(scenario, *, seed: int | None = None, duration_s: float | None = None, engine: str = "numba",
                  out: str | Path | None = None, progress: bool = True, force: bool = False,
                  trajectories_every_s: float | None = None) -> RunOutcome:
    """:func:`run`, returning the folder and the summary written there."""
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    if engine not in ENGINES:
        raise ScenarioError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if seed is not None:
        scenario = scenario.with_seed(seed)
    if trajectories_every_s is not None:
        key = getattr(kind_of(scenario), "TRAJECTORIES_KEY", None)
        if key is None:
            raise ScenarioError(f"{scenario.model} scenarios do not record trajectories (protest scenarios do)")
        scenario = scenario.with_values({key: trajectories_every_s})
    out_dir = check_out_dir(Path(out) if out is not None else default_run_dir(scenario, scenario.seed), force=force)
    return kind_of(scenario).run(scenario, duration=duration_s, engine=engine, out=out_dir, progress=progress)
