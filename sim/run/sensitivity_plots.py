"""Figures of a sensitivity analysis: per metric, the parameters ranked by their influence, with the
95% confidence intervals SALib's bootstrap gives. Morris: mu* (mean absolute elementary effect,
in the metric's unit per sweep of the parameter over its range) with sigma beside it; Sobol':
first-order S1 and total ST shares of the metric's variance. The ``figures/`` folder is replaced
whole, atomically."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..atomic import staged_folder
from ..figures import new_figure, save
from .metrics import metric_label


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_rankings(idx, spec, folder: Path) -> list[Path]:
    """One PNG per metric (a panel per method); returns their paths under ``folder``."""
    folder = Path(folder)
    names = []
    with staged_folder(folder, replace=True) as tmp:
        for metric in spec.metrics:
            sub = idx[idx["metric"] == metric.name]
            methods = [m for m in spec.methods if (sub["method"] == m).any()]
            k = len(spec.design.parameters)
            fig = new_figure(6.0 * len(methods), 1.2 + 0.42 * k)
            axes = fig.subplots(1, len(methods), squeeze=False)[0]
            for ax, method in zip(axes, methods):
                _panel(ax, sub[sub["method"] == method], method)
            label = metric_label(spec.design.kind, metric.name)
            fig.suptitle(f"What drives {label}?\n{spec.design.name}" + (" (quick budget)" if spec.design.quick else ""),
                         fontsize=10)
            name = f"ranking__{_safe(metric.name)}.png"
            save(fig, tmp / name)
            names.append(name)
    return [folder / n for n in names]


def _panel(ax, rows, method: str) -> None:
    if method == "morris":
        main = rows[rows["index"] == "mu_star"].sort_values("value")
        sigma = rows[rows["index"] == "sigma"].set_index("parameter")["value"]
        y = np.arange(len(main))
        ax.barh(y, main["value"], xerr=_err(main), color="#4c72b0", alpha=0.85, capsize=3, label="mu* (95% CI)")
        ax.plot(sigma.reindex(main["parameter"]).to_numpy(), y, "o", color="#dd8452", ms=5,
                label="sigma (interactions, non-linearity)")
        ax.set_xlabel("effect on the metric of sweeping the parameter\nover its range (in the metric's unit)")
        ax.set_title("Morris screening", fontsize=9)
    else:
        s1 = rows[rows["index"] == "S1"].set_index("parameter")
        st = rows[rows["index"] == "ST"].sort_values("value")
        y = np.arange(len(st))
        s1 = s1.reindex(st["parameter"])
        ax.barh(y + 0.2, st["value"], height=0.4, xerr=_err(st), color="#c44e52", alpha=0.85, capsize=3,
                label="total ST (95% CI)")
        ax.barh(y - 0.2, s1["value"], height=0.4, xerr=_err(s1), color="#4c72b0", alpha=0.85, capsize=3,
                label="first order S1 (95% CI)")
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_xlabel("share of the metric's variance")
        ax.set_title("Sobol' indices", fontsize=9)
        main = st
    ax.set_yticks(np.arange(len(main)), list(main["parameter"]), fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    if not np.isfinite(main["value"].to_numpy(dtype=float)).any():
        ax.text(0.5, 0.5, "no indices: some runs have no value", transform=ax.transAxes, ha="center")
    ax.legend(fontsize=7, loc="lower right")


def _err(rows):
    conf = rows["conf"].to_numpy(dtype=float)
    return np.where(np.isfinite(conf), np.abs(conf), 0.0)
