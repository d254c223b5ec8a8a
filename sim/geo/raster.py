"""Vector map (JSON) -> GridMap at any cell size.

Everything starts built-up; streets are painted as floor corridors of their width, open
areas as floor polygons, then buildings and barriers (the White House fence, as a closed
line with its gate left open) are painted back as walls. Places are found by the map's
``painting`` rules in order, later ones overriding earlier ones, and exits are a street's
floor cells on the edge of the box where it leaves it. All painting is vectorized over the
bounding box of each shape, so the 3264 x 2432 cells of the Bishkek core take about a second.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.path import Path as PolyPath

from .catalog import load_builtin_map_data
from .gridmap import NO_PLACE, GridMap

EXIT_DEPTH_M = 1.0


class Projection:
    """Local equirectangular metres from the box's south-west corner."""

    def __init__(self, data: dict):
        bbox, proj = data["bbox"], data["projection"]
        self.south, self.west = bbox["south"], bbox["west"]
        self.mlat, self.mlon = proj["m_per_deg_lat"], proj["m_per_deg_lon"]
        self.width_m = (bbox["east"] - bbox["west"]) * self.mlon
        self.height_m = (bbox["north"] - bbox["south"]) * self.mlat

    def xy(self, latlon) -> np.ndarray:
        pts = np.asarray(latlon, dtype=np.float64)
        return np.column_stack([(pts[:, 1] - self.west) * self.mlon, (pts[:, 0] - self.south) * self.mlat])


class _Canvas:
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

    def polygon(self, pts: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray] | None:
        got = self.box(pts, 0.0)
        if got is None:
            return None
        sl, cx, cy = got
        gx, gy = np.broadcast_arrays(cx, cy)
        inside = PolyPath(pts).contains_points(np.column_stack([gx.ravel(), gy.ravel()]))
        return sl, inside.reshape(gx.shape)

    def thick_line(self, pts: np.ndarray, width_m: float):
        """Yield (slices, mask) for each segment: cells within width/2 of it."""
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


@lru_cache(maxsize=4)
def _build(name: str, cell_size: float) -> GridMap:
    data = load_builtin_map_data(name)
    proj = Projection(data)
    shape = (int(np.ceil(proj.width_m / cell_size)), int(np.ceil(proj.height_m / cell_size)))
    canvas = _Canvas(shape, cell_size)
    walkable = np.zeros(shape, dtype=np.uint8)
    street_of = np.full(shape, -1, dtype=np.int16)
    area_mask: dict[str, tuple] = {}

    streets = data["streets"]
    for k, s in enumerate(streets):
        for sl, m in canvas.thick_line(proj.xy(s["centerline"]), s["width_m"]):
            walkable[sl][m] = 1
            street_of[sl][m] = k
    for a in data["areas"]:
        got = canvas.polygon(proj.xy(a["polygon"]))
        if got is not None:
            walkable[got[0]][got[1]] = 1
            area_mask[a["id"]] = got
    for o in data["obstacles"]:
        got = canvas.polygon(proj.xy(o["polygon"]))
        if got is not None:
            walkable[got[0]][got[1]] = 0
    gaps: dict[str, np.ndarray] = {}
    for b in data.get("barriers", []):
        pts = proj.xy(b["polygon"])
        for sl, m in canvas.thick_line(pts, b["thickness_m"]):
            walkable[sl][m] = 0
        for gap in b.get("gaps", []):
            centre = proj.xy([gap["at"]])[0]
            got = canvas.box(centre[None, :], gap["width_m"] / 2)
            mask = np.zeros(shape, dtype=bool)
            if got is not None:
                sl, cx, cy = got
                near_line = np.zeros(shape, dtype=bool)
                for lsl, m in canvas.thick_line(pts, b["thickness_m"] + cell_size):
                    near_line[lsl] |= m
                inside = (np.abs(cx - centre[0]) <= gap["width_m"] / 2) & (np.abs(cy - centre[1]) <= gap["width_m"] / 2)
                mask[sl] = inside & near_line[sl]
            walkable[mask] = 1
            gaps[gap["place"]] = mask

    places = [p["id"] for p in data["places"]]
    exits = [e["id"] for e in data.get("exits", [])]
    names = places + exits
    place_id = np.full(shape, NO_PLACE, dtype=np.int16)
    street_index = {s["id"]: k for k, s in enumerate(streets)}
    xs_m = (np.arange(shape[0]) + 0.5) * cell_size
    ys_m = (np.arange(shape[1]) + 0.5) * cell_size
    lon_of_x = proj.west + xs_m / proj.mlon
    lat_of_y = proj.south + ys_m / proj.mlat
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
    depth = max(1, int(round(EXIT_DEPTH_M / cell_size)))
    edge = {"west": (slice(0, depth), slice(None)), "east": (slice(shape[0] - depth, None), slice(None)),
            "south": (slice(None), slice(0, depth)), "north": (slice(None), slice(shape[1] - depth, None))}
    for e in data.get("exits", []):
        sl = edge[e["side"]]
        mask = np.zeros(shape, dtype=bool)
        mask[sl] = (street_of[sl] == street_index[e["street"]]) & (walkable[sl] == 1)
        place_id[mask] = names.index(e["id"])
    place_id[walkable == 0] = NO_PLACE
    walkable.setflags(write=False)
    place_id.setflags(write=False)
    features = {
        "kind": "builtin",
        "areas": {a["id"]: proj.xy(a["polygon"]).tolist() for a in data["areas"]},
        "obstacles": {o["id"]: proj.xy(o["polygon"]).tolist() for o in data["obstacles"]},
        "barriers": {b["id"]: proj.xy(b["polygon"]).tolist() for b in data.get("barriers", [])},
        "confidence": {f["id"]: f.get("confidence") for f in data["streets"] + data["areas"] + data["obstacles"]},
        "title": data.get("title", name),
    }
    return GridMap(name, float(cell_size), walkable, place_id, tuple(names), tuple(exits),
                   (proj.south, proj.west), features)


def load_builtin_map(name: str, cell_size: float = 0.5) -> GridMap:
    """The built-in map rasterized at ``cell_size`` metres (cached per process; arrays are read-only)."""
    return _build(name, float(cell_size))
