"""What analysis needs of a run folder: that it is one, its scenario and map, and its trajectories.

Every problem is a :class:`~sim.errors.ScenarioError` in one line (the CLI exits 2): not a run
folder, an incomplete one, no ``trajectories.parquet`` (with how to get one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError
from ..results import is_run_folder
from ..traj.file import FILE, read_meta


@dataclass
class RunFolder:
    path: Path
    summary: dict
    scenario: object  # the protest Scenario the run ran
    gridmap: object  # its map, the gate open

    @property
    def trajectories(self) -> Path:
        return self.path / FILE


def open_run(path, *, need_trajectories: bool = True) -> RunFolder:
    """The run folder at ``path``, checked; its scenario parsed again from ``scenario.toml``."""
    from ..geo.loader import load_map
    from ..kinds import load_scenario

    path = Path(path)
    if not path.is_dir():
        raise ScenarioError(f"{path}: no such folder (give a run folder written by protest-sim run)")
    if not is_run_folder(path):
        raise ScenarioError(f"{path} is not a run folder of protest-sim (it has no summary.json saying so)")
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    if summary.get("status") == "failed" or not (path / "scenario.toml").is_file():
        raise ScenarioError(f"{path} is the folder of a run that failed: nothing to analyse")
    if need_trajectories and not (path / FILE).is_file():
        raise ScenarioError(f"{path} has no {FILE}: run the scenario again with --trajectories "
                            "(or [output] trajectories_every_s = 1)")
    scenario = load_scenario(path / "scenario.toml")
    if scenario.model != "protest":
        raise ScenarioError(f"{path} is a run of the {scenario.model} model; only protest runs have trajectories")
    return RunFolder(path, summary or {}, scenario, load_map(scenario.map))


def frame_interval(run: RunFolder) -> float:
    """Seconds between frames of the run's trajectories."""
    return float(read_meta(run.trajectories)["every_s"])
