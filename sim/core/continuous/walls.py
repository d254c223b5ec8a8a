"""Walls as line segments (m), and which of them lie near each cell of a square grid.

The grid model's raster is turned into the outline of its floor: every edge between a floor cell
and a wall cell (or the map's border) is a wall, and edges in a row are merged into one segment,
so a straight wall pushes as one line (as a polygon's edge does in JuPedSim) and not as many
short pieces whose pushes would add up. Plans given as segments in metres join the same list.

Lookup: the plane is cut into square bins of side ``bin_m`` (the neighbour cut-off); each bin
lists every segment that comes within ``bin_m`` of any point of the bin, so an agent finds all
walls within the cut-off in its own bin (``bin_start``/``bin_segments``, compressed rows).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit


class Walls(NamedTuple):
    """Segments (m) and the bins that find them: the kernels' view of the walls."""

    x0: np.ndarray  # float64 [m]: segment starts and ends
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    bin_start: np.ndarray  # int64 [bins_x * bins_y + 1]: bin b's segments are bin_segments[start[b]:start[b+1]]
    bin_segments: np.ndarray  # int64: segment indices, ascending within a bin
    bin_m: float  # side of a bin, m
    bins_x: int
    bins_y: int


def raster_segments(walkable: np.ndarray, cell_size: float) -> np.ndarray:
    """The floor's outline as merged segments ``[k, 4]`` (x0, y0, x1, y1 in m) from a uint8
    raster indexed ``[x, y]`` (1 = floor); outside the raster is wall."""
    floor = np.pad(np.asarray(walkable) == 1, 1, constant_values=False)
    segments = []
    # horizontal edges: between (x, y-1) and (x, y) of the raster, on the line y * cell_size
    change = floor[1:-1, 1:] != floor[1:-1, :-1]  # [nx, ny+1]
    for y in range(change.shape[1]):
        segments += [(a * cell_size, y * cell_size, b * cell_size, y * cell_size) for a, b in _runs(change[:, y])]
    change = floor[1:, 1:-1] != floor[:-1, 1:-1]  # [nx+1, ny]
    for x in range(change.shape[0]):
        segments += [(x * cell_size, a * cell_size, x * cell_size, b * cell_size) for a, b in _runs(change[x, :])]
    return np.array(segments, dtype=np.float64).reshape(-1, 4)


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a bool vector, end exclusive."""
    padded = np.concatenate([[False], line, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def build_walls(segments: np.ndarray, extent_m: tuple[float, float], bin_m: float) -> Walls:
    """Bin ``segments`` ([k, 4], m) on a grid of ``bin_m`` bins covering ``extent_m`` (width, height)."""
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    bins_x = max(1, int(math.ceil(extent_m[0] / bin_m)))
    bins_y = max(1, int(math.ceil(extent_m[1] / bin_m)))
    members: list[list[int]] = [[] for _ in range(bins_x * bins_y)]
    for k, (ax, ay, bx, by) in enumerate(seg):
        lo_x = max(0, int(math.floor((min(ax, bx) - bin_m) / bin_m)))
        hi_x = min(bins_x - 1, int(math.floor((max(ax, bx) + bin_m) / bin_m)))
        lo_y = max(0, int(math.floor((min(ay, by) - bin_m) / bin_m)))
        hi_y = min(bins_y - 1, int(math.floor((max(ay, by) + bin_m) / bin_m)))
        for i in range(lo_x, hi_x + 1):
            for j in range(lo_y, hi_y + 1):
                # the bin's box within bin_m of the segment? (distance between box and segment,
                # bounded by the distance from the box's centre minus its half diagonal)
                cx, cy = (i + 0.5) * bin_m, (j + 0.5) * bin_m
                if point_segment_distance(cx, cy, ax, ay, bx, by) <= bin_m * (1.0 + math.sqrt(0.5)):
                    members[i * bins_y + j].append(k)
    start = np.zeros(len(members) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(m) for m in members])
    flat = np.array([k for m in members for k in m], dtype=np.int64)
    return Walls(np.ascontiguousarray(seg[:, 0]), np.ascontiguousarray(seg[:, 1]), np.ascontiguousarray(seg[:, 2]),
                 np.ascontiguousarray(seg[:, 3]), start, flat, float(bin_m), bins_x, bins_y)


@njit(cache=True)
def closest_on_segment(px, py, ax, ay, bx, by):
    """The point of segment a-b nearest to p (m)."""
    dx = bx - ax
    dy = by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return ax, ay
    t = ((px - ax) * dx + (py - ay) * dy) / length2
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    return ax + t * dx, ay + t * dy


@njit(cache=True)
def point_segment_distance(px, py, ax, ay, bx, by):
    qx, qy = closest_on_segment(px, py, ax, ay, bx, by)
    return math.sqrt((qx - px) * (qx - px) + (qy - py) * (qy - py))


@njit(cache=True)
def segments_cross(px, py, qx, qy, ax, ay, bx, by):
    """Whether segment p-q crosses segment a-b (touching at an end point does not count)."""
    d1 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    d2 = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
    d3 = (qx - px) * (ay - py) - (qy - py) * (ax - px)
    d4 = (qx - px) * (by - py) - (qy - py) * (bx - px)
    return d1 * d2 < 0.0 and d3 * d4 < 0.0
