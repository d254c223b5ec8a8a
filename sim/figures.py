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


def drop_overflowing_texts(fig: Figure, axes) -> int:
    """Remove the texts of ``axes`` that would be cut by their axes' edge (a place name at the
    border of a cropped map): a word half shown is worse than none. Lays the figure out first, so
    call it once everything is drawn. Returns how many were removed.

    Only the layout engine runs (0.15 s for six map panels); a draw without rendering would also
    resample every image (0.6 s)."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    else:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    removed = 0
    for ax in axes:
        box = ax.get_window_extent(renderer)
        for text in list(ax.texts):
            if not text.get_visible() or not text.get_text() or text.get_clip_on() is False:
                continue
            ext = text.get_window_extent(renderer)
            if ext.x0 < box.x0 - 0.5 or ext.x1 > box.x1 + 0.5 or ext.y0 < box.y0 - 0.5 or ext.y1 > box.y1 + 0.5:
                text.remove()
                removed += 1
    return removed
