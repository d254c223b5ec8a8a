"""Vector map (JSON) -> GridMap at any cell size.

The map file (``sim/geo/maps/<name>.json``, written by ``scripts/build_bishkek_map.py``; its
``"schema"`` key says the same in one paragraph) holds, all in [lat, lon]:

- ``bbox`` {south, west, north, east} and ``projection`` {m_per_deg_lat, m_per_deg_lon}: metres are
  x = (lon - west) * m_per_deg_lon (east), y = (lat - south) * m_per_deg_lat (north);
- ``streets`` [{id, centerline, width_m, confidence, source}], floor corridors ``width_m`` wide;
- ``areas`` [{id, polygon, surface, ...}], floor polygons (squares, parks, fenced grounds);
- ``obstacles`` [{id, polygon}], walls (landmark buildings) painted over the floor;
- ``barriers`` [{id, polygon, thickness_m, gaps: [{place, at, width_m}]}], closed lines painted
  as walls, each gap left open as its own place (a gate a scenario may close);
- ``painting`` [{id, street [+ lat_min/lat_max/lon_min/lon_max]} | {id, area} | {id, polygon} | {id, gap}]: which
  cells belong to which place, in order, later rules overriding earlier ones;
- ``places`` [{id, name, kind, label, confidence}] and ``exits`` [{id, street, side, label}]: the
  place list (``sim.geo.catalog`` reads only these ids); an exit is its street's floor cells in
  the outermost metre of the box on that side;
- ``landmarks`` (points to draw), ``confidence_legend``, ``title``.

Everything starts built-up; streets and areas are painted as floor, then obstacles and barriers
as walls, the barrier gaps reopened; floor cells no rule claims stay without a place (the
Bishkek map leaves none). Painting is vectorized over each shape's bounding box, so the
3264 x 2432 cells of the Bishkek core at 0.5 m take well under a second; the result is cached on
disk (``sim.geo.disk_cache``), so later processes load it in 25-35 ms without importing
matplotlib.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from .catalog import load_builtin_map_data
from ..caches import cache_root
from .disk_cache import load_gridmap, save_gridmap
from .gridmap import NO_PLACE, GridMap

EXIT_DEPTH_M = 1.0
MIN_WALL_CELLS = 1.5  # a barrier is at least this many cells thick, so it stays closed at coarse cells
# Part of every disk-cache key: bump it whenever the rasterization (or the GridMap it produces) changes,
# or processes will keep loading maps rasterized by the old code.
RASTER_VERSION = "r1"


class Projection:
    """Local equirectangular metres from the box's south-west corner."""

    def __init__(self, data: dict):
        bbox, proj = data["bbox"], data["projection"]
        self.south, self.west = bbox["south"], bbox["west"]
        self.mlat, self.mlon = proj["m_per_deg_lat"], proj["m_per_deg_lon"]
        self.width_m = (bbox["east"] - bbox["west"]) * self.mlon
        self.height_m = (bbox["north"] - bbox["south"]) * self.mlat

    def xy(self, latlon) -> np.ndarray:
        """[[lat, lon], ...] -> [[x, y], ...] in metres."""
        pts = np.asarray(latlon, dtype=np.float64).reshape(-1, 2)
        return np.column_stack([(pts[:, 1] - self.west) * self.mlon, (pts[:, 0] - self.south) * self.mlat])


class _Canvas:
    """Cell-centre coordinates over the bounding box of a shape, for vectorized painting."""

    def __init__(self, shape, cell):
        self.shape, self.cell = shape, cell

    def box(self, pts: np.ndarray, pad_m: float):
        lo = np.floor((pts.min(axis=0) - pad_m) / self.cell).astype(int)
        hi = np.ceil((pts.max(axis=0) + pad_m) / self.cell).astype(int) + 1
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], self.shape[0]), min(hi[1], self.shape[1])
        if x0 >= x1 or y0 >= y1:
            return None
        cx = (np.arange(x0, x1) + 0.5) * self.cell
        cy = (np.arange(y0, y1) + 0.5) * self.cell
        return (slice(x0, x1), slice(y0, y1)), cx[:, None], cy[None, :]

    def polygon(self, pts: np.ndarray):
        """(slices, mask) of the cells whose centres lie inside the polygon, or None."""
        from matplotlib.path import Path as PolyPath  # imported here so that loading a cached map never needs it

        got = self.box(pts, 0.0)
        if got is None:
            return None
        sl, cx, cy = got
        gx, gy = np.broadcast_arrays(cx, cy)
        inside = PolyPath(pts).contains_points(np.column_stack([gx.ravel(), gy.ravel()]))
        return sl, inside.reshape(gx.shape)

    def thick_line(self, pts: np.ndarray, width_m: float):
        """Yield (slices, mask) for each segment: cells whose centres lie within width/2 of it."""
        half = width_m / 2
        for a, b in zip(pts[:-1], pts[1:]):
            got = self.box(np.vstack([a, b]), half)
            if got is None:
                continue
            sl, cx, cy = got
            d = b - a
            length2 = float(d @ d) or 1e-12
            t = np.clip(((cx - a[0]) * d[0] + (cy - a[1]) * d[1]) / length2, 0.0, 1.0)
            dist2 = (cx - (a[0] + t * d[0])) ** 2 + (cy - (a[1] + t * d[1])) ** 2
            yield sl, dist2 <= half * half


