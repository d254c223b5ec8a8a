"""Run folders: everything a run produced, written so that a folder exists only when complete.

Files go into a temporary sibling folder first; ``summary.json`` is written last and the
folder is renamed into place, so a crash or kill -9 at any moment leaves either nothing, the
previous complete run, or an ignorable temporary folder. Interrupted runs keep what they
computed in ``<folder>.partial``, marked as such.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

TMP_MARK = ".tmp-"


@dataclass
class RunResult:
    path: Path
    summary: dict
    timeseries: pd.DataFrame
    events: pd.DataFrame
    manifest: dict


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_jsonable(data), fh, indent=2, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())


def _clean_stale(parent: Path, name: str) -> None:
    for p in parent.glob(f".{name}{TMP_MARK}*"):
        shutil.rmtree(p, ignore_errors=True)


def _fill(folder: Path, *, summary, timeseries, events, scenario_toml, manifest, figures) -> None:
    timeseries.to_parquet(folder / "timeseries.parquet", index=False)
    events_df = events if isinstance(events, pd.DataFrame) else pd.DataFrame(events)
    events_df.to_csv(folder / "events.csv", index=False)
    (folder / "scenario.toml").write_text(scenario_toml, encoding="utf-8")
    write_json(folder / "manifest.json", manifest)
    if figures:
        (folder / "figures").mkdir()
        for name, draw in figures.items():
            draw(folder / "figures" / f"{name}.png")
    write_json(folder / "summary.json", summary)  # last: its presence marks a complete folder


def write_run(out_dir, *, summary: dict, timeseries: pd.DataFrame, events, scenario_toml: str, manifest: dict,
              figures: dict[str, Callable[[Path], None]] | None = None, overwrite: bool = True) -> Path:
    """Write a complete run folder atomically; returns its path."""
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out.parent, out.name)
    tmp = out.parent / f".{out.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _fill(tmp, summary={**summary, "status": summary.get("status", "complete")}, timeseries=timeseries,
              events=events, scenario_toml=scenario_toml, manifest=manifest, figures=figures)
        if out.exists():
            old = out.parent / f".{out.name}{TMP_MARK}old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_partial(out_dir, **kwargs) -> Path:
    """What an interrupted run computed, in ``<out_dir>.partial``, marked ``status: interrupted``."""
    out = Path(out_dir)
    partial = out.with_name(out.name + ".partial")
    kwargs["summary"] = {**kwargs["summary"], "status": "interrupted"}
    try:
        return write_run(partial, **kwargs)
    except Exception:
        # a figure failing must not cost the data: retry without figures
        kwargs["figures"] = None
        return write_run(partial, **kwargs)


def is_complete_run(path) -> bool:
    summary = Path(path) / "summary.json"
    if not summary.is_file():
        return False
    try:
        return json.loads(summary.read_text(encoding="utf-8")).get("status") == "complete"
    except (OSError, ValueError):
        return False


def read_run(path) -> RunResult:
    path = Path(path)
    if not is_complete_run(path):
        raise FileNotFoundError(f"{path} is not a complete run folder")
    events_path = path / "events.csv"
    events = pd.read_csv(events_path) if events_path.stat().st_size > 1 else pd.DataFrame()
    return RunResult(path=path, summary=json.loads((path / "summary.json").read_text()),
                     timeseries=pd.read_parquet(path / "timeseries.parquet"), events=events,
                     manifest=json.loads((path / "manifest.json").read_text()))


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest_info(engine: str, seed: int, wall_seconds: float, extra: dict | None = None) -> dict:
    """Enough to reproduce a run: versions, platform, seed, engine, commit, when."""
    info = {
        "engine": engine,
        "seed": seed,
        "wall_seconds": wall_seconds,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in ("protest-sim", "numpy", "numba", "mesa", "pandas", "pyarrow")},
        "git_commit": _git_commit(),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    info.update(extra or {})
    return info
