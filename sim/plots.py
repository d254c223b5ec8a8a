"""Figures of a run: a timeline of counts and events, and crowd density over the map.

Matplotlib ``Figure`` objects only (no pyplot state), so drawing works headless and in
worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

STATE_COLOURS = {"quiet": "#4c72b0", "active": "#dd8452", "fleeing": "#c44e52", "injured": "#8c1b1b",
                 "arrested": "#555555", "left": "#aaaaaa"}
MAX_PLACE_LINES = 8


def _hours(ts: pd.DataFrame) -> np.ndarray:
    return ts["time_s"].to_numpy() / 60.0


def _clock_ticks(ax, ts: pd.DataFrame) -> None:
    """Label the minutes axis with clock times."""
    minutes = _hours(ts)
    if len(minutes) < 2:
        return
    ticks = np.linspace(minutes[0], minutes[-1], 7)
    idx = np.searchsorted(minutes, ticks).clip(0, len(ts) - 1)
    ax.set_xticks(minutes[idx])
    ax.set_xticklabels([str(c)[:5] for c in ts["clock"].iloc[idx]])


def plot_timeline(timeseries: pd.DataFrame, path, *, events=None, title: str = "") -> Figure:
    """Counts per state (top) and in the busiest places (bottom) over clock time, events marked."""
    ts = timeseries
    fig = Figure(figsize=(11, 7), constrained_layout=True)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    minutes = _hours(ts)
    for col in [c for c in ts.columns if c.startswith("state_")]:
        name = col[len("state_"):]
        if ts[col].max() > 0:
            top.plot(minutes, ts[col], label=name, color=STATE_COLOURS.get(name), lw=1.8)
    for col, style in (("injured_protesters", ":"), ("injured_police", "--")):
        if col in ts and ts[col].max() > 0:
            top.plot(minutes, ts[col], style, color="black", lw=1.2, label=col.replace("_", " "))
    top.set_ylabel("people")
    top.legend(loc="upper right", fontsize=8, ncol=2)
    top.set_title(title or "Run timeline")

    places = [c for c in ts.columns if c.startswith("place_")]
    if places:
        peak = ts[places].max().sort_values(ascending=False)
        total = max(1, int(ts[[c for c in ts.columns if c.startswith("state_")]].sum(axis=1).max()))
        shown = [c for c in peak.index[:MAX_PLACE_LINES] if peak[c] >= 0.02 * total]
        for col in shown:
            bottom.plot(minutes, ts[col], label=col[len("place_"):], lw=1.5)
        rest = [c for c in places if c not in shown]
        if rest and ts[rest].to_numpy().max() > 0:
            bottom.plot(minutes, ts[rest].sum(axis=1), color="grey", lw=1, ls="--", label="other places")
        bottom.legend(loc="upper right", fontsize=8, ncol=2)
    bottom.set_ylabel("people in place")
    bottom.set_xlabel("clock time")
    _clock_ticks(bottom, ts)

    if events is not None and len(events):
        ev = pd.DataFrame(events)
        for _, row in ev.iterrows():
            if row.get("kind") in ("event", "trigger", "first_force", "gate"):
                for ax in (top, bottom):
                    ax.axvline(row["time_s"] / 60.0, color="black", ls=":", lw=0.8, alpha=0.6)
                top.annotate(str(row["label"])[:40], (row["time_s"] / 60.0, 1.0), xycoords=("data", "axes fraction"),
                             rotation=90, va="top", ha="right", fontsize=7, alpha=0.8)
    fig.savefig(Path(path), dpi=110)
    return fig


def plot_density(gridmap, snapshots, path, *, bin_m: float = 5.0, title: str = "") -> Figure:
    """Persons per m^2 in ``bin_m`` bins over the map, one panel per snapshot (at most six)."""
    snapshots = list(snapshots)[:6]
    n = max(1, len(snapshots))
    cols = min(3, n)
    rows = -(-n // cols)
    width_m, height_m = gridmap.size_m
    aspect = height_m / width_m
    fig = Figure(figsize=(4.6 * cols, 4.6 * rows * aspect + 0.8), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    edges_x = np.arange(0, width_m + bin_m, bin_m)
    edges_y = np.arange(0, height_m + bin_m, bin_m)
    grids = []
    for _, x, y in snapshots:
        h, _, _ = np.histogram2d((np.asarray(x) + 0.5) * gridmap.cell_size, (np.asarray(y) + 0.5) * gridmap.cell_size,
                                 bins=(edges_x, edges_y))
        grids.append(h / (bin_m * bin_m))
    vmax = max([g.max() for g in grids] + [0.5])
    image = None
    for ax, (label, _, _), grid in zip(axes, snapshots, grids):
        _background(ax, gridmap)
        shown = np.ma.masked_where(grid.T <= 0, grid.T)
        image = ax.imshow(shown, origin="lower", extent=(0, edges_x[-1], 0, edges_y[-1]), cmap="inferno_r",
                          vmin=0, vmax=vmax, alpha=0.85, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xlim(0, width_m)
        ax.set_ylim(0, height_m)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(snapshots):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(snapshots)]), shrink=0.8, label="persons per m²")
    if title:
        fig.suptitle(title)
    fig.savefig(Path(path), dpi=110)
    fig.vmax = vmax  # the shared colour scale, for whoever wants to check it
    return fig


def _background(ax, gridmap) -> None:
    try:
        from .geo.render import draw_map
    except ImportError:
        draw_map = None
    if draw_map is not None:
        draw_map(ax, gridmap, labels=False)
        return
    w, h = gridmap.size_m
    ax.imshow(gridmap.walkable.T, origin="lower", extent=(0, w, 0, h), cmap="Greys_r", vmin=-1, vmax=1.5,
              interpolation="nearest")
