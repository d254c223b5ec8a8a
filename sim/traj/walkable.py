"""Cells of a grid as one polygon in map metres: the floor (the geometry JuPedSim's file and PedPy's
``WalkableArea`` want) or a place (a measurement area).

Each row of cells is cut into runs of consecutive cells, one rectangle each, and shapely joins the
rectangles (on a precision grid of a quarter cell, so shared edges snap together exactly).
"""

from __future__ import annotations

import numpy as np


def mask_polygon(mask: np.ndarray, cell: float, *, box: tuple[int, int, int, int] | None = None):
    """The cells where ``mask`` (indexed ``[x, y]``) holds, as a shapely (Multi)Polygon in metres;
    ``box`` (x0, y0, x1, y1 cell indices, end exclusive) limits it to part of the grid."""
    import shapely

    x0, y0 = 0, 0
    if box is not None:
        x0, y0, x1, y1 = box
        mask = mask[x0:x1, y0:y1]
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return shapely.Polygon()
    padded = np.zeros((m.shape[0] + 2, m.shape[1]), dtype=np.int8)
    padded[1:-1] = m
    step = np.diff(padded, axis=0)  # along x, per column y: +1 where a run starts, -1 after it ends
    # on the transpose, nonzero walks row y by row, x ascending: the starts and ends of runs pair up
    ys, starts = np.nonzero(step.T == 1)
    _, ends = np.nonzero(step.T == -1)
    boxes = shapely.box((x0 + starts) * cell, (y0 + ys) * cell, (x0 + ends) * cell, (y0 + ys + 1) * cell)
    return shapely.union_all(boxes, grid_size=cell / 4)


def largest_part(geometry):
    """The largest polygon of a (Multi)Polygon (PedPy's walkable areas are single polygons)."""
    import shapely

    parts = list(getattr(geometry, "geoms", [geometry]))
    return max(parts, key=lambda p: p.area) if parts else shapely.Polygon()
