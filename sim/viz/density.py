"""The density layer of the browser view: people per m2 around each point of the map, coloured on a
scale with marks at 4 and 6 per m2, and the counts of a place (who is there, how dense it is).

Density at a pixel is everyone on the map (protesters and police) within a square of about
:data:`NEIGHBOURHOOD_M` metres a side around it, divided by the floor (walkable area) inside that
square: a crowd against a wall is as dense as it looks, not diluted by the wall. 4 per m2 is where
people touch and can no longer choose their speed; above 6 per m2 a crowd can surge and crush
(Fruin's levels of service; Still, *Introduction to Crowd Science*, 2014). The scale has a step at
each mark so they read at a glance.

Computed per frame with one ``bincount`` and a summed-area table on the picture's pixels (a few
milliseconds for the Bishkek map). Nothing here imports solara.
"""

from __future__ import annotations

import numpy as np

from ..core.walk.state import POLICE, STATE_NAMES
from ..geo.render import readable_name

NEIGHBOURHOOD_M = 2.0  # side of the square a density is measured over, metres
SCALE_MAX = 8.0  # people per m2 at the top of the colour scale (denser is drawn the same)
MARKS = (4.0, 6.0)  # people per m2: touching, no free speed; crush risk
MARK_LABELS = {4.0: "4 /m2: people touch", 6.0: "6 /m2: crush risk"}
SHOWN_FROM = 0.1  # people per m2 below which the map shows through
# (people per m2, colour) knots; the colour jumps at each mark
_KNOTS = [(0.0, (255, 225, 90)), (2.0, (250, 175, 40)), (3.999, (240, 130, 30)),
          (4.0, (220, 75, 20)), (5.999, (200, 40, 15)), (6.0, (150, 0, 40)), (SCALE_MAX, (70, 0, 60))]
LUT_SIZE = 256


def colour_table() -> np.ndarray:
    """uint8 [LUT_SIZE, 3]: the colour of densities 0..SCALE_MAX in equal steps."""
    xs = np.linspace(0.0, SCALE_MAX, LUT_SIZE)
    at = np.array([k for k, _ in _KNOTS])
    rgb = np.array([c for _, c in _KNOTS], dtype=float)
    return np.stack([np.interp(xs, at, rgb[:, i]) for i in range(3)], axis=1).round().astype(np.uint8)


def colour_of(density: float) -> str:
    """The scale's colour of one density (people per m2), as ``#rrggbb``."""
    i = int(np.clip(round(density / SCALE_MAX * (LUT_SIZE - 1)), 0, LUT_SIZE - 1))
    return "#%02x%02x%02x" % tuple(int(v) for v in colour_table()[i])


def box_sum(a: np.ndarray, side: int) -> np.ndarray:
    """Sum of ``a`` over the ``side`` x ``side`` square centred on each element (clipped at the edges):
    a summed-area table of ``a`` padded with zeros, read with four slices."""
    if side <= 1:
        return a.astype(np.float64)
    r = side // 2
    h, w = a.shape
    p = np.zeros((h + 2 * r + 1, w + 2 * r + 1), dtype=np.float64)
    p[r + 1:r + 1 + h, r + 1:r + 1 + w] = a
    np.cumsum(p, axis=0, out=p)
    np.cumsum(p, axis=1, out=p)
    return p[side:, side:] - p[:-side, side:] - p[side:, :-side] + p[:-side, :-side]


