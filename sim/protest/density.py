"""The density figure: protesters per m^2 over the map at a few moments, with the police, the water
cannon trucks and the tear-gas cloud, a scale bar, a north arrow and a legend for every mark.

Matplotlib ``Figure`` objects only (no pyplot state): drawing works headless, in threads and in
worker processes.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..figures import drop_overflowing_texts, new_figure, save
from .snapshots import Snapshot

MAX_PANELS = 6
MIN_VMAX = 0.5  # persons/m^2: a sparse crowd is not drawn in the colours of a crush
DENSITY_CMAP = ListedColormap(colormaps["inferno_r"](np.linspace(0.18, 1.0, 256)), name="density")
POLICE_COLOUR = "#1d3f8f"
TRUCK_COLOUR = "#00b8d9"
GAS_RGBA = (0.55, 0.68, 0.0, 0.45)  # CS smoke: a yellowish green
DEFAULT_GAS_EDGE = 0.01  # g/m^2: the visible cloud's edge when the caller gives none (the scenario default)


def density_grids(gridmap, snapshots, bin_m: float = 5.0):
    """Persons per m^2 in ``bin_m`` bins for each snapshot; returns (grids [bx, by], edges_x, edges_y)."""
    cs = float(gridmap.cell_size)
    width, height = gridmap.size_m
    edges_x = np.arange(int(np.ceil(width / bin_m - 1e-9)) + 1) * bin_m
    edges_y = np.arange(int(np.ceil(height / bin_m - 1e-9)) + 1) * bin_m
    grids = []
    for snap in snapshots:
        xs, ys = np.asarray(snap[1], dtype=float), np.asarray(snap[2], dtype=float)
        h, _, _ = np.histogram2d((xs + 0.5) * cs, (ys + 0.5) * cs, bins=(edges_x, edges_y))
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
    xs = [np.asarray(s.x) for s in snapshots if len(s.x)]
    if not xs:
        return 0.0, width, 0.0, height
    cs = gridmap.cell_size
    ys = np.concatenate([np.asarray(s.y) for s in snapshots if len(s.x)]) * cs
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


def plot_density(gridmap, snapshots, path, *, bin_m: float = 5.0, title: str = "", crop: bool = True,
                 gas_edge: float = DEFAULT_GAS_EDGE) -> Figure:
    """Protesters per m^2 in ``bin_m`` x ``bin_m`` bins over the map, one panel per snapshot.

    ``snapshots``: :class:`sim.protest.snapshots.Snapshot` (or ``(label, x, y)`` tuples: protesters
    only); at most six are drawn (evenly spread). All panels share one colour scale (``fig.vmax``,
    at least ``MIN_VMAX``); empty bins are transparent. Officers are dots, water cannon trucks
    squares, the tear gas above ``gas_edge`` g/m^2 (where people flee) a green veil. ``crop``
    zooms every panel to the same window around where the crowd is.
    """
    snaps = [Snapshot(*s) for s in _pick(list(snapshots), MAX_PANELS)]
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
    fig = new_figure(panel_w * cols + 1.1, panel_h * rows + 0.45 * rows + (0.5 if title else 0.1) + 1.3)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    marks: set[str] = set()
    picture = _map_picture(gridmap)
    for i, (ax, snap, grid) in enumerate(zip(axes, snaps, grids)):
        dagger = _background(ax, gridmap, labels=i == 0, picture=picture)
        shown = np.ma.masked_less_equal(grid.T, 0.0)
        ax.imshow(shown, origin="lower", extent=(0, edges_x[-1], 0, edges_y[-1]), cmap=DENSITY_CMAP, norm=norm,
                  alpha=0.9, interpolation="nearest", zorder=3)
        marks |= _overlays(ax, snap, gridmap.cell_size, gas_edge)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        police = "" if snap.police_x is None else f", {len(snap.police_x)} police"
        ax.set_title(f"{snap.label}   ({len(snap.x)} protesters{police})", fontsize=10)
        _compass(ax)
        marks |= {"dagger"} if dagger else set()
    for ax in axes[len(snaps):]:
        ax.axis("off")
    if not snaps:
        _background(axes[0], gridmap, labels=True, picture=picture)
        axes[0].set_title("no snapshots", fontsize=10)
    used = list(axes[: max(1, len(snaps))])
    mappable = axes[0].images[-1] if snaps else None
    if mappable is not None:
        bar = fig.colorbar(mappable, ax=used, shrink=0.85, pad=0.01)
        bar.set_label(f"protesters per m\u00b2 ({bin_m:g} m bins)")
    _legend(fig, gridmap, marks, gas_edge)
    if title:
        fig.suptitle(title, fontsize=12)
    drop_overflowing_texts(fig, used)
    save(fig, path)
    fig.vmax = vmax  # the shared colour scale, for callers and tests
    return fig


def _overlays(ax, snap: Snapshot, cell: float, gas_edge: float) -> set[str]:
    """Gas, officers and trucks over the density; returns which of them were drawn."""
    drawn = set()
    if snap.gas is not None and snap.gas_cell_m > 0 and float(np.max(snap.gas, initial=0.0)) > gas_edge:
        gx, gy = snap.gas.shape
        veil = np.zeros((gy, gx, 4))
        veil[snap.gas.T > gas_edge] = GAS_RGBA
        ax.imshow(veil, origin="lower", extent=(0, gx * snap.gas_cell_m, 0, gy * snap.gas_cell_m),
                  interpolation="nearest", zorder=4)
        drawn.add("gas")
    if snap.police_x is not None and len(snap.police_x):
        ax.scatter((np.asarray(snap.police_x) + 0.5) * cell, (np.asarray(snap.police_y) + 0.5) * cell, s=1.5,
                   c=POLICE_COLOUR, linewidths=0, zorder=5)
        drawn.add("police")
    if snap.trucks_x is not None and len(snap.trucks_x):
        ax.scatter((np.asarray(snap.trucks_x) + 0.5) * cell, (np.asarray(snap.trucks_y) + 0.5) * cell, s=28,
                   marker="s", c=TRUCK_COLOUR, edgecolors="black", linewidths=0.6, zorder=6)
        drawn.add("trucks")
    return drawn


def _legend(fig, gridmap, marks: set[str], gas_edge: float) -> None:
    """One legend under the panels: the map's colours and every mark drawn over them."""
    try:
        from ..geo.render import ESTIMATED_NOTE, legend_handles
    except ImportError:
        handles, note = [Patch(fc="0.35", label="not walkable"), Patch(fc="0.9", ec="0.6", label="floor")], ""
    else:
        handles, note = legend_handles(gridmap), ESTIMATED_NOTE if "dagger" in marks else ""
    if "police" in marks:
        handles.append(Line2D([], [], ls="none", marker="o", ms=3, color=POLICE_COLOUR, label="police officer"))
    if "trucks" in marks:
        handles.append(Line2D([], [], ls="none", marker="s", ms=6, color=TRUCK_COLOUR, mec="black", mew=0.6,
                              label="water cannon truck"))
    if "gas" in marks:
        handles.append(Patch(fc=GAS_RGBA, label=f"tear gas over {gas_edge:g} g/m\u00b2 (people flee)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)), fontsize=8, frameon=False,
               title=note or None, title_fontsize=8)


def _compass(ax) -> None:
    try:
        from ..geo.render import north_arrow, scale_bar
    except ImportError:
        return
    scale_bar(ax, fontsize=7)
    north_arrow(ax, fontsize=8)


def _map_picture(gridmap):
    """The map's background image, drawn once for all panels (None without the map renderer)."""
    try:
        from ..geo.render import map_image
    except ImportError:
        return None
    return map_image(gridmap)


def _background(ax, gridmap, *, labels: bool, picture=None) -> bool:
    """The map under a panel; returns whether some label carries the estimated-position mark."""
    try:
        from ..geo.render import draw_map, has_estimated_labels
    except ImportError:
        width, height = gridmap.size_m
        ax.imshow(gridmap.walkable.T, origin="lower", extent=(0, width, 0, height), cmap="gray", vmin=-1.5,
                  vmax=1.1, interpolation="nearest", zorder=0)
        return False
    draw_map(ax, gridmap, labels=labels, image=picture)
    for artist in (*ax.lines, *ax.texts):  # exit markers etc. may sit outside a cropped view
        artist.set_clip_on(True)
    return labels and has_estimated_labels(gridmap)
