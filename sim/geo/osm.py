"""Read OpenStreetMap data from a user's file, offline: the tagged ways, areas and nodes a map needs.

``.osm.pbf``, ``.osm`` (XML, also ``.osm.gz``/``.osm.bz2``) and ``.opl`` go through pyosmium,
which keeps node locations in memory, assembles closed ways and multipolygon relations into
areas, and hands over only objects carrying one of ``KEYS``; ``.geojson`` (an export with OSM tags
as properties, in WGS 84) goes through geopandas. Everything is kept in lon/lat degrees and cut to
the box plus ``MARGIN_DEG``; what it means for the map is decided in ``sim.geo.osm_rules``. The
whole file is read: cut a country extract to the city first (``osmium extract -b W,S,E,N``).
"""

from __future__ import annotations

import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ScenarioError

KEYS = ("highway", "area:highway", "footway", "building", "barrier", "place", "leisure", "landuse", "amenity",
        "natural", "water", "waterway", "public_transport", "railway", "man_made")
MARGIN_DEG = 0.002  # about 200 m of latitude: ways that leave the box are kept to their next node beyond it
OSMIUM_FORMATS = {".pbf": "pbf", ".osm": "osm", ".xml": "osm", ".gz": "osm.gz", ".bz2": "osm.bz2", ".opl": "opl"}
GEOJSON_SUFFIXES = (".geojson", ".json")


@dataclass(frozen=True)
class Line:
    ref: str  # "way/123"
    tags: dict
    lonlat: np.ndarray  # [n, 2] degrees
    node_ids: tuple[int, ...] = ()  # OSM node ids of the points (empty from GeoJSON)


@dataclass(frozen=True)
class Area:
    ref: str  # "way/123" or "relation/45"
    tags: dict
    geometry: object  # shapely Polygon or MultiPolygon in lon/lat


@dataclass(frozen=True)
class Point:
    ref: str
    tags: dict
    lonlat: tuple[float, float]


@dataclass
class OsmData:
    lines: list[Line] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    timestamp: str = ""  # the file's replication timestamp, if its header has one
    extent: tuple[float, float, float, float] | None = None  # W, S, E, N of the file's data, where known


