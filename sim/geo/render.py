"""Drawing a GridMap: floor, buildings, open areas and labelled places, in metres.

``draw_map`` is the background of the density figures and the browser view, so it draws a
coarsened raster (one image, not thousands of patches) and stays fast at 0.5 m cells.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MAX_PIXELS = 1400  # longest side of the background image
BUILT = np.array([0.78, 0.76, 0.72])
FLOOR = np.array([0.98, 0.98, 0.96])
OPEN_AREA = np.array([0.86, 0.93, 0.82])
SQUARE = np.array([0.96, 0.90, 0.78])
EXIT = np.array([0.55, 0.75, 0.95])
SQUARES = ("ala_too_square", "old_square", "white_house_gate", "square")


def map_image(gridmap) -> np.ndarray:
    """RGB image [rows = y from south, cols = x], coarsened so its longest side is at most MAX_PIXELS."""
    step = max(1, int(np.ceil(max(gridmap.shape) / MAX_PIXELS)))
    walk = gridmap.walkable[::step, ::step].T.astype(bool)
    pid = gridmap.place_id[::step, ::step].T
    img = np.where(walk[..., None], FLOOR, BUILT)
    areas = gridmap.features.get("areas", {})
    for name in gridmap.places:
        k = gridmap.places.index(name)
        if name in gridmap.exits:
            colour = EXIT
        elif name in SQUARES:
            colour = SQUARE
        elif "park" in name or name in areas:
            colour = OPEN_AREA
        else:
            continue
        img[(pid == k) & walk] = colour
    return img


def label_points(gridmap) -> dict[str, tuple[float, float]]:
    """A point inside each place (the floor cell nearest its centroid), in metres."""
    points = {}
    step = max(1, int(np.ceil(max(gridmap.shape) / MAX_PIXELS)))
    pid = gridmap.place_id[::step, ::step]
    for k, name in enumerate(gridmap.places):
        xs, ys = np.nonzero(pid == k)
        if xs.size == 0:
            continue
        cx, cy = xs.mean(), ys.mean()
        j = int(np.argmin((xs - cx) ** 2 + (ys - cy) ** 2))
        points[name] = ((xs[j] + 0.5) * step * gridmap.cell_size, (ys[j] + 0.5) * step * gridmap.cell_size)
    return points


def draw_map(ax, gridmap, *, labels: bool = True) -> None:
    w, h = gridmap.size_m
    ax.imshow(map_image(gridmap), origin="lower", extent=(0, w, 0, h), interpolation="nearest")
    for poly in gridmap.features.get("barriers", {}).values():
        pts = np.asarray(poly)
        ax.plot(pts[:, 0], pts[:, 1], color="#333333", lw=0.8)
    if labels:
        for name, (x, y) in label_points(gridmap).items():
            if name in gridmap.exits:
                continue
            ax.text(x, y, name.replace("_", " "), fontsize=6, ha="center", va="center", color="#222222",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.6))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_aspect("equal")


def save_map_png(gridmap, path, *, labels: bool = True, dpi: int = 150) -> Path:
    w, h = gridmap.size_m
    fig = Figure(figsize=(12, 12 * h / w + 0.6), constrained_layout=True)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    draw_map(ax, gridmap, labels=labels)
    bar = 100.0 if w > 300 else 10.0
    ax.plot([w * 0.03, w * 0.03 + bar], [h * 0.03, h * 0.03], color="black", lw=3)
    ax.text(w * 0.03 + bar / 2, h * 0.05, f"{bar:g} m", ha="center", fontsize=8)
    ax.set_xlabel("metres east")
    ax.set_ylabel("metres north")
    title = gridmap.features.get("title", gridmap.name)
    ax.set_title(f"{title} - {gridmap.cell_size:g} m cells"
                 + ("\npositions graded 'estimated' in the map file are approximate (30-80 m)"
                    if gridmap.origin_latlon else ""), fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
