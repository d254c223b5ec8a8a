"""Figures of a batch: each metric against each swept parameter, and heat maps of two-parameter grids.

Every point shows the mean over its replicates with a 95% confidence interval for that mean
(Student t), and the replicates themselves as faint dots, so the spread is never hidden.
Figures are matplotlib ``Figure`` objects (no pyplot state), written atomically: the whole
``figures/`` folder is replaced at once.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import staged_folder
from ..figures import new_figure, save
from .batch_series import series_figures
from .metrics import metric_label

# two-sided 95% Student t quantiles, t_{0.975, df}, df = 1..30
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z975 = 1.959963984540054
MAX_LINES = 8  # a second parameter with more values than this is averaged over instead of drawn as lines


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975  # Cornish-Fisher expansion: within 1e-4 beyond df = 30
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci(values) -> tuple[float, float, float, int]:
    """Mean, lower and upper 95% bounds of the mean, and n (NaNs dropped). One value: no interval."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(v.mean())
    if n == 1:
        return m, math.nan, math.nan, 1
    half = t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return m, m - half, m + half, n


def point_table(df: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Per combination of ``by``: mean, lo, hi, n of ``metric`` over complete runs."""
    done = df[df["status"] == "complete"]
    rows = []
    if not by:
        m, lo, hi, n = mean_ci(done[metric])
        return pd.DataFrame([{"mean": m, "lo": lo, "hi": hi, "n": n}])
    for key, group in done.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        m, lo, hi, n = mean_ci(group[metric])
        rows.append({**dict(zip(by, key)), "mean": m, "lo": lo, "hi": hi, "n": n})
    return pd.DataFrame(rows, columns=[*by, "mean", "lo", "hi", "n"])


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _positions(values: list) -> tuple[list, list, bool]:
    """x positions and tick labels for a parameter's values (numbers as themselves, others as categories)."""
    if _numeric(values):
        return [float(v) for v in values], [f"{v:g}" for v in values], True
    return list(range(len(values))), [str(v) for v in values], False


def _key(v):
    return repr(v) if isinstance(v, (list, dict)) else v


def metric_vs_parameter(df: pd.DataFrame, metric: str, param: str, parameters: dict, path: Path, *,
                        label: str | None = None, title: str = "") -> Path:
    """``metric`` against ``param``: one line per value of a second parameter (if any, and few), else averaged."""
    values = list(parameters[param])
    xs, ticks, numeric = _positions(values)
    others = [p for p in parameters if p != param]
    line_by = others[0] if len(others) == 1 and len(parameters[others[0]]) <= MAX_LINES else None
    data = df.copy()
    for p in parameters:
        data[p] = data[p].map(_key)
    fig = new_figure(7.5, 4.8)
    ax = fig.add_subplot()
    groups = [(None, data)] if line_by is None else [(v, data[data[line_by] == _key(v)])
                                                      for v in parameters[line_by]]
    span = (max(xs) - min(xs)) if len(xs) > 1 else 1.0
    dodge = 0.012 * span if numeric else 0.06
    complete = data[data["status"] == "complete"]
    for k, (other_value, group) in enumerate(groups):
        offset = (k - (len(groups) - 1) / 2) * dodge
        colour = _colour(k, len(groups))
        table = point_table(group, [param], metric)
        stats = {row[param]: row for row in table.to_dict("records")}
        mx, my, lo, hi = [], [], [], []
        for x, v in zip(xs, values):
            row = stats.get(_key(v))
            if row is None or not np.isfinite(row["mean"]):
                continue
            mx.append(x + offset)
            my.append(row["mean"])
            lo.append(row["mean"] - row["lo"] if np.isfinite(row["lo"]) else 0.0)
            hi.append(row["hi"] - row["mean"] if np.isfinite(row["hi"]) else 0.0)
            reps = group[(group[param] == _key(v)) & (group["status"] == "complete")][metric].to_numpy(float)
            ax.scatter(np.full(reps.size, x + offset), reps, s=14, color=colour, alpha=0.4, linewidths=0)
        name = "mean" if line_by is None else f"{line_by} = {other_value}"
        ax.errorbar(mx, my, yerr=[lo, hi], marker="o", ms=5, capsize=3, color=colour, label=name,
                    linestyle="-" if numeric else "none")
    ax.set_xticks(xs, ticks)
    ax.set_xlabel(param)
    ax.set_ylabel(label or metric)
    reps = complete.groupby([p for p in parameters], dropna=False).size() if len(complete) else pd.Series([0])
    note = f"mean and 95% interval over {int(reps.min())}-{int(reps.max())} replicates" if reps.min() != reps.max() \
        else f"mean and 95% interval over {int(reps.max())} replicates per point"
    if len(others) > (1 if line_by else 0):
        note += f"; averaged over {', '.join(o for o in others if o != line_by)}"
    ax.set_title(f"{title}\n{note}" if title else note, fontsize=10)
    if line_by is not None:
        ax.legend(fontsize=8, title=None, loc="best")
    ax.grid(alpha=0.3)
    return save(fig, path, dpi=110)


def _colour(k: int, n: int):
    from matplotlib import colormaps

    if n <= 1:
        return "tab:blue"
    return colormaps["viridis"](0.1 + 0.75 * k / (n - 1))


def heatmap(df: pd.DataFrame, metric: str, px: str, py: str, parameters: dict, path: Path, *,
            label: str | None = None, title: str = "") -> Path:
    """Mean of ``metric`` on the grid of two parameters, each cell annotated with mean and 95% half-width."""
    xv, yv = list(parameters[px]), list(parameters[py])
    data = df.copy()
    for p in parameters:
        data[p] = data[p].map(_key)
    table = point_table(data, [px, py], metric)
    grid = np.full((len(yv), len(xv)), np.nan)
    half = np.full_like(grid, np.nan)
    lookup = {(r[px], r[py]): r for r in table.to_dict("records")}
    for i, y in enumerate(yv):
        for j, x in enumerate(xv):
            r = lookup.get((_key(x), _key(y)))
            if r is not None:
                grid[i, j] = r["mean"]
                half[i, j] = (r["hi"] - r["lo"]) / 2 if np.isfinite(r["hi"]) else np.nan
    fig = new_figure(1.2 * len(xv) + 3.2, 0.8 * len(yv) + 2.4)
    ax = fig.add_subplot()
    finite = grid[np.isfinite(grid)]
    im = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto", cmap="magma",
                   vmin=finite.min() if finite.size else 0, vmax=finite.max() if finite.size else 1)
    fig.colorbar(im, ax=ax, label=label or metric)
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for i in range(len(yv)):
        for j in range(len(xv)):
            if np.isfinite(grid[i, j]):
                text = _fmt(grid[i, j]) + (f"\n±{_fmt(half[i, j])}" if np.isfinite(half[i, j]) else "")
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="black" if grid[i, j] > mid else "white")
            else:
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="grey")
    ax.set_xticks(range(len(xv)), _positions(xv)[1])
    ax.set_yticks(range(len(yv)), _positions(yv)[1])
    ax.set_xlabel(px)
    ax.set_ylabel(py)
    note = "mean over replicates, ± half-width of the 95% interval"
    ax.set_title(f"{title}\n{note}" if title else note, fontsize=10)
    return save(fig, path, dpi=110)


