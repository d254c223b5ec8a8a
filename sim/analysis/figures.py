"""Pictures of an analysis: per-cell values over the map, the areas' time series, the fundamental
diagram. Matplotlib figures without pyplot (``sim.figures``); results are data first, these draw them."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib import colormaps

from ..figures import new_figure, save
from ..geo.render import draw_map, map_image


def cell_image(cells: pd.DataFrame, column: str, *, cell_m: float, origin=(0.0, 0.0)) -> tuple[np.ndarray, tuple]:
    """``cells[column]`` on a grid ``[x, y]`` covering the rows' cells (NaN elsewhere), and its extent
    (x0, x1, y0, y1) in metres."""
    ix, iy = cells["ix"].to_numpy(), cells["iy"].to_numpy()
    lo_x, lo_y = int(ix.min()), int(iy.min())
    image = np.full((int(ix.max()) - lo_x + 1, int(iy.max()) - lo_y + 1), np.nan)
    image[ix - lo_x, iy - lo_y] = cells[column].to_numpy()
    x0, y0 = origin[0] + lo_x * cell_m, origin[1] + lo_y * cell_m
    return image, (x0, x0 + image.shape[0] * cell_m, y0, y0 + image.shape[1] * cell_m)


def map_panel(ax, gridmap, image, extent, *, cmap="inferno_r", vmin=None, vmax=None, label="", picture=None,
              margin_m: float = 40.0, areas=()):
    """``image`` ([x, y], NaN transparent) over the map on ``ax``, cropped to ``extent`` plus a margin;
    ``areas`` outlined and named. Returns the colour bar's mappable."""
    draw_map(ax, gridmap, labels=True, image=picture)
    for artist in (*ax.lines, *ax.texts):
        artist.set_clip_on(True)
    shown = ax.imshow(np.ma.masked_invalid(image).T, origin="lower", extent=extent, cmap=colormaps[cmap],
                      vmin=vmin, vmax=vmax, interpolation="nearest", zorder=6, alpha=0.9)
    for area in areas:
        x, y = area.polygon.exterior.xy
        ax.plot(x, y, color="#1d3f8f", lw=1.0, zorder=7)
        c = area.polygon.representative_point()
        ax.text(c.x, c.y, area.name, fontsize=6, color="#1d3f8f", zorder=8, ha="center")
    w, h = gridmap.size_m
    ax.set_xlim(max(0, extent[0] - margin_m), min(w, extent[1] + margin_m))
    ax.set_ylim(max(0, extent[2] - margin_m), min(h, extent[3] + margin_m))
    ax.set_title(textwrap.fill(label, 60), fontsize=8)
    ax.set_xlabel("m east")
    ax.set_ylabel("m north")
    return shown


def plot_density_maps(maps: pd.DataFrame, gridmap, path, *, grid_m: float, origin, title: str, areas=()) -> None:
    """Highest density reached, and seconds at or above 4 and 6 persons per m2, per cell."""
    panels = [("density_max", "highest density (persons/m\u00b2)", "inferno_r"),
              ("seconds_at_least_4", "time at \u2265 4 persons/m\u00b2 (s)", "magma_r"),
              ("seconds_at_least_6", "time at \u2265 6 persons/m\u00b2 (s)", "magma_r")]
    fig = new_figure(15, 5.6)
    axes = fig.subplots(1, 3)
    picture = map_image(gridmap)
    for ax, (column, label, cmap) in zip(axes, panels):
        shown_cells = maps[maps[column] > 0] if column != "density_max" else maps
        if shown_cells.empty:
            shown_cells = maps
        image, extent = cell_image(shown_cells, column, cell_m=grid_m, origin=origin)
        if column != "density_max":
            image[image <= 0] = np.nan
        full = cell_image(maps, "density_max", cell_m=grid_m, origin=origin)[1]
        shown = map_panel(ax, gridmap, image, full, cmap=cmap, vmin=0, label=label, picture=picture, areas=areas)
        fig.colorbar(shown, ax=ax, shrink=0.7)
        if not (maps[column] > 0).any():
            most = 1.0 / gridmap.cell_size ** 2
            ax.text(0.5, 0.02, f"never: one person per {gridmap.cell_size:g} m cell is {most:g} persons/m\u00b2 "
                    "at most",
                    transform=ax.transAxes, ha="center", fontsize=7, zorder=9,
                    bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    fig.suptitle(f"{title}: {grid_m:g} m cells, classic density (PedPy)", fontsize=10)
    save(fig, path)


def plot_areas(table: pd.DataFrame, path, *, title: str) -> None:
    """Per area: classic and Voronoi density, and mean speed, over time."""
    names = list(dict.fromkeys(table["area"]))
    fig = new_figure(11, 2.3 * len(names) + 0.8)
    axes = np.atleast_2d(fig.subplots(len(names), 2, squeeze=False))
    for row, name in zip(axes, names):
        t = table[table["area"] == name]
        minutes = t["time_s"] / 60
        row[0].plot(minutes, t["density_classic"], lw=0.8, label="classic")
        voronoi = t[t["density_voronoi"].notna()]
        row[0].plot(voronoi["time_s"] / 60, voronoi["density_voronoi"], "o", ms=2.5, label="Voronoi")
        row[0].set_ylabel("persons/m\u00b2")
        row[0].set_title(name, fontsize=9, loc="left")
        row[0].legend(fontsize=7, loc="upper right")
        row[1].plot(minutes, t["speed_mean"], lw=0.8, color="#55a868")
        row[1].set_ylabel("mean speed (m/s)")
    for ax in axes[-1]:
        ax.set_xlabel("minutes since the start")
    fig.suptitle(f"{title}: density and speed in the measurement areas (PedPy)", fontsize=10)
    save(fig, path)


def plot_fundamental_diagram(table: pd.DataFrame, fd: pd.DataFrame, path, *, title: str) -> None:
    """Speed and specific flow against density: every analysis frame of every area, and binned means."""
    rows = table[(table["count"] > 0) & table["speed_mean"].notna()]
    fig = new_figure(11, 4.4)
    ax_v, ax_j = fig.subplots(1, 2)
    for name, t in rows.groupby("area", sort=False):
        ax_v.plot(t["density_classic"], t["speed_mean"], ".", ms=2.5, alpha=0.5, label=name)
        ax_j.plot(t["density_classic"], t["flow_specific"], ".", ms=2.5, alpha=0.5)
    allfd = fd[fd["area"] == "all"]
    ax_v.plot(allfd["density_mean"], allfd["speed_mean"], "k-o", ms=3, lw=1, label="mean (all areas)")
    ax_j.plot(allfd["density_mean"], allfd["flow_mean"], "k-o", ms=3, lw=1)
    ax_v.set(xlabel="density (persons/m\u00b2)", ylabel="mean speed (m/s)")
    ax_j.set(xlabel="density (persons/m\u00b2)", ylabel="specific flow (persons/m/s)")
    ax_v.legend(fontsize=7)
    fig.suptitle(f"{title}: fundamental diagram of the run (classic density, PedPy)", fontsize=10)
    save(fig, path)