def _angle_deg(proj: Projection, a, b) -> float:
    (x0, y0), (x1, y1) = proj.xy([a, b])
    ang = math.degrees(math.atan2(y1 - y0, x1 - x0))
    if ang > 90:
        ang -= 180
    elif ang < -90:
        ang += 180
    return ang


def _features(data: dict, proj: Projection, gates: dict) -> dict:
    """Drawing hints in metres: outlines, labels, gates, landmarks, confidence grades and sources."""
    def poly_m(items):
        return {f["id"]: proj.xy(f["polygon"]).tolist() for f in items}

    labels = {}
    for p in data["places"] + data.get("exits", []):
        lab = p.get("label")
        if lab is None:
            continue
        lab = lab if isinstance(lab, dict) else {"at": lab}
        at = proj.xy([lab["at"]])[0]
        x = float(np.clip(at[0], 0, proj.width_m))
        y = float(np.clip(at[1], 0, proj.height_m))
        labels[p["id"]] = {"at": (x, y), "text": p.get("name", p["id"].replace("_", " ")),
                           "angle": _angle_deg(proj, lab["at"], lab["toward"]) if "toward" in lab else 0.0}
        if "offset_m" in lab:
            labels[p["id"]]["offset"] = tuple(float(v) for v in lab["offset_m"])
    every = data["streets"] + data["areas"] + data["obstacles"] + data.get("barriers", [])
    every += [g | {"id": g["place"]} for b in data.get("barriers", []) for g in b.get("gaps", [])]
    return {
        "kind": "builtin",
        "title": data.get("title", data.get("name", "")),
        "streets": {s["id"]: {"line": proj.xy(s["centerline"]).tolist(), "width_m": s["width_m"],
                              "name": s.get("short_name", s.get("name", s["id"]))} for s in data["streets"]},
        "areas": poly_m(data["areas"]),
        "area_surface": {a["id"]: a.get("surface", "paved") for a in data["areas"]},
        "obstacles": poly_m(data["obstacles"]),
        "obstacle_names": {o["id"]: o.get("short_name", o.get("name", o["id"])) for o in data["obstacles"]},
        "barriers": poly_m(data.get("barriers", [])),
        "gates": gates,
        "labels": labels,
        "place_kinds": {p["id"]: p.get("kind", "") for p in data["places"]}
        | {e["id"]: "exit" for e in data.get("exits", [])},
        "exit_sides": {e["id"]: e["side"] for e in data.get("exits", [])},
        "landmarks": {p["id"]: {"at": tuple(float(v) for v in proj.xy([p["latlon"]])[0]),
                                "name": p.get("name", p["id"]), "confidence": p.get("confidence")}
                      for p in data.get("landmarks", [])},
        "confidence": {f["id"]: f.get("confidence") for f in every}
        | {p["id"]: p.get("confidence") for p in data["places"]},
        "sources": {f["id"]: f.get("source", "") for f in every},
        "confidence_legend": data.get("confidence_legend", {}),
    }


@lru_cache(maxsize=4)
def _build(name: str, cell_size: float) -> GridMap:
    """The map from the disk cache, or rasterized and stored there for the next process."""
    data = load_builtin_map_data(name)
    path = _cache_path(name, cell_size, data)
    gridmap = load_gridmap(path)
    if gridmap is None:
        gridmap = _rasterize(name, cell_size, data)
        save_gridmap(path, gridmap)
    return gridmap


