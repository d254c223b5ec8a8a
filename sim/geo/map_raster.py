"""A map file in metres (``sim.geo.mapfile``) -> GridMap, rasterized with shapely and rasterio, cached on disk.

Cells are painted where their centres fall (rasterio's default, as the built-in rasterizer does):
floor, then walls, then openings in line walls, then floor on top (bridges); then places in
order, exits last. Lines are buffered here, so a width edited in the file takes effect. No
corridor or line wall is narrower than ``MIN_CELLS`` cells, so ways stay connected and fences
closed at coarse cells. The result is cached like the built-in map (``sim.geo.disk_cache``), keyed
by a hash of the file's content, the cell size and ``RASTER_VERSION``, never by a name from the
file: the first run of a map rasterizes it, later ones load it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from ..errors import ScenarioError
from ..caches import cache_root
from .disk_cache import load_gridmap, save_gridmap
from .gridmap import NO_PLACE, GridMap
from .mapfile import map_shape, place_names, read_map_file

RASTER_VERSION = "m1"  # bump when the painting below (or the GridMap it makes) changes
MIN_CELLS = 1.5
_MEMO: dict[tuple[str, float], GridMap] = {}
_MEMO_SIZE = 4


def load_map_file(path, cell_size: float = 0.5, *, key_path: str = "") -> GridMap:
    """The map in the file ``path`` at ``cell_size`` metres (read-only arrays, cached per process and on disk)."""
    return gridmap_from_data(read_map_file(path, key_path=key_path), cell_size)


def content_key(data: dict) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True, allow_nan=False).encode("utf-8")).hexdigest()[:20]


def cache_path(data: dict, cell_size: float) -> Path:
    return cache_root() / "maps" / f"file-{content_key(data)}-{float(cell_size)!r}m-{RASTER_VERSION}.npz"


def gridmap_from_data(data: dict, cell_size: float, *, use_cache: bool = True) -> GridMap:
    cell_size = float(cell_size)
    if not (cell_size > 0 and math.isfinite(cell_size)):
        raise ValueError(f"cell_size must be a positive number of metres, got {cell_size!r}")
    memo_key = (content_key(data), cell_size)
    if use_cache and memo_key in _MEMO:
        return _MEMO[memo_key]
    path = cache_path(data, cell_size)
    gridmap = load_gridmap(path) if use_cache else None
    if gridmap is None:
        gridmap = rasterize(data, cell_size)
        if use_cache:
            save_gridmap(path, gridmap)
    if use_cache:
        while len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[memo_key] = gridmap
    return gridmap


def _libraries():
    try:
        import rasterio.features  # noqa: F401
        import shapely  # noqa: F401
    except ImportError as err:
        raise ScenarioError(f"maps from files need the maps extra ({err.name} is missing): "
                            'python -m pip install -e ".[maps]"') from None


def footprints(data: dict, cell_size: float) -> dict[str, object]:
    """Floor feature id -> its footprint (shapely, metres): polygons as they are, lines buffered."""
    from .footprint import corridors

    return _shapes(data.get("floor", []), "width_m", lambda lines, w: corridors(lines, w, min_width=MIN_CELLS *
                                                                                   cell_size))


def _shapes(items, number_key: str, buffer) -> dict[str, object]:
    import shapely
    from shapely.geometry import shape

    out, lines, widths, line_ids = {}, [], [], []
    for item in items:
        geom = shape(item["geometry"])
        if "LineString" in geom.geom_type:
            lines.append(geom)
            widths.append(item[number_key])
            line_ids.append(item["id"])
        elif geom.geom_type == "Point":
            out[item["id"]] = geom.buffer(item[number_key] / 2, cap_style="square")
        else:
            out[item["id"]] = shapely.make_valid(geom)
    if lines:
        out.update(zip(line_ids, buffer(lines, widths)))
    return out


def rasterize(data: dict, cell_size: float) -> GridMap:
    _libraries()
    import shapely
    from rasterio.features import rasterize as burn
    from rasterio.transform import Affine

    from .footprint import walls as wall_bands

    nx, ny = map_shape(data, cell_size)
    transform = Affine(cell_size, 0.0, 0.0, 0.0, cell_size, 0.0)  # row = y (north), column = x (east)

    def paint(shapes, fill, dtype):
        shapes = [(g, v) for g, v in shapes if g is not None and not g.is_empty]
        if not shapes:
            return np.full((ny, nx), fill, dtype=dtype)
        return burn(shapes, out_shape=(ny, nx), transform=transform, fill=fill, dtype=dtype)

    floor = footprints(data, cell_size)
    thick = MIN_CELLS * cell_size
    walls = _shapes(data.get("walls", []), "thickness_m", lambda lines, t: wall_bands(lines, t, min_thickness=thick))
    line_walls = [walls[w["id"]] for w in data.get("walls", []) if "LineString" in w["geometry"]["type"]]
    band = shapely.union_all(line_walls).buffer(cell_size) if line_walls else None
    openings = _shapes(data.get("openings", []), "width_m", None)
    on_top = {f["id"] for f in data.get("floor", []) if f.get("on_top")}
    shapes = [(g, 1) for k, g in floor.items() if k not in on_top] + [(g, 0) for g in walls.values()]
    if band is not None:
        shapes += [(g.intersection(band), 1) for g in openings.values()]
    shapes += [(floor[k], 1) for k in on_top]
    walkable = np.ascontiguousarray(paint(shapes, 0, "uint8").T)
    if not walkable.any():
        raise ScenarioError(f"map {data['name']!r} has no walkable cell at {cell_size:g} m cells: nowhere to stand")

    names, exits = place_names(data)
    place_shapes = []
    for k, item in enumerate(data.get("places", []) + data.get("exits", [])):
        parts = [floor[f] for f in item.get("features", [])]
        if "geometry" in item:
            parts.append(shapely.make_valid(shapely.geometry.shape(item["geometry"])))
        geom = shapely.union_all(parts) if parts else None
        if geom is not None and "within" in item:
            geom = geom.intersection(shapely.make_valid(shapely.geometry.shape(item["within"])))
        place_shapes.append((geom, k))
    place_id = np.ascontiguousarray(paint(place_shapes, NO_PLACE, "int16").T)
    place_id[walkable == 0] = NO_PLACE
    walkable.setflags(write=False)
    place_id.setflags(write=False)
    origin = data.get("origin_latlon")
    return GridMap(data["name"], float(cell_size), walkable, place_id, names, exits,
                   tuple(origin) if origin else None, drawing_features(data))


def drawing_features(data: dict) -> dict:
    """What ``sim.geo.render`` draws besides the raster: title, labels, kinds, exit sides, notes."""
    labels = {}
    for item in data.get("places", []) + data.get("exits", []):
        label = item.get("label")
        if label:
            labels[item["id"]] = {"at": (float(label["at"][0]), float(label["at"][1])),
                                  "text": str(item.get("name") or item["id"]), "angle": float(label.get("angle", 0.0))}
    return {
        "kind": "imported",
        "title": str(data.get("title") or data["name"]),
        "labels": labels,
        "place_kinds": {p["id"]: str(p.get("kind", "")) for p in data.get("places", [])}
        | {e["id"]: "exit" for e in data.get("exits", [])},
        "exit_sides": {e["id"]: e["side"] for e in data.get("exits", [])},
        "footnote": str(data.get("attribution") or ""),
        "crs": data.get("crs"),
    }
