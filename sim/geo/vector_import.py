"""Plain geometry in metres -> a map file: venues that are not in OpenStreetMap (an architect's plan
converted from DXF, a stadium, a campus), as GeoJSON or as WKT lines.

GeoJSON (read with geopandas; a projected CRS, or none, in metres): each feature's ``kind`` property
is ``walkable`` (the default), ``obstacle`` or ``exit``; a ``name`` makes a walkable area a place
(areas sharing a name are one place) and names an exit. Lines are corridors ``width_m`` wide
(default ``LINE_WIDTH_M``) or, as obstacles, walls ``thickness_m`` thick (default
``WALL_THICKNESS_M``). WKT: one feature a line, ``kind | name | WKT`` (name may be empty; ``#``
starts a comment)::

    walkable | hall      | POLYGON ((0 0, 40 0, 40 20, 0 20, 0 0))
    obstacle |           | POLYGON ((18 8, 22 8, 22 12, 18 12, 18 8))
    exit     | east door | POLYGON ((39 8, 40 8, 40 12, 39 12, 39 8))

The map is the bounding rectangle of everything, moved so its south-west corner is (0, 0); an
exit's side is the map edge nearest to it. Exits are floor too, painted last.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..config import read_text
from ..errors import ScenarioError
from .mapfile import FORMAT, MAX_SIZE_M, SCHEMA
from .naming import PlaceIds

KINDS = ("walkable", "obstacle", "exit")
LINE_WIDTH_M = 2.0  # a walkable line without width_m: a footway (sim.geo.footprint's default)
WALL_THICKNESS_M = 0.2  # an obstacle line without thickness_m: a fence or a thin partition
MAX_WKT_BYTES = 64 << 20


def read_plain(path) -> list[dict]:
    """[{kind, name, geometry, width_m?, thickness_m?}] from a GeoJSON or WKT file in metres."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".wkt" or suffix == ".txt":
        return _read_wkt(path)
    if suffix in (".geojson", ".json"):
        return _read_geojson(path)
    raise ScenarioError(f"plain geometry is a .geojson or .wkt file, not {suffix or 'a file without suffix'!r} "
                        "(OpenStreetMap files need --bbox)", file=str(path))


def _read_wkt(path: Path) -> list[dict]:
    import shapely

    text = read_text(path, what="WKT file", limit=MAX_WKT_BYTES)
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) != 3:
            raise ScenarioError(f"line {n}: expected 'kind | name | WKT'", file=str(path))
        kind, name, wkt = parts
        try:
            with warnings.catch_warnings():  # shapely's note on NaN: the check below says it in one line
                warnings.simplefilter("ignore", RuntimeWarning)
                geom = shapely.from_wkt(wkt)
        except shapely.errors.ShapelyError as err:
            raise ScenarioError(f"line {n}: not WKT: {str(err).splitlines()[0][:120]}", file=str(path)) from None
        out.append(_feature(kind, name or None, geom, {}, f"line {n}", path))
    return out


def _read_geojson(path: Path) -> list[dict]:
    import geopandas

    if not path.is_file():
        raise ScenarioError("no such file", file=str(path))
    try:
        with warnings.catch_warnings():  # GDAL's notes on a damaged file: one line below says enough
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = geopandas.read_file(path)
    except Exception as err:  # noqa: BLE001 - GDAL raises many kinds of error for a damaged file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ScenarioError(f"cannot read it as GeoJSON: {first}", file=str(path)) from None
    if frame.crs is not None and frame.crs.is_geographic:
        raise ScenarioError("its coordinates are degrees (longitude, latitude): plain geometry is in metres; "
                            "import OpenStreetMap data with --bbox", file=str(path))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    out = []
    for k, (geom, row) in enumerate(zip(frame.geometry, frame[columns].to_dict("records"))):
        if geom is None or geom.is_empty:
            continue
        props = {key: value for key, value in row.items() if value is not None and value == value}
        out.append(_feature(str(props.get("kind", "walkable")), props.get("name"), geom, props, f"feature {k}", path))
    return out


