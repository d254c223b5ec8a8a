"""The report's figures: the fundamental diagram against Weidmann, the SFPE handbook and Zhang et
al.'s data; flow against door width with its band; arrivals and snapshots of counterflow and
crossing; RiMEA 9's evacuation curves. Each function takes the per-seed rows and the series the
experiments kept (``{(model, case, seed, value): {name: DataFrame}}``), draws one PNG and returns
its path, or None when the cases it draws did not run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..figures import new_figure, save
from .experiments import DOOR_FLOW_BAND, FD_BANDED, FD_TOLERANCE
from .references import (SFPE_SOURCE, WEIDMANN_RHO_MAX, WEIDMANN_SOURCE, ZHANG_SOURCE, empirical_band,
                         sfpe_speed, weidmann_speed)

MODEL_STYLE = [("#c44e52", "o"), ("#4c72b0", "s"), ("#55a868", "^"), ("#8172b2", "D")]
GROUP_COLOURS = ["#c44e52", "#4c72b0", "#55a868", "#8172b2"]


def _series(series: dict, case: str, name: str) -> list[tuple[str, object, pd.DataFrame]]:
    """(model, value, frame) of the first seed of ``case`` that kept ``name``."""
    seeds = sorted({k[2] for k in series if k[1] == case})
    return [(k[0], k[3], v[name]) for k, v in series.items() if k[1] == case and seeds and k[2] == seeds[0]
            and name in v]


def _mean(rows: pd.DataFrame, case: str, quantity: str) -> pd.DataFrame:
    g = rows[(rows["case"] == case) & (rows["quantity"] == quantity)]
    return g.groupby(["model", "variant"], sort=False).agg(param=("param", "first"), measured=("measured", "mean"))


def fundamental_diagram(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    cases = [c for c in ("fundamental_diagram", "fd_wide_corridor") if (rows["case"] == c).any()]
    if not cases:
        return None
    fig = new_figure(12, 6.2)
    ax_v, ax_q = fig.subplots(1, 2)
    rho = np.linspace(0.05, WEIDMANN_RHO_MAX, 400)
    v_w = weidmann_speed(rho)
    banded = (rho >= FD_BANDED[0]) & (rho <= FD_BANDED[1])
    emp = empirical_band()
    for ax, scale, ylabel in ((ax_v, np.ones_like(rho), "speed (m/s)"), (ax_q, rho, "specific flow (1/(m s))")):
        ax.fill_between(rho[banded], (1 - FD_TOLERANCE) * v_w[banded] * scale[banded],
                        (1 + FD_TOLERANCE) * v_w[banded] * scale[banded], color="#999999", alpha=0.25,
                        label=f"Weidmann +-{FD_TOLERANCE:.0%} (the band held)")
        ax.plot(rho, v_w * scale, color="black", lw=1.5, label=WEIDMANN_SOURCE)
        ax.plot(rho, sfpe_speed(rho) * scale, color="#555555", lw=1, ls="--", label=SFPE_SOURCE)
        d = emp["density"].to_numpy()
        k = d if ax is ax_q else np.ones_like(d)
        ax.errorbar(d, emp["speed_p50"] * k, yerr=[(emp["speed_p50"] - emp["speed_p10"]) * k,
                                                   (emp["speed_p90"] - emp["speed_p50"]) * k],
                    fmt="x", color="#dd8452", ms=5, capsize=2, label=ZHANG_SOURCE)
        ax.set_xlabel("density (1/m2)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, WEIDMANN_RHO_MAX)
        ax.set_ylim(0, None)
        ax.grid(alpha=0.3)
    for i, model in enumerate(rows["model"].unique()):
        colour, _ = MODEL_STYLE[i % len(MODEL_STYLE)]
        for case, marker in zip(cases, ("o", "D")):
            dens = _mean(rows[rows["model"] == model], case, "density in the measurement area")
            speed = _mean(rows[rows["model"] == model], case, "speed in the measurement area")
            if dens.empty:
                continue
            sd = {val: s["speed"].std() for m, val, s in _series(series, case, "fd_frames") if m == model}
            err = [sd.get(p, 0.0) for p in speed["param"]]
            label = f"{model}: {'4 m' if case == 'fundamental_diagram' else '10 m'} corridor (sd over frames)"
            ax_v.errorbar(dens["measured"], speed["measured"], yerr=err, fmt=marker, color=colour, ms=6,
                          capsize=3, label=label)
            ax_q.plot(dens["measured"], dens["measured"].to_numpy() * speed["measured"].to_numpy(), marker,
                      color=colour, ms=6, label=label)
    ax_v.set_title("speed against density (middle 40 m, 10-40 s)")
    ax_q.set_title("specific flow against density")
    fig.legend(*ax_v.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
    return save(fig, path)


def door_flow(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    if not (rows["case"] == "bottleneck").any():
        return None
    fig = new_figure(13, 4.5)
    ax_s, ax_t, ax_nt = fig.subplots(1, 3)
    ax_s.axhspan(*DOOR_FLOW_BAND, color="#999999", alpha=0.25, label="1.2-1.9 /(m s): Seyfried et al. 2009; Kretz et al. 2006")
    for i, model in enumerate(rows["model"].unique()):
        colour, marker = MODEL_STYLE[i % len(MODEL_STYLE)]
        r = rows[rows["model"] == model]
        specific = _mean(r, "bottleneck", "specific flow through the door").drop_duplicates("param")
        total = _mean(r, "bottleneck", "flow through the door").drop_duplicates("param")
        ax_s.plot(specific["param"], specific["measured"], marker + "-", color=colour, label=model)
        ax_t.plot(total["param"], total["measured"], marker, color=colour, label=model)
        if len(total) >= 2:
            slope, intercept = np.polyfit(total["param"], total["measured"], 1)
            w = np.linspace(0, total["param"].max() * 1.1, 10)
            ax_t.plot(w, slope * w + intercept, "-", color=colour, lw=1, label=f"{model}: straight-line fit")
    w = np.linspace(0, 2.8, 10)
    ax_t.fill_between(w, DOOR_FLOW_BAND[0] * w, DOOR_FLOW_BAND[1] * w, color="#999999", alpha=0.25,
                      label="1.2-1.9 /(m s) x width")
    seen = set()
    for (model, value, nt) in _series(series, "bottleneck", "nt"):
        width = float(nt["width_m"].iloc[0])
        if (model, width) in seen:
            continue
        seen.add((model, width))
        ax_nt.plot(nt["time"], nt["cumulative_pedestrians"], lw=1.2, label=f"{model}, {width:g} m")
    ax_s.set(xlabel="door width as drawn (m)", ylabel="specific flow (1/(m s))", title="specific flow", ylim=(0, 2.5))
    ax_t.set(xlabel="door width as drawn (m)", ylabel="flow (1/s)", title="flow, linear in width?", xlim=(0, None),
             ylim=(0, None))
    ax_nt.set(xlabel="time (s)", ylabel="people through", title="N-t at the door (PedPy)")
    for ax in (ax_s, ax_t, ax_nt):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)


def arrivals(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    curves = _series(series, "counterflow", "arrivals") + _series(series, "crossing", "arrivals")
    if not curves:
        return None
    fig = new_figure(8, 4.5)
    ax = fig.subplots()
    for model, value, frame in curves:
        for group, g in frame.groupby("group", sort=False):
            ax.step(g["time_s"], g["arrived"], where="post", label=f"{model}: {g['variant'].iloc[0]}, {group}")
    ax.set(xlabel="time (s)", ylabel="arrived", title="counterflow and crossing: people through")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return save(fig, path)


def _floor(ax, floor: pd.DataFrame) -> None:
    """The floor (cell centres in ``floor``) in light grey under the walkers."""
    cell = float(np.diff(np.unique(floor["x"])).min()) if floor["x"].nunique() > 1 else 0.5
    ix, iy = np.rint(floor["x"] / cell - 0.5).astype(int), np.rint(floor["y"] / cell - 0.5).astype(int)
    image = np.zeros((iy.max() + 1, ix.max() + 1))
    image[iy, ix] = 1.0
    ax.imshow(image, origin="lower", extent=(0, image.shape[1] * cell, 0, image.shape[0] * cell),
              cmap="Greys", vmin=0, vmax=8, interpolation="nearest")


def _snapshots(series: dict, case: str, path: Path, panel: tuple[float, float]) -> Path | None:
    floors = {(m, v): f for m, v, f in _series(series, case, "walkable")}
    panels = [(m, v, snap, floors[(m, v)]) for m, v, snap in _series(series, case, "snapshot")]
    if not panels:
        return None
    fig = new_figure(panel[0], panel[1] * len(panels))
    axes = np.atleast_1d(fig.subplots(len(panels), 1))
    for ax, (model, value, snap, floor) in zip(axes, panels):
        _floor(ax, floor)
        for k, (group, g) in enumerate(snap.groupby("group", sort=False)):
            ax.scatter(g["x"], g["y"], s=10, color=GROUP_COLOURS[k % len(GROUP_COLOURS)], label=group)
        ax.set_title(f"{model}, {case} {snap['variant'].iloc[0]}: t = {snap['time_s'].iloc[0]:g} s", fontsize=9)
        ax.set_xlabel("x (m)", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    return save(fig, path)


def counterflow_snapshots(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    return _snapshots(series, "counterflow", path, (12, 1.9))


def crossing_snapshot(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    return _snapshots(series, "crossing", path, (6, 6))


def evacuation(rows: pd.DataFrame, series: dict, path: Path) -> Path | None:
    curves = _series(series, "rimea_9", "evacuation")
    if not curves:
        return None
    fig = new_figure(6.5, 4)
    ax = fig.subplots()
    for model, value, frame in curves:
        ax.step(frame["time_s"], frame["left"], where="post", label=f"{model}: {value} exits open")
    ax.set(xlabel="time (s)", ylabel="people out", title="RiMEA 9: 1000 people leave a 30 m x 20 m room")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


FIGURES = {"fundamental_diagram.png": fundamental_diagram, "door_flow.png": door_flow, "arrivals.png": arrivals,
           "counterflow_snapshots.png": counterflow_snapshots, "crossing_snapshot.png": crossing_snapshot,
           "rimea9_evacuation.png": evacuation}


def draw_all(rows: pd.DataFrame, series: dict, folder: Path) -> list[str]:
    """Every figure whose cases ran, into ``folder``; their paths relative to its parent."""
    done = []
    for name, draw in FIGURES.items():
        if draw(rows, series, folder / name) is not None:
            done.append(f"{folder.name}/{name}")
    return done
