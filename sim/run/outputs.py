"""Where a sensitivity analysis or a calibration writes, and on which scheduler it runs: the same
rules as a batch's (``sim.run.batch``)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ScenarioError
from .batch import SCHEDULER_ENV
from .executors import local_scheduler


def check_out(out: Path, marker: str) -> Path:
    """The output folder, absolute; refuses one holding anything but an earlier output of the same
    command (recognised by its ``marker`` file), whose files would be overwritten."""
    if str(out) == "" or out.name in ("", ".", ".."):
        raise ScenarioError(f"{str(out)!r} is not a folder name; give a new folder, e.g. --out results/mine")
    if os.path.lexists(out):
        if out.is_symlink() or not out.is_dir():
            raise ScenarioError(f"{out} exists and is not a folder; choose another --out")
        if any(out.iterdir()) and not (out / marker).is_file():
            raise ScenarioError(f"{out} holds files that are not the output of this command; choose another --out")
    return out.resolve()


def resolve_scheduler(given: str | None, from_file: str | None, *, trust_file: bool = False) -> str | None:
    """The scheduler to use: the command line's, else ``$PROTEST_SIM_SCHEDULER``, else the spec
    file's if it starts workers on this machine only (a remote one only with ``trust_file``: a
    shared spec must not choose which host this machine talks to); None: a process pool."""
    if given:
        return given
    if os.environ.get(SCHEDULER_ENV):
        return os.environ[SCHEDULER_ENV]
    if from_file and (trust_file or local_scheduler(from_file)):
        return from_file
    return None
