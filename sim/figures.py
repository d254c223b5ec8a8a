"""Matplotlib figures without pyplot's global state, so drawing works headless, in threads and in
worker processes; and the colours people's states have in every figure and in the browser view."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 120
STATE_COLOURS = {"quiet": "#4c72b0", "active": "#dd8452", "fleeing": "#c44e52", "injured": "#8c1b1b",
                 "arrested": "#555555", "left": "#aaaaaa"}


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A figure of ``width`` x ``height`` inches with its own canvas."""
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path, *, dpi: int = DPI) -> Path:
    """``fig`` as a PNG at ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
