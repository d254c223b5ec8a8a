"""Figures of an Epstein run: counts over time as in Epstein's figures, and the grid at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from ..core.epstein.world import COP, World
from ..figures import STATE_COLOURS, new_figure, save

GRID_COLOURS = ["#ffffff", STATE_COLOURS["quiet"], "#d62728", "#bbbbbb", "#111111"]  # empty, quiet, active, jailed, cop


def plot_counts(timeseries: pd.DataFrame, path, *, title: str = "", bursts=()):
    """Actives and jailed over the steps (top), legitimacy (bottom); outbursts shaded."""
    fig = new_figure(9, 4.8)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    steps = timeseries["step"].to_numpy()
    for first, last in bursts:
        top.axvspan(steps[first] - 0.5, steps[last] + 0.5, color="#dd8452", alpha=0.12, lw=0)
    top.plot(steps, timeseries["active"], color="#d62728", lw=1.0, label="active")
    top.plot(steps, timeseries["jailed"], color=STATE_COLOURS["arrested"], lw=1.0, label="jailed")
    top.set_ylabel("citizens")
    top.set_ylim(bottom=0)
    top.legend(loc="upper right", frameon=False, ncols=2)
    top.set_title(title + (f": {len(bursts)} outbursts" if len(bursts) else ""), fontsize=10)
    bottom.plot(steps, timeseries["legitimacy"], color="#4c72b0", lw=1.0)
    bottom.set_ylabel("legitimacy")
    bottom.set_xlabel("step")
    save(fig, path)
    return fig


def grid_image(world: World) -> np.ndarray:
    """Per cell: 0 empty, 1 quiet, 2 active, 3 jailed (keeping its cell), 4 cop."""
    image = np.zeros(world.occ.shape, dtype=np.uint8)
    on = world.occ >= 0
    agents = world.occ[on]
    image[on] = np.where(world.kind[agents] == COP, 4, world.state[agents] + 1)
    return image


def plot_grid(world: World, path, *, title: str = ""):
    """The torus at the end of the run: quiet blue, active red, jailed grey, cops black."""
    image = grid_image(world)
    fig = new_figure(5.5, 5.5 * image.shape[1] / image.shape[0] + 0.4)
    ax = fig.subplots()
    ax.imshow(image.T, origin="lower", cmap=ListedColormap(GRID_COLOURS), vmin=0, vmax=4, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}\nquiet blue, active red, jailed grey (if kept on the grid), cops black", fontsize=9)
    save(fig, path)
    return fig