def read_osm(path, bbox: tuple[float, float, float, float]) -> OsmData:
    """The features of ``path`` near ``bbox`` (west, south, east, north); a file that cannot be read as
    OSM data is a ScenarioError naming it (one line)."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in GEOJSON_SUFFIXES:
            return _read_geojson(path, bbox)
        if suffix in OSMIUM_FORMATS:
            return _read_osmium(path, OSMIUM_FORMATS[suffix], bbox)
    except ScenarioError:
        raise
    except Exception as err:  # noqa: BLE001 - osmium, GDAL and friends raise many types for a damaged file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ScenarioError(f"cannot read it as OpenStreetMap data: {first}", file=str(path)) from None
    raise ScenarioError(f"unknown kind of file {suffix or '(no suffix)'!r}: give an .osm.pbf, .osm, .osm.gz, "
                        ".osm.bz2, .opl or .geojson file", file=str(path))


def _check_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError("no such file", file=str(path)) from None
    except OSError as err:
        raise ScenarioError(f"cannot read it: {err.strerror or err}", file=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("not a regular file", file=str(path))


def _near(bbox):
    west, south, east, north = bbox
    return west - MARGIN_DEG, south - MARGIN_DEG, east + MARGIN_DEG, north + MARGIN_DEG


def _read_osmium(path: Path, fmt: str, bbox) -> OsmData:
    import osmium
    import shapely

    w, s, e, n = _near(bbox)
    wkb = osmium.geom.WKBFactory()
    out = OsmData()
    reader = osmium.io.Reader(osmium.io.File(str(path), fmt), osmium.osm.osm_entity_bits.NOTHING)
    try:
        header = reader.header()
        out.timestamp = header.get("osmosis_replication_timestamp", "")
        box = header.box()
        if box.valid():
            out.extent = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    finally:
        reader.close()
    processor = osmium.FileProcessor(osmium.io.File(str(path), fmt)).with_areas() \
        .with_filter(osmium.filter.KeyFilter(*KEYS))
    for obj in processor:
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            loc = obj.location
            if loc.valid() and w <= loc.lon <= e and s <= loc.lat <= n:
                out.points.append(Point(f"node/{obj.id}", tags, (loc.lon, loc.lat)))
        elif obj.is_way():
            for lonlat, ids in _valid_runs(obj.nodes):
                if _overlaps(lonlat, w, s, e, n):
                    out.lines.append(Line(f"way/{obj.id}", tags, lonlat, ids))
        elif obj.is_area():
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except (RuntimeError, osmium.InvalidLocationError, shapely.errors.ShapelyError):
                continue  # a relation whose members the extract cut: its outline is not closed
            x0, y0, x1, y1 = geom.bounds
            if x1 >= w and x0 <= e and y1 >= s and y0 <= n:
                ref = f"way/{obj.orig_id()}" if obj.from_way() else f"relation/{obj.orig_id()}"
                out.areas.append(Area(ref, tags, geom))
    return out


def _valid_runs(nodes):
    """Runs of consecutive nodes whose locations the file holds (an extract may cut a way)."""
    run, ids = [], []
    for nd in nodes:
        loc = nd.location
        if loc.valid():
            run.append((loc.lon, loc.lat))
            ids.append(nd.ref)
            continue
        if len(run) >= 2:
            yield np.array(run), tuple(ids)
        run, ids = [], []
    if len(run) >= 2:
        yield np.array(run), tuple(ids)


def _overlaps(lonlat: np.ndarray, w, s, e, n) -> bool:
    lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
    return bool(hi[0] >= w and lo[0] <= e and hi[1] >= s and lo[1] <= n)


def _read_geojson(path: Path, bbox) -> OsmData:
    import geopandas
    import shapely

    with warnings.catch_warnings():  # GDAL's notes on a damaged file ("Non closed ring"): the error says enough
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = geopandas.read_file(path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    if not np.isfinite(shapely.get_coordinates(frame.geometry.values)).all():
        k = next(k for k, g in zip(frame.index, frame.geometry) if not np.isfinite(shapely.get_coordinates(g)).all())
        raise ScenarioError(f"feature {k}: coordinates must be finite numbers (degrees)", file=str(path))
    x0, y0, x1, y1 = (float(v) for v in frame.total_bounds) if len(frame) else (np.nan,) * 4
    extent = None
    if np.isfinite([x0, y0, x1, y1]).all():
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise ScenarioError(f"its coordinates are not degrees (they span {x0:.7g}..{x1:.7g} by {y0:.7g}.."
                                f"{y1:.7g}): OpenStreetMap GeoJSON is longitude/latitude (WGS 84); a file in metres "
                                "must declare its CRS, or, as a plan, be imported without --bbox", file=str(path))
        extent = (x0, y0, x1, y1)
    w, s, e, n = _near(bbox)
    frame = frame.cx[w:e, s:n]
    out = OsmData(extent=extent)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for k, geom, row in zip(frame.index, frame.geometry, frame[columns].to_dict("records")):
        if geom is None or geom.is_empty:
            continue
        tags = {}
        for key, value in row.items():
            if isinstance(value, dict):  # some exports nest the tags
                tags.update({str(a): str(b) for a, b in value.items() if b is not None})
            elif value is not None and value == value and key not in ("id", "@id", "type"):
                tags[str(key)] = str(value)
        ref = str(row.get("@id") or row.get("id") or f"feature/{k}")
        kind = geom.geom_type
        if kind in ("LineString", "MultiLineString"):
            parts = geom.geoms if kind == "MultiLineString" else [geom]
            out.lines += [Line(ref, tags, np.asarray(p.coords)[:, :2]) for p in parts if len(p.coords) >= 2]
        elif kind in ("Polygon", "MultiPolygon"):
            out.areas.append(Area(ref, tags, geom))
            if ("highway" in tags and tags.get("area") != "yes") or "barrier" in tags:  # closed ways that are lines
                out.lines += [Line(ref, tags, np.asarray(r.coords)[:, :2]) for r in _rings(geom)]
        elif kind == "Point":
            out.points.append(Point(ref, tags, (float(geom.x), float(geom.y))))
    return out


def _rings(geom):
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return [p.exterior for p in polys]
