"""Figures of a batch that compare its points over time and at the end, read from the run folders:
active protesters over time, injuries on both sides, and where the protesters went.

Drawn for protest runs (their ``timeseries.parquet`` has ``protesters_active``) when a sweep has at most
``MAX_POINTS`` points, as for a family of counterfactuals; each point is labelled by a parameter whose
values all differ (the variant's name in a zipped family), else by its parameter values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..figures import new_figure, save

MAX_POINTS = 8
TOP_EXITS = 6  # exits drawn on their own in "where people went"; the rest are summed
_SECONDS_PER_HOUR = 3600.0


def point_labels(df: pd.DataFrame, parameters: dict) -> dict[int, str]:
    """point -> a short label: the first parameter whose values are all distinct, else every value."""
    naming = next((p for p, v in parameters.items() if len({repr(x) for x in v}) == len(v)), None)
    labels = {}
    for point, group in df.groupby("point", sort=True):
        row = group.iloc[0]
        labels[int(point)] = (str(row[naming]) if naming else
                              ", ".join(f"{p.split('.')[-1]}={row[p]}" for p in parameters)) or "base"
    return labels


def _runs(df: pd.DataFrame, batch_dir: Path) -> dict[int, list[tuple[pd.DataFrame, dict]]]:
    import json

    out: dict[int, list] = {}
    for _, row in df[df["status"] == "complete"].iterrows():
        folder = batch_dir / row["run_dir"]
        ts = folder / "timeseries.parquet"
        if not ts.is_file():
            continue
        summary = json.loads((folder / "summary.json").read_text())
        out.setdefault(int(row["point"]), []).append((pd.read_parquet(ts), summary))
    return out


def series_figures(df: pd.DataFrame, parameters: dict, batch_dir: Path, folder: Path, name: str) -> list[Path]:
    """The three figures into ``folder``; none if the runs are not protest runs or there are too many points."""
    if df["point"].nunique() > MAX_POINTS:
        return []
    runs = _runs(df, batch_dir)
    if not runs or "protesters_active" not in next(iter(runs.values()))[0][0].columns:
        return []
    labels = point_labels(df, parameters)
    return [_actives(runs, labels, folder / "actives_over_time.png", name),
            _injuries(runs, labels, folder / "injuries_both_sides.png", name),
            _where(runs, labels, folder / "where_people_went.png", name)]


def _actives(runs, labels, path: Path, name: str) -> Path:
    """Mean active protesters against the clock per point, the replicates' range shaded."""
    fig = new_figure(8.0, 4.8)
    ax = fig.add_subplot()
    for point, items in sorted(runs.items()):
        n = min(len(ts) for ts, _ in items)
        values = np.stack([ts["protesters_active"].to_numpy(float)[:n] for ts, _ in items])
        start_h = float(items[0][1].get("start_clock", "0:0").split(":")[0]) + \
            float(items[0][1].get("start_clock", "0:0").split(":")[1]) / 60
        hours = start_h + items[0][0]["time_s"].to_numpy(float)[:n] / _SECONDS_PER_HOUR
        line, = ax.plot(hours, values.mean(axis=0), label=f"{labels[point]} (n={len(items)})")
        ax.fill_between(hours, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("clock (hours)")
    ax.set_ylabel("active protesters")
    ax.set_title(f"{name}: active protesters over time (mean; shaded: range of replicates)", fontsize=9)
    ax.legend(fontsize=8)
    return save(fig, path)


def _injuries(runs, labels, path: Path, name: str) -> Path:
    """Injured protesters and injured officers at the end, mean per point with the replicates as dots."""
    fig = new_figure(8.0, 4.8)
    ax = fig.add_subplot()
    points = sorted(runs)
    width = 0.38
    for k, (side, key) in enumerate((("protesters", "injured_protesters"), ("police", "injured_police"))):
        xs = np.arange(len(points)) + (k - 0.5) * width
        per = [[float(s.get(key) or 0) for _, s in runs[p]] for p in points]
        ax.bar(xs, [np.mean(v) for v in per], width, label=f"{side} injured")
        for x, v in zip(xs, per):
            ax.scatter(np.full(len(v), x), v, s=10, color="black", alpha=0.5, linewidths=0)
    ax.set_xticks(np.arange(len(points)), [labels[p] for p in points], rotation=15, fontsize=8)
    ax.set_ylabel("people injured by the end")
    ax.set_title(f"{name}: injuries on both sides (mean; dots: replicates)", fontsize=9)
    ax.legend(fontsize=8)
    return save(fig, path)


def _where(runs, labels, path: Path, name: str) -> Path:
    """Where the protesters were at the end: left by each busiest exit, the other exits, still on the map,
    injured, arrested (means over replicates, stacked)."""
    points = sorted(runs)
    finals = {p: pd.DataFrame([ts.iloc[-1] for ts, _ in runs[p]]) for p in points}
    exit_cols = [c for c in next(iter(finals.values())).columns if c.startswith("protesters_left_via_")]
    totals = sum(finals[p][exit_cols].astype(float).mean() for p in points)
    top = list(totals.sort_values(ascending=False).index[:TOP_EXITS])
    parts = {c.removeprefix("protesters_left_via_"): (lambda f, c=c: f[c].astype(float).mean()) for c in top}
    parts["other exits"] = lambda f: f[[c for c in exit_cols if c not in top]].astype(float).sum(axis=1).mean()
    parts["still on the map"] = lambda f: f[["protesters_quiet", "protesters_active",
                                             "protesters_fleeing"]].astype(float).sum(axis=1).mean()
    parts["injured"] = lambda f: f["protesters_injured"].astype(float).mean()
    parts["arrested"] = lambda f: f["protesters_arrested"].astype(float).mean()
    fig = new_figure(8.5, 0.8 + 0.6 * len(points))
    ax = fig.add_subplot()
    left = np.zeros(len(points))
    for label, value in parts.items():
        widths = np.array([value(finals[p]) for p in points])
        ax.barh(np.arange(len(points)), widths, left=left, label=label)
        left += widths
    ax.set_yticks(np.arange(len(points)), [labels[p] for p in points], fontsize=8)
    ax.set_xlabel("protesters at the end (mean over replicates)")
    ax.set_title(f"{name}: where the protesters went", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(points) > 2 else -0.4))
    return save(fig, path)