class DensityLayer:
    """People per m2 on the pixels of a :class:`~sim.viz.frame.FrameRenderer`'s picture; build once per map."""

    def __init__(self, renderer, side_m: float = NEIGHBOURHOOD_M):
        self.renderer = r = renderer
        gm = r.gridmap
        self.side_px = max(1, int(round(side_m / r.metres_per_pixel)) | 1)  # odd: centred on the pixel
        self.side_m = self.side_px * r.metres_per_pixel
        nx, ny = gm.shape
        floor = np.zeros((r.width * r.step, r.height * r.step), dtype=np.float64)
        floor[:nx, :ny] = gm.walkable
        floor = floor.reshape(r.width, r.step, r.height, r.step).sum(axis=(1, 3))  # walkable cells per pixel
        area = box_sum(floor.T[::-1], self.side_px) * gm.cell_size ** 2  # [rows, cols], north up
        self.inv_area = np.where(area > 0, 1.0 / np.maximum(area, 1e-12), 0.0)
        self.floor = area > 0
        grey = r.background.astype(np.float32).mean(axis=2, keepdims=True)
        self.base = (110.0 + grey * 0.5).astype(np.uint8).repeat(3, axis=2)  # the map in grey, so colour is people
        self.lut = colour_table()

    def density(self, sim) -> np.ndarray:
        """float [rows, cols] people per m2 around each pixel (0 off the floor)."""
        r = self.renderer
        a = sim.arrays
        on = np.flatnonzero(a.x >= 0)
        counts = np.bincount(r.pixels(a.x[on], a.y[on]), minlength=r.height * r.width).reshape(r.height, r.width)
        return box_sum(counts, self.side_px) * self.inv_area

    def render(self, sim) -> np.ndarray:
        """RGB uint8 picture the size of the renderer's (blown up like it for small maps, labels on top)."""
        r = self.renderer
        d = self.density(sim)
        img = self.base.copy()
        shown = (d >= SHOWN_FROM) & self.floor
        i = np.minimum((d[shown] * ((LUT_SIZE - 1) / SCALE_MAX)).astype(np.intp), LUT_SIZE - 1)
        img[shown] = self.lut[i]
        if r.scale > 1:
            img = img.repeat(r.scale, axis=0).repeat(r.scale, axis=1)
        r.blend_labels(img.reshape(-1, 3))
        return img


def place_at(gridmap, x: int, y: int, reach_m: float = 3.0) -> str | None:
    """The place at cell (x, y), or the nearest place within ``reach_m`` (a click beside a narrow street)."""
    nx, ny = gridmap.shape
    if not (0 <= x < nx and 0 <= y < ny):
        return None
    reach = max(0, int(round(reach_m / gridmap.cell_size)))
    x0, x1, y0, y1 = max(0, x - reach), min(nx, x + reach + 1), max(0, y - reach), min(ny, y + reach + 1)
    ids = gridmap.place_id[x0:x1, y0:y1]
    ok = (ids >= 0) & (gridmap.walkable[x0:x1, y0:y1] == 1)
    if not ok.any():
        return None
    gx, gy = np.nonzero(ok)
    nearest = np.argmin((gx + x0 - x) ** 2 + (gy + y0 - y) ** 2)
    return gridmap.places[int(ids[gx[nearest], gy[nearest]])]


_floor_cache: dict[int, tuple] = {}


def _floor_cells(gridmap) -> np.ndarray:
    """Walkable cells per place index (counted once per map: a scan of every cell)."""
    held = _floor_cache.get(id(gridmap))
    if held is None or held[0] is not gridmap:
        if len(_floor_cache) >= 8:
            _floor_cache.pop(next(iter(_floor_cache)))
        ids = gridmap.place_id[gridmap.walkable == 1]
        held = _floor_cache[id(gridmap)] = (gridmap, np.bincount(ids[ids >= 0].astype(np.int64),
                                                                 minlength=len(gridmap.places)))
    return held[1]


def place_counts(sim, place: str) -> dict:
    """Who is on ``place`` now: protesters by state, police, the floor's area (m2) and people per m2."""
    gm = sim.gridmap
    pid = gm.place_index(place)
    a = sim.arrays
    on = np.flatnonzero(a.x >= 0)
    here = on[gm.place_id[a.x[on], a.y[on]] == pid]
    police = a.kind[here] == POLICE
    states = np.bincount(a.state[here[~police]].astype(np.intp), minlength=len(STATE_NAMES))
    area = float(_floor_cells(gm)[pid]) * gm.cell_size ** 2
    people = int(here.size)
    label = gm.features.get("labels", {}).get(place, {})
    name = (label.get("text") if isinstance(label, dict) else None) or readable_name(place)  # as the map writes it
    return {"place": place, "name": name, "protesters": int((~police).sum()),
            "by_state": {n: int(states[i]) for i, n in enumerate(STATE_NAMES)}, "police": int(police.sum()),
            "area_m2": area, "density": people / area if area > 0 else 0.0}