def _feature(kind: str, name, geom, props: dict, where: str, path) -> dict:
    if kind not in KINDS:
        raise ScenarioError(f"{where}: kind is one of {', '.join(KINDS)}, got {kind!r}", file=str(path))
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ScenarioError(f"{where}: a name is a non-empty text, got {name!r}", file=str(path))
    if geom.geom_type not in ("Polygon", "MultiPolygon", "LineString", "MultiLineString"):
        raise ScenarioError(f"{where}: expected a polygon or a line, got a {geom.geom_type}", file=str(path))
    if not finite_coordinates(geom):
        raise ScenarioError(f"{where}: coordinates must be finite numbers (metres)", file=str(path))
    item = {"kind": kind, "name": name.strip() if name else None, "geometry": geom}
    for key, default in (("width_m", LINE_WIDTH_M), ("thickness_m", WALL_THICKNESS_M)):
        value = props.get(key, default)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        if not (0 < value <= 1000):
            raise ScenarioError(f"{where}: {key} must be a number of metres above 0, got {props.get(key)!r}",
                                file=str(path))
        item[key] = value
    return item


def finite_coordinates(geom) -> bool:
    import numpy as np
    import shapely

    return bool(np.isfinite(shapely.get_coordinates(geom)).all())


def build_plain_map(items: list[dict], name: str, *, title: str, source: dict) -> dict:
    """The map file's contents for plain features (``read_plain``)."""
    import shapely

    if not any(i["kind"] != "obstacle" for i in items):
        raise ScenarioError("nothing walkable: no feature has kind walkable or exit", file=source.get("file"))
    x0, y0, x1, y1 = shapely.total_bounds([i["geometry"] for i in items])
    w, h = x1 - x0, y1 - y0
    if not (w > 0.5 and h > 0.5):
        raise ScenarioError(f"the geometry spans {w:g} x {h:g}: coordinates must be metres (degrees? use --bbox "
                            "for OpenStreetMap data)", file=source.get("file"))
    if max(w, h) > MAX_SIZE_M:
        raise ScenarioError(f"the geometry spans {w:,.0f} x {h:,.0f} m; at most {MAX_SIZE_M:,.0f} m a side "
                            "(a plan in millimetres? scale it to metres)", file=source.get("file"))
    floor, walls, places, exits = [], [], [], []
    by_name: dict[str, dict] = {}
    ids = PlaceIds()
    for item in items:
        geom = shapely.transform(item["geometry"], lambda pts: pts - [x0, y0])
        line = "LineString" in geom.geom_type
        if item["kind"] == "obstacle":
            wall = {"id": f"w{len(walls)}", "kind": "obstacle", "geometry": geom}
            if line:
                wall["thickness_m"] = item["thickness_m"]
            walls.append(wall)
            continue
        feat = {"id": f"f{len(floor)}", "kind": item["kind"], "geometry": geom}
        if line:
            feat["width_m"] = item["width_m"]
        if item["name"]:
            feat["name"] = item["name"]
        floor.append(feat)
        if item["kind"] == "exit":
            exits.append((feat, item["name"]))
        elif item["name"]:
            place = by_name.setdefault(item["name"], {"id": ids.take(item["name"], "area"), "name": item["name"],
                                                      "kind": "area", "features": []})
            place["features"].append(feat["id"])
    places = list(by_name.values())
    for place in places:
        shape = shapely.union_all([_find(floor, f)["geometry"] for f in place["features"]])
        at = shape.representative_point()
        place["label"] = {"at": [at.x, at.y], "angle": 0.0}
    exit_list = []
    for feat, exit_name in exits:
        c = feat["geometry"].centroid
        side = min({"west": c.x, "east": w - c.x, "south": c.y, "north": h - c.y}.items(), key=lambda kv: kv[1])[0]
        exit_id = ids.take(exit_name or f"exit {side}", "exit")
        exit_list.append({"id": exit_id, "name": exit_name or exit_id, "side": side, "features": [feat["id"]],
                          "label": {"at": [c.x, c.y], "angle": 0.0}})
    return {"format": FORMAT, "name": name, "title": title, "schema": SCHEMA, "source": source,
            "origin": {"x": x0, "y": y0}, "size_m": [w, h], "floor": floor, "walls": walls, "openings": [],
            "places": places, "exits": exit_list}


def _find(items: list[dict], fid: str) -> dict:
    return next(i for i in items if i["id"] == fid)
