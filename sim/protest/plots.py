"""Figures of a run over clock time: the timeline of counts and key events, and the injuries by cause.

Matplotlib ``Figure`` objects only (no pyplot state), so drawing works headless, in threads and
in worker processes. Both functions save a PNG to ``path`` and return the Figure. The density
maps are ``sim.protest.density``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..figures import STATE_COLOURS, new_figure, save

PLACE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_PLACE_LINES = 8
PLACE_SHARE = 0.03  # a place gets its own line if it ever holds this share of the protesters
STATE_PREFIX = "protesters_"  # protesters_<state>
PLACE_PREFIX = "protesters_in_"  # protesters_in_<place>
HARM_LINES = (  # column, label, style: the middle panel of the timeline
    ("protesters_injured", "protesters injured", dict(color=STATE_COLOURS["injured"], lw=1.9)),
    ("police_injured", "police injured", dict(color="black", lw=1.6, ls="--")),
    ("protesters_arrested", "protesters arrested", dict(color=STATE_COLOURS["arrested"], lw=1.6, ls=":")),
)
CAUSE_COLOURS = {"gas": "#8c9a00", "water_cannon": "#1f77b4", "stun_grenade": "#9467bd", "baton": "#d62728",
                 "crush": "#ff7f0e", "projectile": "#5a3a1a"}
KEY_EVENT_KINDS = ("event", "trigger", "first_force", "gate")  # marked when present; else all events ...
BULK_EVENT_KINDS = ("force", "injury", "arrest")  # ... but these, which come by the hundred
MAX_EVENTS = 12
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
    elif "kind" in ev:
        ev = ev[~ev["kind"].isin(BULK_EVENT_KINDS)]
    for col in ("label", "clock"):
        ev[col] = ev[col].fillna("").astype(str) if col in ev else ""
    return ev.sort_values("time_s", kind="stable").head(MAX_EVENTS).reset_index(drop=True)


def plot_timeline(timeseries: pd.DataFrame, path, *, events=None, title: str = "") -> Figure:
    """Protesters by state (top), the injured on each side and the arrested on their own axis
    (middle), and protesters in the busiest places (bottom), over clock time, key events marked.

    A place gets its own line if it ever holds more than ``PLACE_SHARE`` of the protesters (at
    most ``MAX_PLACE_LINES``, the fullest first); the others are summed as "other places". Key
    events (``KEY_EVENT_KINDS`` when present, else all but ``BULK_EVENT_KINDS``) are dashed lines
    numbered in time order and listed under the plots.
    """
    ts = timeseries.reset_index(drop=True)
    offset = clock_offset_s(ts)
    x = ts["time_s"].to_numpy(dtype=float) + offset
    span = float(x[-1] - x[0]) if len(x) > 1 else 60.0
    ev = _key_events(events)
    key_rows = _event_key_layout(ev)[1] if len(ev) else 0
    fig = new_figure(10.0, 8.6 + 0.2 * key_rows)
    ratios = [1.0, 0.7, 1.0] + ([0.085 * key_rows] if key_rows else [])
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    top = fig.add_subplot(grid[0])
    middle = fig.add_subplot(grid[1], sharex=top)
    bottom = fig.add_subplot(grid[2], sharex=top)

    states = [c for c in ts.columns if c.startswith(STATE_PREFIX) and c[len(STATE_PREFIX):] in STATE_COLOURS]
    for col in states:
        name = col[len(STATE_PREFIX):]
        if len(ts) and ts[col].max() > 0:
            top.plot(x, ts[col], label=name, color=STATE_COLOURS[name], lw=1.8)
    top.set_ylabel("protesters")
    top.set_title("Protesters by state", fontsize=10, loc="left")

    for col, label, style in HARM_LINES:
        if col in ts and len(ts):
            middle.plot(x, ts[col], **style, label=label)
    middle.set_ylabel("people")
    middle.set_title("Injured (each side) and arrested, on their own scale", fontsize=10, loc="left")

    places = [c for c in ts.columns if c.startswith(PLACE_PREFIX)]
    if places and len(ts):
        peak = ts[places].max().sort_values(ascending=False, kind="stable")
        everyone = ts[states].sum(axis=1).max() if states else ts[places].sum(axis=1).max()
        total = max(1.0, float(everyone))
        shown = [c for c in peak.index if peak[c] > PLACE_SHARE * total][:MAX_PLACE_LINES]
        for colour, col in zip(PLACE_COLOURS, shown):
            bottom.plot(x, ts[col], label=col[len(PLACE_PREFIX):], color=colour, lw=1.6)
        rest = [c for c in places if c not in shown]
        if rest and ts[rest].to_numpy().max() > 0:
            bottom.plot(x, ts[rest].sum(axis=1), color="grey", lw=1.2, ls="--", label="other places")
    bottom.set_ylabel("protesters in place")
    bottom.set_title("Protesters in the busiest places", fontsize=10, loc="left")
    bottom.set_xlabel("clock time")
    for ax in (top, middle, bottom):
        ax.grid(alpha=0.25, lw=0.6)
        ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False, borderaxespad=0)
    if not middle.get_lines() or max((max(line.get_ydata(), default=0) for line in middle.get_lines())) <= 0:
        middle.set_ylim(0, 1)
        middle.text(0.5, 0.5, "nobody injured or arrested", transform=middle.transAxes, ha="center", va="center",
                    fontsize=9, color="0.4")
    for ax in (top, middle):
        ax.tick_params(labelbottom=False)
    if len(x) > 1:
        top.set_xlim(x[0], x[-1])
    clock_axis(bottom, span)

    levels = _mark_events(fig, grid[3] if key_rows else None, (top, middle, bottom), ev, offset, span) \
        if len(ev) else 0
    fig.suptitle(title or "Run timeline", fontsize=12)
    if levels:
        top.set_title("Protesters by state", fontsize=10, loc="left", pad=6 + 12 * levels)
    save(fig, path)
    return fig


def plot_injuries(timeseries: pd.DataFrame, events, path, *, title: str = "") -> Figure:
    """People injured so far, by cause, protesters (top) and police (bottom), over clock time.

    From the ``injury`` rows of ``events`` (side, cause, count); the clock axis spans the time series.
    Key events are marked as in :func:`plot_timeline`.
    """
    ts = timeseries.reset_index(drop=True)
    offset = clock_offset_s(ts)
    t = ts["time_s"].to_numpy(dtype=float)
    start, end = (float(t[0]), float(t[-1])) if len(t) else (0.0, 60.0)
    span = max(end - start, 60.0)
    ev = _key_events(events)
    key_rows = _event_key_layout(ev)[1] if len(ev) else 0
    hurt = _injury_rows(events)
    fig = new_figure(10.0, 6.4 + 0.2 * key_rows)
    ratios = [1.0, 0.6] + ([0.09 * key_rows] if key_rows else [])
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    top = fig.add_subplot(grid[0])
    bottom = fig.add_subplot(grid[1], sharex=top)
    for ax, side in ((top, "protesters"), (bottom, "police")):
        rows = hurt[hurt["side"] == side]
        causes = rows.groupby("cause")["count"].sum().sort_values(ascending=False, kind="stable")
        for cause, n in causes.items():
            mine = rows[rows["cause"] == cause].sort_values("time_s", kind="stable")
            xs = np.concatenate([[start], mine["time_s"].to_numpy(float), [end]]) + offset
            ys = np.concatenate([[0], np.cumsum(mine["count"].to_numpy(float)), [n]])
            ax.step(xs, ys, where="post", lw=1.8, color=CAUSE_COLOURS.get(cause, "0.3"),
                    label=f"{cause.replace('_', ' ')} ({int(n)})")
        ax.set_title(f"{side.capitalize()} injured so far, by cause ({int(causes.sum())} in all)", fontsize=10,
                     loc="left")
        ax.set_ylabel("people injured")
        ax.grid(alpha=0.25, lw=0.6)
        ax.set_ylim(bottom=0)
        if causes.empty:
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, f"no {side} injured", transform=ax.transAxes, ha="center", va="center", fontsize=9,
                    color="0.4")
        else:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False, borderaxespad=0,
                      title="cause (total)", title_fontsize=9, alignment="left")
    top.tick_params(labelbottom=False)
    if end > start:
        top.set_xlim(start + offset, end + offset)
    bottom.set_xlabel("clock time")
    clock_axis(bottom, span)
    levels = _mark_events(fig, grid[2] if key_rows else None, (top, bottom), ev, offset, span) if len(ev) else 0
    if levels:
        top.set_title(top.get_title(loc="left"), fontsize=10, loc="left", pad=6 + 12 * levels)
    fig.suptitle(title or "Injuries", fontsize=12)
    save(fig, path)
    return fig


def _injury_rows(events) -> pd.DataFrame:
    cols = ["time_s", "side", "cause", "count"]
    if events is None:
        return pd.DataFrame(columns=cols)
    ev = pd.DataFrame(events)
    if not len(ev) or not set(cols) <= set(ev.columns) or "kind" not in ev:
        return pd.DataFrame(columns=cols)
    ev = ev[ev["kind"] == "injury"][cols].copy()
    ev["time_s"] = pd.to_numeric(ev["time_s"], errors="coerce")
    ev["count"] = pd.to_numeric(ev["count"], errors="coerce").fillna(0)
    return ev[np.isfinite(ev["time_s"].to_numpy(dtype=float))]


def _event_key_layout(ev: pd.DataFrame) -> tuple[int, int]:
    """(columns, rows) of the event key: two columns when the labels are short enough."""
    cols = 2 if len(ev) > 3 and ev["label"].str.len().max() <= 48 else 1
    return cols, -(-len(ev) // cols)


def _mark_events(fig, key_cell, axes, ev: pd.DataFrame, offset: float, span: float) -> int:
    """Dashed lines through ``axes``, numbered above the first (staggered when close), listed in a
    key in ``key_cell`` of the figure's grid; returns how many rows of numbers were needed."""
    level_end: list[float] = []
    first = axes[0]
    for i, row in ev.iterrows():
        xe = float(row["time_s"]) + offset
        for ax in axes:
            ax.axvline(xe, color="black", ls="--", lw=0.8, alpha=0.55, zorder=1)
        level = next((k for k, end in enumerate(level_end) if xe > end), len(level_end))
        if level == len(level_end):
            level_end.append(-np.inf)
        level_end[level] = xe + 0.025 * span
        first.annotate(str(i + 1), (xe, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 3 + 11 * level),
                       textcoords="offset points", ha="center", va="bottom", fontsize=8, weight="bold",
                       bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="0.4", lw=0.6), annotation_clip=False)
    if key_cell is None:
        return len(level_end)
    key = fig.add_subplot(key_cell)
    key.axis("off")
    cols, rows = _event_key_layout(ev)
    for i, row in ev.iterrows():
        col, line = divmod(i, rows)
        clock = str(row["clock"])[:5]
        label = row["label"] if len(row["label"]) <= 100 else row["label"][:99] + "\u2026"
        key.text(col / cols, 1.0 - line / rows, f"{i + 1}   {clock}   {label}", transform=key.transAxes,
                 fontsize=9, va="top", ha="left")
    return len(level_end)


