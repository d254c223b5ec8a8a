"""``protest-sim harm BATCH_DIR``: the harm maps of a batch into ``BATCH_DIR/harm/``, and their figures.

The folder holds ``harm.parquet`` (per point, side, cell and cause: visits, injured, p and its
bootstrap 95% interval), ``about.json`` (the points, replicates, cell size, method) and
``figures/``: ``harm_<cause>.png`` for each cause (one panel per point, at most ``MAX_PANELS``;
protesters, but ``projectile`` for the police, the only side thrown objects hurt) and, with
``compare=(A, B)``, ``compare_A_vs_B.png`` (every cause together: A, B and B - A). Written into a
temporary folder and renamed into place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import clean_stale_temps, staged_folder, write_json
from ..errors import ScenarioError
from ..figures import new_figure, save
from ..geo.render import map_image
from ..traj.file import CAUSES
from .figures import cell_image, map_panel
from .harm import ANY, BOOTSTRAP, harm_tables

FOLDER = "harm"
MAX_PANELS = 6
SIDE_OF = {cause: ("police" if cause == "projectile" else "protesters") for cause in CAUSES} | {ANY: "protesters"}


def _gridmap(batch_dir: Path):
    from ..geo.loader import load_map
    from ..kinds import load_scenario

    runs = sorted((batch_dir / "runs").glob("*/scenario.toml"))
    if not runs:
        raise ScenarioError(f"{batch_dir} has no run folder with its scenario")
    return load_map(load_scenario(runs[0]).map)


def plot_cause(table, cause: str, gridmap, path, *, cell_m: float, points: dict) -> None:
    side = SIDE_OF[cause]
    rows = table[(table["cause"] == cause) & (table["side"] == side)]
    shown = [p for p in sorted(points)][:MAX_PANELS]
    cols = min(3, len(shown))
    fig = new_figure(5.2 * cols, 4.6 * int(np.ceil(len(shown) / cols)) + 0.6)
    axes = np.atleast_1d(fig.subplots(int(np.ceil(len(shown) / cols)), cols, squeeze=False)).ravel()
    vmax = max(float(rows["p"].max()) if len(rows) else 0.0, 1e-6)
    picture = map_image(gridmap)
    visited = table[(table["side"] == side) & (table["cause"] == ANY)]
    width, height = gridmap.size_m
    extent = cell_image(visited, "p", cell_m=cell_m)[1] if len(visited) else (0.0, width, 0.0, height)
    for ax, point in zip(axes, shown):
        mine = rows[rows["point"] == point]
        hurt = mine[mine["injured"] > 0]
        image, ext = cell_image(hurt, "p", cell_m=cell_m) if len(hurt) else (np.full((1, 1), np.nan), extent)
        im = map_panel(ax, gridmap, image, ext, cmap="Reds", vmin=0, vmax=vmax, picture=picture,
                       label=f"point {point}: {points[point]['label']} ({points[point]['replicates']} runs)")
        ax.set_xlim(max(0, extent[0] - 40), min(gridmap.size_m[0], extent[1] + 40))
        ax.set_ylim(max(0, extent[2] - 40), min(gridmap.size_m[1], extent[3] + 40))
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:len(shown)]), shrink=0.6, label=f"share of {side} there injured there")
    what = "every cause" if cause == ANY else cause.replace("_", " ")
    fig.suptitle(f"Where {side} were injured by {what}: per {cell_m:g} m cell, injured / people who stood there "
                 f"(pooled over replicates; 95% intervals in harm.parquet)", fontsize=10)
    save(fig, path)


def plot_compare(table, a: int, b: int, gridmap, path, *, cell_m: float, points: dict) -> None:
    rows = table[(table["cause"] == ANY) & (table["side"] == "protesters")]
    ra, rb = rows[rows["point"] == a], rows[rows["point"] == b]
    both = ra[["ix", "iy", "p"]].merge(rb[["ix", "iy", "p"]], on=["ix", "iy"], how="outer",
                                       suffixes=("_a", "_b")).fillna(0.0)
    both["diff"] = both["p_b"] - both["p_a"]
    fig = new_figure(16, 5.4)
    axes = fig.subplots(1, 3)
    picture = map_image(gridmap)
    vmax = max(float(both[["p_a", "p_b"]].max().max()), 1e-6)
    span = max(float(both["diff"].abs().max()), 1e-6)
    for ax, col, cmap, lo, hi, label in (
            (axes[0], "p_a", "Reds", 0, vmax, f"A = point {a}: {points[a]['label']}"),
            (axes[1], "p_b", "Reds", 0, vmax, f"B = point {b}: {points[b]['label']}"),
            (axes[2], "diff", "RdBu_r", -span, span, "B - A (red: more harm under B)")):
        shown = both[both[col] != 0] if len(both[both[col] != 0]) else both
        image, ext = cell_image(shown, col, cell_m=cell_m)
        im = map_panel(ax, gridmap, image, cell_image(both, col, cell_m=cell_m)[1], cmap=cmap, vmin=lo, vmax=hi,
                       picture=picture, label=label)
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.suptitle("Where do injuries move? Share of protesters standing in a cell who were injured there, every "
                 "cause", fontsize=10)
    save(fig, path)


def write_harm(batch_dir, *, compare: tuple[int, int] | None = None, cell_m: float = 5.0, boot: int = BOOTSTRAP,
               figures: bool = True) -> tuple[Path, dict]:
    """Compute the harm maps of the batch at ``batch_dir`` and write ``BATCH_DIR/harm/``."""
    batch_dir = Path(batch_dir)
    if not batch_dir.is_dir():
        raise ScenarioError(f"{batch_dir}: no such folder (give a batch folder written by protest-sim batch)")
    table, points, cell_m = harm_tables(batch_dir, cell_m=cell_m, boot=boot)
    if compare is not None:
        unknown = [p for p in compare if p not in points]
        if unknown:
            raise ScenarioError(f"no point {unknown[0]} with complete runs in {batch_dir}; points: "
                                f"{', '.join(map(str, sorted(points)))}", path="--compare")
    about = {"batch": str(batch_dir), "cell_m": cell_m, "bootstrap_resamples": boot, "interval": "95% percentile",
             "estimate": "pooled: injured summed over replicates / visits summed over replicates",
             "points": {str(p): d for p, d in sorted(points.items())}, "compare": list(compare or [])}
    out = batch_dir / FOLDER
    clean_stale_temps(batch_dir)
    with staged_folder(out, replace=True, replaceable=lambda p: (p / "about.json").is_file()) as tmp:
        table.to_parquet(tmp / "harm.parquet", index=False)
        if figures:
            gridmap = _gridmap(batch_dir)
            (tmp / "figures").mkdir()
            for cause in (*CAUSES, ANY):
                plot_cause(table, cause, gridmap, tmp / "figures" / f"harm_{cause}.png", cell_m=cell_m, points=points)
            if compare is not None:
                a, b = compare
                plot_compare(table, a, b, gridmap, tmp / "figures" / f"compare_{a}_vs_{b}.png", cell_m=cell_m,
                             points=points)
        write_json(tmp / "about.json", about)
    return out, about
