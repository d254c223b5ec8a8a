"""Figures of a run: a timeline of counts and events, and crowd density over the map.

Matplotlib ``Figure`` objects only (no pyplot state), so drawing works headless, in threads and
in worker processes. Both functions save a PNG to ``path`` and return the Figure.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..figures import STATE_COLOURS, new_figure, save

PLACE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_PLACE_LINES = 8
PLACE_SHARE = 0.03  # a place gets its own line if it ever holds this share of all agents
KEY_EVENT_KINDS = ("event", "trigger", "first_force", "gate")  # marked when present; else all events
MAX_EVENTS = 12
MAX_PANELS = 6
MIN_VMAX = 0.5  # persons/m^2: a sparse crowd is not drawn in the colours of a crush
DENSITY_CMAP = ListedColormap(colormaps["inferno_r"](np.linspace(0.18, 1.0, 256)), name="density")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?\s*$")
_TICK_STEPS_S = (10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)


# --- timeline ---------------------------------------------------------------------------------------
def clock_offset_s(timeseries: pd.DataFrame) -> float:
    """Seconds since midnight at ``time_s == 0``, from the first parseable ``clock`` (else 0)."""
    if "clock" not in timeseries or not len(timeseries):
        return 0.0
    for t, clock in zip(timeseries["time_s"].to_numpy()[:10], timeseries["clock"].iloc[:10]):
        m = _CLOCK.match(str(clock))
        if m:
            return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3) or 0) - float(t)
    return 0.0


def clock_axis(ax, span_s: float, *, max_ticks: int = 8) -> None:
    """Ticks at round clock times on an axis in seconds since midnight, labelled HH:MM (or HH:MM:SS)."""
    step = next((s for s in _TICK_STEPS_S if span_s / s <= max_ticks), _TICK_STEPS_S[-1])

    def label(v, _pos):
        s = int(round(v)) % 86400
        text = f"{s // 3600:02d}:{s % 3600 // 60:02d}"
        return text + f":{s % 60:02d}" if step < 60 else text

    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(label))


def _key_events(events) -> pd.DataFrame:
    if events is None:
        return pd.DataFrame(columns=["time_s", "clock", "label"])
    ev = pd.DataFrame(events).copy()
    if not len(ev) or "time_s" not in ev:
        return pd.DataFrame(columns=["time_s", "clock", "label"])
    ev["time_s"] = pd.to_numeric(ev["time_s"], errors="coerce")
    ev = ev[np.isfinite(ev["time_s"].to_numpy(dtype=float))]
    if "kind" in ev and ev["kind"].isin(KEY_EVENT_KINDS).any():
        ev = ev[ev["kind"].isin(KEY_EVENT_KINDS)]
    for col in ("label", "clock"):
        ev[col] = ev[col].fillna("").astype(str) if col in ev else ""
    return ev.sort_values("time_s", kind="stable").head(MAX_EVENTS).reset_index(drop=True)


def plot_timeline(timeseries: pd.DataFrame, path, *, events=None, title: str = "") -> Figure:
    """Counts per state (top) and in the busiest places (bottom) over clock time, events marked.

    A place gets its own line if it ever holds more than ``PLACE_SHARE`` of all agents (at most
    ``MAX_PLACE_LINES``, the fullest first); the others are summed as "other places". Key events
    (``KEY_EVENT_KINDS`` when present, else all) are dashed lines numbered in time order and
    listed under the plots.
    """
    ts = timeseries.reset_index(drop=True)
    offset = clock_offset_s(ts)
    x = ts["time_s"].to_numpy(dtype=float) + offset
    span = float(x[-1] - x[0]) if len(x) > 1 else 60.0
    ev = _key_events(events)
    key_rows = _event_key_layout(ev)[1] if len(ev) else 0
    fig = new_figure(10.0, 6.6 + 0.2 * key_rows)
    ratios = [1.0, 1.0] + ([0.065 * key_rows] if key_rows else [])
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    top = fig.add_subplot(grid[0])
    bottom = fig.add_subplot(grid[1], sharex=top)

    states = [c for c in ts.columns if c.startswith("state_")]
    for col in states:
        name = col[len("state_"):]
        if len(ts) and ts[col].max() > 0:
            top.plot(x, ts[col], label=name, color=STATE_COLOURS.get(name), lw=1.8)
    for col, style in (("injured_protesters", ":"), ("injured_police", "--")):
        if col in ts and len(ts) and ts[col].max() > 0:
            top.plot(x, ts[col], style, color="black", lw=1.2, label=col.replace("_", " "))
    top.set_ylabel("people")

    places = [c for c in ts.columns if c.startswith("place_")]
    if places and len(ts):
        peak = ts[places].max().sort_values(ascending=False, kind="stable")
        everyone = ts[states].sum(axis=1).max() if states else ts[places].sum(axis=1).max()
        total = max(1.0, float(everyone))
        shown = [c for c in peak.index if peak[c] > PLACE_SHARE * total][:MAX_PLACE_LINES]
        for colour, col in zip(PLACE_COLOURS, shown):
            bottom.plot(x, ts[col], label=col[len("place_"):], color=colour, lw=1.6)
        rest = [c for c in places if c not in shown]
        if rest and ts[rest].to_numpy().max() > 0:
            bottom.plot(x, ts[rest].sum(axis=1), color="grey", lw=1.2, ls="--", label="other places")
    bottom.set_ylabel("people in place")
    bottom.set_xlabel("clock time")
    for ax in (top, bottom):
        ax.grid(alpha=0.25, lw=0.6)
        ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False, borderaxespad=0)
    top.tick_params(labelbottom=False)
    if len(x) > 1:
        top.set_xlim(x[0], x[-1])
    clock_axis(bottom, span)

    levels = _mark_events(fig, grid, top, bottom, ev, offset, span) if len(ev) else 0
    top.set_title(title or "Run timeline", fontsize=12, pad=6 + 12 * levels)
    save(fig, path)
    return fig


def _event_key_layout(ev: pd.DataFrame) -> tuple[int, int]:
    """(columns, rows) of the event key: two columns when the labels are short enough."""
    cols = 2 if len(ev) > 3 and ev["label"].str.len().max() <= 48 else 1
    return cols, -(-len(ev) // cols)


def _mark_events(fig, grid, top, bottom, ev: pd.DataFrame, offset: float, span: float) -> int:
    """Dashed lines numbered above the top panel (staggered when close), listed in a key below;
    returns how many rows of numbers were needed."""
    level_end: list[float] = []
    for i, row in ev.iterrows():
        xe = float(row["time_s"]) + offset
        for ax in (top, bottom):
            ax.axvline(xe, color="black", ls="--", lw=0.8, alpha=0.55, zorder=1)
        level = next((k for k, end in enumerate(level_end) if xe > end), len(level_end))
        if level == len(level_end):
            level_end.append(-np.inf)
        level_end[level] = xe + 0.025 * span
        top.annotate(str(i + 1), (xe, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 3 + 11 * level),
                     textcoords="offset points", ha="center", va="bottom", fontsize=8, weight="bold",
                     bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="0.4", lw=0.6), annotation_clip=False)
    key = fig.add_subplot(grid[2])
    key.axis("off")
    cols, rows = _event_key_layout(ev)
    for i, row in ev.iterrows():
        col, line = divmod(i, rows)
        clock = str(row["clock"])[:5]
        label = row["label"] if len(row["label"]) <= 100 else row["label"][:99] + "\u2026"
        key.text(col / cols, 1.0 - line / rows, f"{i + 1}   {clock}   {label}", transform=key.transAxes,
                 fontsize=9, va="top", ha="left")
    return len(level_end)


# --- density ----------------------------------------------------------------------------------------
def density_grids(gridmap, snapshots, bin_m: float = 5.0):
    """Persons per m^2 in ``bin_m`` bins for each snapshot; returns (grids [bx, by], edges_x, edges_y)."""
    cs = float(gridmap.cell_size)
    width, height = gridmap.size_m
    edges_x = np.arange(int(np.ceil(width / bin_m - 1e-9)) + 1) * bin_m
    edges_y = np.arange(int(np.ceil(height / bin_m - 1e-9)) + 1) * bin_m
    grids = []
    for _, xs, ys in snapshots:
        h, _, _ = np.histogram2d((np.asarray(xs, dtype=float) + 0.5) * cs, (np.asarray(ys, dtype=float) + 0.5) * cs,
                                 bins=(edges_x, edges_y))
        grids.append(h / (bin_m * bin_m))
    return grids, edges_x, edges_y


def _pick(snapshots: list, n: int) -> list:
    """At most ``n`` snapshots, evenly spread, first and last kept."""
    if len(snapshots) <= n:
        return snapshots
    idx = np.unique(np.linspace(0, len(snapshots) - 1, n).round().astype(int))
    return [snapshots[i] for i in idx]


def _view(gridmap, snapshots, bin_m: float) -> tuple[float, float, float, float]:
    """The part of the map the crowd uses in any snapshot, with a margin, not too elongated."""
    width, height = gridmap.size_m
    xs = [np.asarray(s[1]) for s in snapshots if len(s[1])]
    if not xs:
        return 0.0, width, 0.0, height
    cs = gridmap.cell_size
    ys = np.concatenate([np.asarray(s[2]) for s in snapshots if len(s[1])]) * cs
    xs = np.concatenate(xs) * cs
    x0, x1, y0, y1 = xs.min(), xs.max() + cs, ys.min(), ys.max() + cs
    margin = max(3 * bin_m, 0.1 * max(x1 - x0, y1 - y0))
    x0, x1, y0, y1 = x0 - margin, x1 + margin, y0 - margin, y1 + margin
    w, h = x1 - x0, y1 - y0
    if w < h / 1.6:
        x0, x1 = x0 - (h / 1.6 - w) / 2, x1 + (h / 1.6 - w) / 2
    elif h < w / 1.6:
        y0, y1 = y0 - (w / 1.6 - h) / 2, y1 + (w / 1.6 - h) / 2
    # shift back inside the map, then clip
    x0, x1 = (x0 - min(0.0, x0) - max(0.0, x1 - width)), (x1 - min(0.0, x0) - max(0.0, x1 - width))
    y0, y1 = (y0 - min(0.0, y0) - max(0.0, y1 - height)), (y1 - min(0.0, y0) - max(0.0, y1 - height))
    return max(0.0, x0), min(width, x1), max(0.0, y0), min(height, y1)


def plot_density(gridmap, snapshots, path, *, bin_m: float = 5.0, title: str = "", crop: bool = True) -> Figure:
    """Persons per m^2 in ``bin_m`` x ``bin_m`` bins over the map, one panel per snapshot.

    ``snapshots``: ``(label, x, y)`` with agent cell indices; at most six are drawn (evenly
    spread). All panels share one colour scale (``fig.vmax``, at least ``MIN_VMAX``); empty bins
    are transparent. ``crop`` zooms every panel to the same window around where the crowd is.
    """
    snaps = _pick(list(snapshots), MAX_PANELS)
    grids, edges_x, edges_y = density_grids(gridmap, snaps, bin_m)
    vmax = max([float(g.max()) for g in grids] + [MIN_VMAX])
    norm = Normalize(vmin=0.0, vmax=vmax)
    width, height = gridmap.size_m
    x0, x1, y0, y1 = _view(gridmap, snaps, bin_m) if crop else (0.0, width, 0.0, height)
    n = max(1, len(snaps))
    cols = min(3, n)
    rows = -(-n // cols)
    panel_w = 4.2 if cols > 1 else 6.5
    panel_h = float(np.clip(panel_w * (y1 - y0) / max(x1 - x0, 1e-9), 1.6, 7.0))
    fig = new_figure(panel_w * cols + 1.1, panel_h * rows + 0.45 * rows + (0.5 if title else 0.1))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, (ax, (label, xs, _), grid) in enumerate(zip(axes, snaps, grids)):
        _background(ax, gridmap, labels=i == 0)
        shown = np.ma.masked_less_equal(grid.T, 0.0)
        ax.imshow(shown, origin="lower", extent=(0, edges_x[-1], 0, edges_y[-1]), cmap=DENSITY_CMAP, norm=norm,
                  alpha=0.9, interpolation="nearest", zorder=3)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{label}   ({len(xs)} people)", fontsize=10)
    for ax in axes[len(snaps):]:
        ax.axis("off")
    if not snaps:
        _background(axes[0], gridmap, labels=True)
        axes[0].set_title("no snapshots", fontsize=10)
    mappable = axes[0].images[-1] if snaps else None
    if mappable is not None:
        bar = fig.colorbar(mappable, ax=list(axes[: max(1, len(snaps))]), shrink=0.85, pad=0.01)
        bar.set_label(f"persons per m\u00b2 ({bin_m:g} m bins)")
    if title:
        fig.suptitle(title, fontsize=12)
    save(fig, path)
    fig.vmax = vmax  # the shared colour scale, for callers and tests
    return fig


def _background(ax, gridmap, *, labels: bool) -> None:
    try:
        from ..geo.render import draw_map
    except ImportError:
        draw_map = None
    if draw_map is not None:
        draw_map(ax, gridmap, labels=labels)
        for artist in (*ax.lines, *ax.texts):  # exit markers etc. may sit outside a cropped view
            artist.set_clip_on(True)
        return
    width, height = gridmap.size_m
    ax.imshow(gridmap.walkable.T, origin="lower", extent=(0, width, 0, height), cmap="gray", vmin=-1.5, vmax=1.1,
              interpolation="nearest", zorder=0)
