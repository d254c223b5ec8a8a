"""Map files in metres: what ``protest-sim map import`` writes and ``[map] file = "..."`` reads.

The layers of the built-in map format (``sim.geo.raster``: floor painted over built-up ground, walls
over the floor, gaps reopened, places painted in order, exits last), with coordinates in metres
(x east, y north from the map's south-west corner) as GeoJSON geometries, so polygons may have
holes and anyone can write one. ``SCHEMA`` below says it in one paragraph and is copied into every
file. The file is checked here (types, ids, references, finite coordinates) without shapely, so
validating a scenario never rasterizes; ``sim.geo.map_raster`` turns it into a GridMap.
"""

from __future__ import annotations

import json
import math
import stat
from functools import lru_cache
from pathlib import Path

from ..config import read_text
from ..errors import ScenarioError
from .ascii import PLACE_NAME, RESERVED_NAMES
from .naming import MAP_NAME

FORMAT = "protest-sim map in metres, version 1"
SCHEMA = (
    "Coordinates are metres, x east and y north from the map's south-west corner; the map is size_m = [width, "
    "height]. Geometries are GeoJSON (Polygon, MultiPolygon, LineString, MultiLineString, Point). Every cell "
    "starts as wall; 'floor' features are painted as floor (lines buffered to width_m), then 'walls' (lines "
    "buffered to thickness_m), then 'openings' (points width_m across) reopen the line walls they touch, then "
    "floor features with on_top (bridges, passages) are painted over everything. 'places' are painted in order, "
    "later ones winning: a place's cells are the floor of its 'features' (floor ids, by footprint) and of its "
    "'geometry'; 'exits' (places too, where people leave the map) are painted last: the floor of their features "
    "inside 'within'. Ids of places and exits are what scenarios name; 'name' is the label drawn at 'label'. "
    "'osm' fields cite the OpenStreetMap objects (e.g. way/123) a feature comes from."
)
MAX_MAP_BYTES = 256 << 20  # a dense 2 km x 2 km city centre is ~10 MB
MAX_SIZE_M = 50_000.0
MAX_TEXT = 1000  # characters of a title or attribution
GEOMETRY_DEPTH = {"Point": 1, "LineString": 2, "MultiLineString": 3, "Polygon": 3, "MultiPolygon": 4}
SIDES = ("west", "east", "south", "north")
_TOP = ("format", "name", "title", "schema", "generated_by", "source", "attribution", "crs", "origin",
        "origin_latlon", "size_m", "floor", "walls", "openings", "places", "exits", "notes")


def _fail(message: str, where: str, file) -> ScenarioError:
    return ScenarioError(message, file=str(file) if file else None, path=where)