def _cache_path(name: str, cell_size: float, data: dict) -> Path:
    """One entry per map, cell size, map content and rasterizer version: editing the map file or
    bumping ``RASTER_VERSION`` misses the cache instead of loading a stale raster."""
    source = hashlib.sha1(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return cache_root() / "maps" / f"{name}-{cell_size!r}m-{source}-{RASTER_VERSION}.npz"


def _shape(proj: Projection, cell_size: float) -> tuple[int, int]:
    return int(np.ceil(proj.width_m / cell_size - 1e-9)), int(np.ceil(proj.height_m / cell_size - 1e-9))


def builtin_shape(name: str, cell_size: float) -> tuple[int, int]:
    """The (nx, ny) cells of a built-in map at ``cell_size``, from its box alone."""
    return _shape(Projection(load_builtin_map_data(name)), cell_size)


def _rasterize(name: str, cell_size: float, data: dict) -> GridMap:
    proj = Projection(data)
    shape = _shape(proj, cell_size)
    canvas = _Canvas(shape, cell_size)
    walkable = np.zeros(shape, dtype=np.uint8)
    street_of = np.full(shape, -1, dtype=np.int16)
    area_mask: dict[str, tuple] = {}

    # floor: streets, then open areas
    streets = data["streets"]
    street_index = {s["id"]: k for k, s in enumerate(streets)}
    for k, s in enumerate(streets):
        for sl, m in canvas.thick_line(proj.xy(s["centerline"]), s["width_m"]):
            walkable[sl][m] = 1
            street_of[sl][m] = k
    for a in data["areas"]:
        got = canvas.polygon(proj.xy(a["polygon"]))
        if got is not None:
            walkable[got[0]][got[1]] = 1
            area_mask[a["id"]] = got
    # walls: obstacles, then barriers with their gaps reopened
    for o in data["obstacles"]:
        got = canvas.polygon(proj.xy(o["polygon"]))
        if got is not None:
            walkable[got[0]][got[1]] = 0
    gaps: dict[str, np.ndarray] = {}
    gate_info: dict[str, dict] = {}
    for b in data.get("barriers", []):
        pts = proj.xy(b["polygon"])
        thick = max(float(b["thickness_m"]), MIN_WALL_CELLS * cell_size)
        band = np.zeros(shape, dtype=bool)
        for sl, m in canvas.thick_line(pts, thick + 2 * cell_size):
            band[sl] |= m
        for sl, m in canvas.thick_line(pts, thick):
            walkable[sl][m] = 0
        for gap in b.get("gaps", []):
            centre = proj.xy([gap["at"]])[0]
            half = gap["width_m"] / 2
            mask = np.zeros(shape, dtype=bool)
            got = canvas.box(centre[None, :], half + thick + cell_size)
            if got is not None:
                sl, cx, cy = got
                # the gap spans the gate's width along the line and the wall's band across it
                near = (np.abs(cx - centre[0]) <= half) & (np.abs(cy - centre[1]) <= half)
                mask[sl] = near & band[sl]
            walkable[mask] = 1
            gaps[gap["place"]] = mask
            gate_info[gap["place"]] = {"at": tuple(float(v) for v in centre), "width_m": float(gap["width_m"]),
                                       "barrier": b["id"], "name": gap.get("name", gap["place"]),
                                       "cells": int(mask.sum())}

    # places, in painting order
    places = [p["id"] for p in data["places"]]
    exits = [e["id"] for e in data.get("exits", [])]
    names = places + exits
    if len(set(names)) != len(names):
        raise ValueError(f"map {name!r}: duplicate place ids")
    place_id = np.full(shape, NO_PLACE, dtype=np.int16)
    lon_of_x = proj.west + (np.arange(shape[0]) + 0.5) * cell_size / proj.mlon
    lat_of_y = proj.south + (np.arange(shape[1]) + 0.5) * cell_size / proj.mlat
    for rule in data["painting"]:
        pid = names.index(rule["id"])
        if "street" in rule:
            mask = street_of == street_index[rule["street"]]
            if "lon_min" in rule:
                mask &= (lon_of_x >= rule["lon_min"])[:, None]
            if "lon_max" in rule:
                mask &= (lon_of_x < rule["lon_max"])[:, None]
            if "lat_min" in rule:
                mask &= (lat_of_y >= rule["lat_min"])[None, :]
            if "lat_max" in rule:
                mask &= (lat_of_y < rule["lat_max"])[None, :]
            place_id[mask] = pid
        elif "area" in rule:
            if rule["area"] in area_mask:
                sl, m = area_mask[rule["area"]]
                place_id[sl][m] = pid
        elif "polygon" in rule:
            got = canvas.polygon(proj.xy(rule["polygon"]))
            if got is not None:
                place_id[got[0]][got[1]] = pid
        elif "gap" in rule:
            place_id[gaps[rule["id"]]] = pid
        else:
            raise ValueError(f"map {name!r}: painting rule {rule} names no street, area or gap")
    depth = max(1, int(round(EXIT_DEPTH_M / cell_size)))
    edge = {"west": (slice(0, depth), slice(None)), "east": (slice(shape[0] - depth, None), slice(None)),
            "south": (slice(None), slice(0, depth)), "north": (slice(None), slice(shape[1] - depth, None))}
    for e in data.get("exits", []):
        sl = edge[e["side"]]
        place_id[sl][(street_of[sl] == street_index[e["street"]]) & (walkable[sl] == 1)] = names.index(e["id"])
    place_id[walkable == 0] = NO_PLACE
    walkable.setflags(write=False)
    place_id.setflags(write=False)
    return GridMap(name, float(cell_size), walkable, place_id, tuple(names), tuple(exits),
                   (proj.south, proj.west), _features(data, proj, gate_info))


def load_builtin_map(name: str, cell_size: float = 0.5) -> GridMap:
    """The built-in map ``name`` rasterized at ``cell_size`` metres (default 0.5 m).

    Cached per process (up to four name/cell-size pairs) and on disk (see :mod:`sim.geo.disk_cache`);
    the arrays are read-only, so copy them before changing anything (closing a gate, say).
    """
    cell_size = float(cell_size)
    if not (cell_size > 0 and math.isfinite(cell_size)):
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    return _build(name, cell_size)
