"""Provenance of a run or batch: enough to reproduce it (engine, seed, versions, platform, commit, when)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def package_version() -> str:
    """protest-sim's version: installed metadata, else pyproject.toml next to the package."""
    found = _version("protest-sim")
    if found:
        return found
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, ValueError, ImportError):
        return "unknown"


def git_commit() -> str | None:
    """The commit of the checkout this package runs from, if it is one (else None)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None  # an installed copy: do not report some unrelated enclosing repository
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=root,
                             env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def manifest_info(engine: str, seed: int, wall_seconds: float, extra: dict | None = None) -> dict:
    """Enough to reproduce a run: engine, seed, wall time, versions, platform, commit, when (UTC)."""
    version = package_version()
    info = {
        "engine": engine,
        "seed": None if seed is None else int(seed),
        "wall_seconds": float(wall_seconds),
        "package_version": version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": {"protest-sim": version,
                     **{p: _version(p) for p in ("numpy", "numba", "mesa", "pandas", "pyarrow", "matplotlib")}},
        "git_commit": git_commit(),
        "written_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    info.update(extra or {})
    return info