def read_map_file(path, *, key_path: str = "") -> dict:
    """The checked contents of a map file; any way it is wrong is one ScenarioError naming the file
    (or, if the file itself cannot be read, ``key_path`` of the scenario naming it)."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        read_text(path, what="map file", key_path=key_path)  # raises: missing, unreadable, not a regular file
        raise ScenarioError(f"cannot read {path}", path=key_path)
    return _read_cached(str(path.resolve()), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=8)
def _read_cached(resolved: str, mtime_ns: int, size: int) -> dict:
    text = read_text(resolved, what="map file", limit=MAX_MAP_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _fail(f"not JSON: {err}", "", resolved) from None
    except RecursionError:
        raise _fail("nested too deeply to be a map file", "", resolved) from None
    check_map(data, resolved)
    return data


def check_map(data, file=None) -> None:
    """Raise ScenarioError at the first thing in ``data`` that is not a map file's."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _fail(f"not a protest-sim map file (its 'format' must be {FORMAT!r}; write one with "
                    "'protest-sim map import')", "format", file)
    for key in data:
        if key not in _TOP:
            raise _fail(f"unknown key {key!r}", key, file)
    if not isinstance(data.get("name"), str) or not MAP_NAME.match(data["name"]):
        raise _fail("expected a map name: lower-case letters, digits, _ and -", "name", file)
    for key in ("title", "attribution"):
        if key in data and not (isinstance(data[key], str) and len(data[key]) <= MAX_TEXT):
            raise _fail(f"expected a text of at most {MAX_TEXT} characters", key, file)
    size = data.get("size_m")
    if not (isinstance(size, list) and len(size) == 2 and all(_number(v) and 0 < v <= MAX_SIZE_M for v in size)):
        raise _fail(f"expected [width, height] in metres, each above 0 and at most {MAX_SIZE_M:g}", "size_m", file)
    ids: dict[str, set] = {}
    for section, number_key in (("floor", "width_m"), ("walls", "thickness_m"), ("openings", "width_m")):
        ids[section] = _check_features(data.get(section, []), section, number_key, file)
    if not data.get("floor"):
        raise _fail("the map has no floor: nowhere to stand", "floor", file)
    known = ids["floor"]
    names: set[str] = set()
    for section in ("places", "exits"):
        items = data.get(section, [])
        if not isinstance(items, list):
            raise _fail("expected a list", section, file)
        for k, item in enumerate(items):
            where = f"{section}.{k}"
            if not isinstance(item, dict):
                raise _fail("expected a table", where, file)
            pid = item.get("id")
            if not isinstance(pid, str) or not PLACE_NAME.match(pid) or pid in RESERVED_NAMES or pid.rstrip() != pid:
                raise _fail(f"not a usable place id: {pid!r}", f"{where}.id", file)
            if pid in names:
                raise _fail(f"two places are called {pid!r}", f"{where}.id", file)
            names.add(pid)
            feats = item.get("features", [])
            if not isinstance(feats, list) or any(f not in known for f in feats if isinstance(f, str)) \
                    or not all(isinstance(f, str) for f in feats):
                raise _fail("features must list ids of floor features", f"{where}.features", file)
            for key in ("geometry", "within"):
                if key in item:
                    _check_geometry(item[key], f"{where}.{key}", file)
            if not feats and "geometry" not in item:
                raise _fail("a place needs features or a geometry", where, file)
            if section == "exits" and item.get("side") not in SIDES:
                raise _fail(f"an exit's side is one of {', '.join(SIDES)}", f"{where}.side", file)
            if not isinstance(item.get("name", ""), str) or len(item.get("name", "")) > MAX_TEXT:
                raise _fail(f"a name is a text of at most {MAX_TEXT} characters", f"{where}.name", file)
            label = item.get("label")
            if label is not None and not (isinstance(label, dict) and _point(label.get("at"))):
                raise _fail("a label is {at = [x, y], angle = degrees}", f"{where}.label", file)


def _check_features(items, section: str, number_key: str, file) -> set[str]:
    if not isinstance(items, list):
        raise _fail("expected a list", section, file)
    seen: set[str] = set()
    for k, item in enumerate(items):
        where = f"{section}.{k}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise _fail("expected a table with an id", where, file)
        if item["id"] in seen:
            raise _fail(f"two {section} features are called {item['id']!r}", f"{where}.id", file)
        seen.add(item["id"])
        kind = _check_geometry(item.get("geometry"), f"{where}.geometry", file)
        needs_number = "LineString" in kind or kind == "Point"
        value = item.get(number_key)
        if needs_number and not (_number(value) and 0 < value <= 1000):
            raise _fail(f"a {kind} needs {number_key} in metres (above 0, at most 1000)", f"{where}.{number_key}",
                        file)
    return seen


def _check_geometry(geom, where: str, file) -> str:
    if not isinstance(geom, dict) or geom.get("type") not in GEOMETRY_DEPTH:
        raise _fail(f"expected a GeoJSON geometry ({', '.join(GEOMETRY_DEPTH)})", where, file)
    if not _coords(geom.get("coordinates"), GEOMETRY_DEPTH[geom["type"]]):
        raise _fail(f"bad {geom['type']} coordinates: nested lists of finite [x, y] numbers in metres", where, file)
    return geom["type"]


def _coords(value, depth: int) -> bool:
    if depth == 1:
        return _point(value)
    return isinstance(value, list) and len(value) > 0 and all(_coords(v, depth - 1) for v in value)


def _point(value) -> bool:
    return isinstance(value, list) and len(value) in (2, 3) and all(_number(v) for v in value)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def place_names(data: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(places, exits) of a map file, in painting order; exits are places too."""
    exits = tuple(e["id"] for e in data.get("exits", []))
    return tuple(p["id"] for p in data.get("places", [])) + exits, exits


def map_shape(data: dict, cell_size: float) -> tuple[int, int]:
    """(nx, ny) cells of the map at ``cell_size`` metres."""
    w, h = data["size_m"]
    return int(math.ceil(w / cell_size - 1e-9)), int(math.ceil(h / cell_size - 1e-9))
