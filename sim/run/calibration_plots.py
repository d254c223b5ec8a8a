"""Figures of a calibration, readable without the code: each parameter's posterior against its prior
(one panel per parameter, generations shaded from light to dark), pairs of parameters in the last
generation, and the posterior-predictive check (the reported band of each target against the
spread of fresh runs at posterior settings, and of the prior draws). The ``figures/`` folder is
replaced whole, atomically."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from ..atomic import staged_folder
from ..figures import new_figure, save


def plot_calibration(spec, post, pred, folder: Path) -> list[Path]:
    folder = Path(folder)
    names = []
    with staged_folder(folder, replace=True) as tmp:
        for name, draw in (("marginals.png", _marginals), ("pairs.png", _pairs), ("predictive_check.png", _check)):
            fig = draw(spec, post, pred)
            save(fig, tmp / name)
            names.append(name)
    return [folder / n for n in names]


def _title(spec) -> str:
    return spec.design.name + (" (quick budget)" if spec.design.quick else "")


def _marginals(spec, post, pred):
    params = spec.design.parameters
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols)
    fig = new_figure(4.2 * cols, 2.8 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    gens = sorted(post["generation"].unique())
    for ax, p in zip(axes, params):
        log = p.distribution == "loguniform"
        bins = np.geomspace(p.low, p.high, 21) if log else np.linspace(p.low, p.high, 21)
        for k, t in enumerate(gens):
            g = post[post["generation"] == t]
            last = t == gens[-1]
            ax.hist(g[p.path], bins=bins, weights=g["weight"], histtype="stepfilled" if last else "step",
                    alpha=0.6 if last else 0.25 + 0.5 * k / max(len(gens), 1), color="#4c72b0" if last else "#888888",
                    label=f"generation {t}" + (" (posterior)" if last else " (prior draws)" if t == 0 else ""))
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # labels on minor ticks overlap
        ax.set_xlim(p.low, p.high)
        ax.set_title(p.path, fontsize=9)
        ax.set_ylabel("posterior weight")
        ax.set_xlabel(f"value (prior: {p.distribution} {p.low:g}-{p.high:g})", fontsize=8)
    for ax in axes[len(params):]:
        ax.axis("off")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Posterior of each setting, {_title(spec)}", fontsize=10)
    return fig


def _pairs(spec, post, pred):
    params = spec.design.parameters
    k = len(params)
    last = post[post["generation"] == post["generation"].max()]
    fig = new_figure(2.3 * k + 0.5, 2.3 * k + 0.5)
    axes = fig.subplots(k, k, squeeze=False)
    size = 10 + 200 * last["weight"] / max(last["weight"].max(), 1e-12)
    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i, j]
            if i == j:
                ax.hist(last[pi.path], bins=15, weights=last["weight"], color="#4c72b0", alpha=0.7)
            elif i > j:
                ax.scatter(last[pj.path], last[pi.path], s=size, alpha=0.5, color="#4c72b0", edgecolor="none")
                ax.set_ylim(pi.low, pi.high)
            else:
                ax.axis("off")
                continue
            ax.set_xlim(pj.low, pj.high)
            for axis, p in ((ax.xaxis, pj), (ax.yaxis, pi)):
                if p.distribution == "loguniform" and (axis is ax.xaxis or i != j):
                    (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
                    axis.set_minor_formatter(NullFormatter())
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(pj.path, fontsize=7)
            if j == 0 and i != j:
                ax.set_ylabel(pi.path, fontsize=7)
    fig.suptitle(f"Last generation's particles, in pairs (size: weight), {_title(spec)}", fontsize=10)
    return fig


def _check(spec, post, pred):
    targets = spec.targets
    fig = new_figure(max(6.0, 4.0 * len(targets)), 3.8)
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    first = post[post["generation"] == 0]
    rng = np.random.default_rng(0)  # horizontal jitter of the dots only
    for ax, tg in zip(axes, targets):
        ax.axhspan(tg.low, tg.high, color="#55a868", alpha=0.25, label="reported band")
        groups = [("prior draws", first[tg.metric.name].to_numpy(dtype=float), "#888888"),
                  ("posterior predictive", pred[tg.metric.name].to_numpy(dtype=float) if len(pred) else np.array([]),
                   "#4c72b0")]
        for x, (label, v, colour) in enumerate(groups):
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            ax.scatter(x + rng.uniform(-0.15, 0.15, v.size), v, s=12, color=colour, alpha=0.6)
            lo, mid, hi = np.quantile(v, [0.05, 0.5, 0.95])
            ax.errorbar([x + 0.3], [mid], yerr=[[mid - lo], [hi - mid]], fmt="D", color="black", capsize=4, ms=4)
        ax.set_xticks([0, 1], [g[0] for g in groups], fontsize=8)
        ax.set_xlim(-0.5, 1.6)
        ax.set_title(tg.label, fontsize=9)
        ax.set_ylabel(tg.metric.name, fontsize=7)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Posterior-predictive check: reported bands against runs at posterior settings\n"
                 f"(diamonds: median and 90% range), {_title(spec)}", fontsize=10)
    return fig