def _fmt(v: float) -> str:
    """Numbers for cell labels: 3022, 58.7, 0.042."""
    a = abs(v)
    if a >= 10:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}"


def plot_batch(df: pd.DataFrame, sweep, folder) -> list[Path]:
    """All figures of a batch into ``folder`` (replaced as a whole); returns the files written."""
    folder = Path(folder)
    written = []
    with staged_folder(folder, replace=True) as tmp:  # figures/ is the batch's own
        parameters = {k: list(v) for k, v in sweep.parameters.items()}
        complete = df[df["status"] == "complete"]
        if len(complete) and parameters:
            for metric in sweep.metrics:
                if not np.isfinite(complete[metric].to_numpy(float)).any():
                    continue  # e.g. first_force_s when no run used force
                label = metric_label(sweep.kind, metric)
                # a zipped family repeats values: only parameters whose values all differ make an x axis
                for param in [p for p, v in parameters.items() if len({repr(x) for x in v}) == len(v)]:
                    written.append(metric_vs_parameter(df, metric, param, parameters,
                                                       tmp / f"{_safe(metric)}__vs__{_safe(param)}.png",
                                                       label=label, title=f"{sweep.name}: {label}"))
                if len(parameters) == 2 and sweep.mode == "grid":
                    px, py = list(parameters)
                    written.append(heatmap(df, metric, px, py, parameters, tmp / f"{_safe(metric)}__heatmap.png",
                                           label=label, title=f"{sweep.name}: {label}"))
        if len(complete):
            written += series_figures(df, parameters, folder.parent, tmp, sweep.name)
        _write_points_csv(df, sweep, tmp / "points.csv")
    return [folder / p.name for p in written]


def _write_points_csv(df: pd.DataFrame, sweep, path: Path) -> None:
    """The numbers behind the figures: per point, each metric's mean, 95% bounds and n."""
    params = list(sweep.parameters)
    data = df.copy()
    for p in params:
        data[p] = data[p].map(_key)
    out = None
    for metric in sweep.metrics:
        t = point_table(data, params, metric).rename(columns={"mean": f"{metric}_mean", "lo": f"{metric}_lo95",
                                                              "hi": f"{metric}_hi95", "n": f"{metric}_n"})
        out = t if out is None else out.merge(t, on=params, how="outer") if params else pd.concat([out, t], axis=1)
    if out is not None:
        out.to_csv(path, index=False)
