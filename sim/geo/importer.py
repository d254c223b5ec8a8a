"""``protest-sim map import``: a user's file -> a map file (JSON, metres) and a PNG of it with its places labelled.

Everything is read, converted, checked and rasterized in memory first; only then are the PNG and
the map file written, each atomically (``sim.atomic``), so a file that cannot be read, or a box with
nothing walkable, leaves nothing behind, not even half a file. Places and exits that get no
walkable cell at the import's cell size are dropped (and listed). The raster goes into the disk
cache, so the first run of a scenario on the new map does not rasterize it again.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import write_text
from ..errors import ScenarioError
from ..resources import check_memory
from .disk_cache import save_gridmap
from .gridmap import NO_PLACE, GridMap
from .map_raster import cache_path, rasterize
from .mapfile import check_map, map_shape
from .naming import check_map_name

OSM_ATTRIBUTION = ("Map data (c) OpenStreetMap contributors, ODbL 1.0 (www.openstreetmap.org/copyright).\n"
                   "Way widths from width tags or class defaults (sim/geo/footprint.py): approximate. "
                   "Grid north is that of {crs}.")
PRECISE = ("source", "origin_latlon")  # degrees: kept to 7 decimals (1 cm), not rounded to centimetres of metres
BYTES_PER_CELL = 24  # the raster, its place ids and rasterio's working copies
MIN_BOX_M = 10.0  # a box narrower than this is a typo (a few cells), not a map


@dataclass
class Imported:
    map_file: Path
    png: Path | None
    gridmap: GridMap
    seconds: float
    dropped: list[str] = field(default_factory=list)


def import_osm(file, bbox_text: str, name: str, out_dir, *, cell_size: float = 0.5, png: bool = True,
               title: str | None = None) -> Imported:
    """Import OpenStreetMap data (``.osm.pbf``, ``.osm``, ``.geojson`` in WGS 84) cut to ``W,S,E,N``."""
    from .osm import read_osm
    from .osm_map import build_osm_map
    from .projection import parse_bbox

    start = time.perf_counter()
    name = _check_name(name)
    _check_title(title)
    try:
        bbox = parse_bbox(bbox_text)
    except ValueError as err:
        raise ScenarioError(str(err), path="--bbox") from None
    _libraries()
    _check_box_size(bbox)
    osm = read_osm(file, bbox)
    if not (osm.lines or osm.areas or osm.points):
        covers = f" (the file covers {_box_text(osm.extent)})" if osm.extent else ""
        raise ScenarioError(f"no streets, buildings or other map features in the box {_box_text(bbox)}{covers}",
                            file=str(file))
    source = {"file": Path(file).name, "sha256": _sha256(file), "bbox": list(bbox), "osm_timestamp": osm.timestamp}
    try:
        data = build_osm_map(osm, bbox, name, title=title or f"{name} (OpenStreetMap, {Path(file).name})",
                             source=source, attribution="")
    except ScenarioError as err:
        raise err.with_file(str(file)) from None
    data["attribution"] = OSM_ATTRIBUTION.format(crs=data["crs"])
    data["generated_by"] = f"protest-sim map import {Path(file).name} --bbox {_box_text(bbox)} " \
                           f"--name {name}" + (f" --title {json.dumps(title, ensure_ascii=False)}" if title else "")
    return _finish(data, file, out_dir, cell_size, png, start)


def import_plain(file, name: str, out_dir, *, cell_size: float = 0.5, png: bool = True,
                 title: str | None = None) -> Imported:
    """Import plain geometry in metres (GeoJSON or WKT, ``sim.geo.vector_import``)."""
    from .vector_import import build_plain_map, read_plain

    start = time.perf_counter()
    name = _check_name(name)
    _check_title(title)
    _libraries()
    items = read_plain(file)
    source = {"file": Path(file).name, "sha256": _sha256(file)}
    try:
        data = build_plain_map(items, name, title=title or f"{name} ({Path(file).name})", source=source)
    except ScenarioError as err:
        raise err.with_file(str(file)) from None
    data["generated_by"] = f"protest-sim map import {Path(file).name} --name {name}" + (
        f" --title {json.dumps(title, ensure_ascii=False)}" if title else "")
    return _finish(data, file, out_dir, cell_size, png, start)


def _check_box_size(bbox) -> None:
    """A box from ``MIN_BOX_M`` to ``MAX_SIZE_M`` a side in metres (wider ones are also beyond a UTM zone's use)."""
    from .mapfile import MAX_SIZE_M
    from .projection import LocalFrame

    w, h = LocalFrame.for_bbox(bbox).size_m
    if not (MIN_BOX_M <= min(w, h) and max(w, h) <= MAX_SIZE_M):  # NaN from a projection gone wild fails too
        raise ScenarioError(f"the box is {w:,.1f} x {h:,.1f} m; a map is {MIN_BOX_M:g} m to "
                            f"{MAX_SIZE_M / 1000:g} km a side", path="--bbox")


def _box_text(box) -> str:
    return ",".join(f"{v:g}" for v in box)


def _check_title(title: str | None) -> None:
    if title is not None and not (0 < len(title) <= 200 and title.isprintable()):
        raise ScenarioError("a title is 1-200 printable characters", path="--title")


def _check_name(name: str) -> str:
    try:
        return check_map_name(name)
    except ValueError as err:
        raise ScenarioError(str(err), path="--name") from None


def _libraries() -> None:
    try:
        import geopandas  # noqa: F401
        import osmium  # noqa: F401
        import pyproj  # noqa: F401
        import rasterio  # noqa: F401
        import shapely  # noqa: F401
    except ImportError as err:
        raise ScenarioError(f"importing maps needs the maps extra ({err.name} is missing): "
                            'python -m pip install -e ".[maps]"') from None


def _sha256(file) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _finish(data: dict, file, out_dir, cell_size: float, png: bool, start: float) -> Imported:
    data = to_plain(data)
    try:
        check_map(data, data["name"])  # our own output must read back
    except ScenarioError as err:
        raise ScenarioError(f"the map made of it would not read back ({err}): please report this file",
                            file=str(file)) from None
    nx, ny = map_shape(data, cell_size)
    check_memory(nx * ny * float(BYTES_PER_CELL), f"at {cell_size:g} m cells the map is {nx:,} x {ny:,} cells",
                 hint="a larger --cell-size or a smaller box")
    gridmap = rasterize(data, cell_size)
    data, gridmap, dropped = _drop_empty(data, gridmap)
    save_gridmap(cache_path(data, cell_size), gridmap)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png_path = None
    if png:
        from .render import save_map_png

        png_path = save_map_png(gridmap, out / f"{data['name']}.png")
    map_file = out / f"{data['name']}.json"
    write_text(map_file, dumps_map(data))
    return Imported(map_file, png_path, gridmap, time.perf_counter() - start, dropped)


def _drop_empty(data: dict, gridmap: GridMap):
    """Leave out places and exits with no walkable cell; renumber the raster's place ids to match (a place
    with no walkable cell painted none, so the rest of the raster is what rasterizing anew would give)."""
    counts = gridmap.place_cell_counts()
    empty = {name for name, n in counts.items() if n == 0}
    if not empty:
        return data, gridmap, []
    data = dict(data)
    data["places"] = [p for p in data["places"] if p["id"] not in empty]
    data["exits"] = [e for e in data["exits"] if e["id"] not in empty]
    keep = [k for k, name in enumerate(gridmap.places) if name not in empty]
    lut = np.full(len(gridmap.places) + 1, NO_PLACE, dtype=np.int16)
    lut[np.array(keep) + 1] = np.arange(len(keep), dtype=np.int16)
    place_id = lut[gridmap.place_id.astype(np.int64) + 1]
    place_id.setflags(write=False)
    names = tuple(gridmap.places[k] for k in keep)
    exits = tuple(e for e in gridmap.exits if e not in empty)
    from .map_raster import drawing_features

    return data, GridMap(gridmap.name, gridmap.cell_size, gridmap.walkable, place_id, names, exits,
                         gridmap.origin_latlon, drawing_features(data)), sorted(empty)


def to_plain(obj, digits: int = 2):
    """Shapely geometries -> GeoJSON geometries, floats rounded to ``digits`` (centimetres), tuples -> lists."""
    if hasattr(obj, "__geo_interface__") and hasattr(obj, "geom_type"):
        return to_plain(obj.__geo_interface__, digits)
    if isinstance(obj, dict):
        return {k: to_plain(v, 7 if k in PRECISE else digits) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, digits) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), digits)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def dumps_map(data: dict) -> str:
    """The map file's text: one feature a line, so it reads and diffs line by line."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            items = ",\n  ".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in value)
            parts.append(f"{json.dumps(key)}: [\n  {items}\n ]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n " + ",\n ".join(parts) + "\n}\n"
