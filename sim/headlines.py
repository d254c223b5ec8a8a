"""The end of a run on the terminal: a few lines of what happened, and the files worth opening.

Each model kind writes its own lines (``headline(outcome, wall_s)`` in its ``kind`` module) with
these helpers, so every kind's ending looks the same.
"""

from __future__ import annotations

import os
from pathlib import Path


def duration(seconds: float) -> str:
    """12.3 -> "12 s"; 101 -> "1 min 41 s"; 3725 -> "1 h 2 min"."""
    s = int(round(seconds))
    if s < 60:
        return f"{max(seconds, 0):.0f} s" if seconds >= 1 else f"{max(seconds, 0):.1f} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is under it, else as it is."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (OSError, ValueError):
        return str(path)


def worth_opening(folder: Path, files: list[tuple[str, str]]) -> list[str]:
    """"Open:" and one line per file of ``folder`` that exists: its path and what it shows."""
    present = [(shown(Path(folder) / name), what) for name, what in files if (Path(folder) / name).exists()]
    if not present:
        return []
    width = max(len(p) for p, _ in present)
    return ["Open:"] + [f"  {p.ljust(width)}   {what}" for p, what in present]


SCHEMA_LINE = ("schema.json", "what every column and key means, with units (all of it: docs/outputs.md)")
