"""OpenStreetMap features (lon/lat, ``sim.geo.osm``) -> the contents of a map file in metres (``sim.geo.mapfile``).

What is floor, wall or opening is ``sim.geo.osm_rules``; widths are ``sim.geo.footprint``'s. Places:
named squares, parks and other named floor areas (one place per name and kind), notable buildings
(the floor within ``APRON_M`` of their walls: a building is a wall, the crowd stands before it) and
streets (all walkable ways of one name). Their ids come from ``sim.geo.naming`` (squares first, so a
street named like a square becomes ``<id>_street``); they are painted streets first, squares last.
Exits: where a walkable way, or a square, crosses the box's edge, its floor in the outermost
``EXIT_DEPTH_M``; one exit per street name and side (``exit_<street>_<side>``), one per crossing for
unnamed ways (``exit_<side>_<n>``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ScenarioError
from .footprint import corridors, way_width
from .mapfile import FORMAT, SCHEMA
from .naming import PlaceIds
from .osm_rules import area_role, notable_building, on_top, opening_width, walkable_line, wall_thickness
from .projection import LocalFrame

APRON_M = 8.0  # a notable building's place: floor within this many metres of its outline
EXIT_DEPTH_M = 1.0  # as deep as the built-in map's exits
MIN_PLACE_M2 = 4.0  # a place with less floor than this inside the box is left out
KEEP_M = 20.0  # features are cut to the map's rectangle plus this margin
PRIORITY = ("square", "park", "area", "building", "street")  # who gets a contested id first
PAINT = ("street", "building", "area", "park", "square")  # who wins a contested cell (last)


def build_osm_map(osm, bbox, name: str, *, title: str, source: dict, attribution: str) -> dict:
    """The map file's contents for ``osm`` (an ``OsmData``) cut to ``bbox`` (west, south, east, north)."""
    import shapely

    frame = LocalFrame.for_bbox(bbox)
    w, h = frame.size_m
    quad = frame.box_polygon()
    keep = shapely.box(-KEEP_M, -KEEP_M, w + KEEP_M, h + KEEP_M)
    floor, walls, openings = [], [], []
    lines = []
    barrier_nodes: set[int] = set()
    for line in osm.lines:
        tags = line.tags
        geom = shapely.LineString(np.column_stack(frame.xy(line.lonlat[:, 0], line.lonlat[:, 1])))
        if walkable_line(tags):
            clipped = geom.intersection(keep)
            if clipped.is_empty:
                continue
            width, width_from = way_width(tags)
            item = {"id": f"f{len(floor)}", "osm": line.ref, "kind": tags["highway"], "geometry": clipped,
                    "width_m": round(width, 2), "width_from": width_from}
            if tags.get("name"):
                item["name"] = tags["name"]
            if on_top(tags):
                item["on_top"] = True
            floor.append(item)
            lines.append((item, line, geom))
        thickness = wall_thickness(tags)
        if thickness is not None:
            clipped = geom.intersection(keep)
            if not clipped.is_empty:
                walls.append({"id": f"w{len(walls)}", "osm": line.ref, "kind": tags["barrier"], "geometry": clipped,
                              "thickness_m": round(thickness, 2)})
                barrier_nodes.update(line.node_ids)
    buildings = []
    for area in osm.areas:
        role = area_role(area.tags)
        if role is None:
            continue
        geom = _polygonal(shapely.make_valid(frame.geometry(area.geometry)).intersection(keep))
        if geom is None:
            continue
        item = {"id": f"{role[0][0]}{len(floor) if role[0] == 'floor' else len(walls)}", "osm": area.ref,
                "kind": role[1], "geometry": geom}
        if area.tags.get("name"):
            item["name"] = area.tags["name"]
        (floor if role[0] == "floor" else walls).append(item)
        if notable_building(area.tags):
            buildings.append((area, geom))
    if not any(f["geometry"].intersects(quad) for f in floor):
        raise ScenarioError(f"nothing walkable in the box {','.join(f'{v:g}' for v in bbox)}: no streets, "
                            "footways, squares or parks there", file=source.get("file"))
    outside = _polygonal(shapely.box(0, 0, w, h).difference(quad))
    if outside is not None and outside.area > 0.01:
        walls.append({"id": "outside_box", "kind": "outside the box", "geometry": outside})
    gate_nodes = set()
    for point in osm.points:
        width = opening_width(point.tags)
        if width is not None:
            x, y = frame.xy(point.lonlat[0], point.lonlat[1])
            openings.append({"id": f"o{len(openings)}", "osm": point.ref, "kind": point.tags["barrier"],
                             "geometry": shapely.Point(float(x), float(y)), "width_m": round(width, 2)})
            gate_nodes.add(int(point.ref.split("/")[1]) if point.ref.startswith("node/") else -1)
    for item, line, geom in lines:  # a way through a fence at a shared node passes (OSM routers agree)
        for k, node in enumerate(line.node_ids):
            if node in barrier_nodes and node not in gate_nodes:
                openings.append({"id": f"o{len(openings)}", "osm": f"node/{node}", "kind": "way through a barrier",
                                 "geometry": shapely.Point(geom.coords[k]), "width_m": item["width_m"]})
    corridor = dict(zip([item["id"] for item, _, _ in lines],
                        corridors([item["geometry"] for item, _, _ in lines], [item["width_m"] for item, _, _ in lines])))
    places = _places(floor, corridor, buildings, quad)
    exits = _exits(floor, corridor, quad, frame, places)
    return {
        "format": FORMAT, "name": name, "title": title, "schema": SCHEMA, "source": source,
        "attribution": attribution, "crs": frame.crs,
        "origin": {"easting": round(frame.origin[0], 2), "northing": round(frame.origin[1], 2)},
        "origin_latlon": [round(v, 7) for v in frame.origin_latlon()],
        "size_m": [round(w, 2), round(h, 2)], "floor": floor, "walls": walls, "openings": openings,
        "places": places, "exits": exits,
    }


def _polygonal(geom):
    """The polygons of ``geom`` as one (Multi)Polygon, or None."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    return shapely.union_all(parts) if parts else None


def _places(floor, corridor, buildings, quad) -> list[dict]:
    import shapely

    groups: dict[tuple[str, str], dict] = {}
    for item in floor:
        if "name" not in item:
            continue
        kind = "street" if item["geometry"].geom_type.endswith("LineString") else item["kind"]
        group = groups.setdefault((kind, item["name"]), {"kind": kind, "name": item["name"], "features": [],
                                                         "osm": [], "shapes": []})
        group["features"].append(item["id"])
        group["osm"].append(item["osm"])
        group["shapes"].append(item["geometry"])
    inner = quad.buffer(-10.0)
    for area, geom in buildings:
        apron = geom.buffer(APRON_M, quad_segs=4).difference(geom)
        groups.setdefault(("building", area.tags["name"]), {"kind": "building", "name": area.tags["name"],
                                                           "features": [], "osm": [area.ref], "shapes": [geom],
                                                           "geometry": apron})
    ids = PlaceIds()
    chosen = []
    for kind in PRIORITY:
        for (k, pname), group in sorted(groups.items(), key=lambda kv: kv[0][1]):
            if k != kind:
                continue
            ground = [corridor[f] for f in group["features"]] if kind == "street" else list(group["shapes"])
            if group.get("geometry") is not None:
                ground.append(group["geometry"])
            if shapely.union_all(ground).intersection(quad).area < MIN_PLACE_M2:
                continue
            place = {"id": ids.take(pname, kind), "name": pname, "kind": kind, "features": group["features"],
                     "osm": sorted(set(group["osm"]))[:20], "label": _label(group, kind, quad, inner)}
            if "geometry" in group:
                place["geometry"] = group["geometry"].intersection(quad)
            chosen.append(place)
    chosen.sort(key=lambda p: PAINT.index(p["kind"]))
    return chosen


def _label(group, kind, quad, inner) -> dict:
    """Where the place's name is written: along a street's longest piece, in the middle of an area."""
    import shapely

    if kind == "street":
        pieces = _line_parts(group["shapes"], inner) or _line_parts(group["shapes"], quad) \
            or [shapely.LineString(group["shapes"][0].coords[:2])]
        line = max(pieces, key=lambda p: p.length)
        mid = line.interpolate(0.5, normalized=True)
        a = line.interpolate(max(0.0, line.length / 2 - 5))
        b = line.interpolate(min(line.length, line.length / 2 + 5))
        angle = float(np.degrees(np.arctan2(b.y - a.y, b.x - a.x)))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        return {"at": [mid.x, mid.y], "angle": round(angle, 1)}
    shape = shapely.union_all(group["shapes"]).intersection(quad)
    parts = [p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"]
    biggest = max(parts, key=lambda p: p.area) if parts else shape
    at = shapely.ops.polylabel(biggest, tolerance=1.0) if biggest.geom_type == "Polygon" \
        else biggest.representative_point()
    return {"at": [at.x, at.y], "angle": 0.0}


def _line_parts(lines, within) -> list:
    import shapely

    return [p for g in lines for p in shapely.get_parts(g.intersection(within))
            if p.geom_type == "LineString" and p.length > 0]


def _exits(floor, corridor, quad, frame, places) -> list[dict]:
    """Where walkable ways and squares leave the box: their floor in its outermost metre, per side."""
    import shapely

    band = quad.difference(quad.buffer(-EXIT_DEPTH_M))
    w, h = frame.size_m
    sides = {"west": shapely.LineString([(0, 0), (0, h)]), "east": shapely.LineString([(w, 0), (w, h)]),
             "south": shapely.LineString([(0, 0), (w, 0)]), "north": shapely.LineString([(0, h), (w, h)])}
    street_of = {f: p["id"] for p in places if p["kind"] == "street" for f in p["features"]}
    names = {p["id"]: p["name"] for p in places}
    crossing = [(item, corridor[item["id"]] if item["id"] in corridor else item["geometry"]) for item in floor
                if item["id"] in corridor or item["kind"] == "square"]
    groups: dict[tuple, dict] = {}
    for item, shape in crossing:
        if not shape.intersects(quad.exterior):
            continue
        for piece in shapely.get_parts(_polygonal(shape.intersection(band)) or shapely.Polygon()):
            if piece.is_empty or piece.area < 0.05:
                continue
            c = piece.centroid
            side = min(sides, key=lambda s: sides[s].distance(c))
            street = street_of.get(item["id"])
            key = (street, side) if street else (item["id"], side, round(c.x), round(c.y))
            group = groups.setdefault(key, {"street": street, "side": side, "features": set(), "pieces": [],
                                            "along": c.x if side in ("south", "north") else c.y})
            group["features"].add(item["id"])
            group["pieces"].append(piece)
    ids = PlaceIds(reserved=[p["id"] for p in places])
    out = []
    for group in sorted(groups.values(), key=lambda g: (g["side"], g["street"] is None, g["along"])):
        street, side = group["street"], group["side"]
        within = shapely.union_all(group["pieces"])
        at = within.centroid
        label = f"exit {side}" if street is None else f"{names[street]} ({side})"
        out.append({"id": ids.take(f"exit {street or ''} {side}", "exit"), "name": label, "side": side,
                    "features": sorted(group["features"], key=lambda f: int(f[1:])), "within": within,
                    "label": {"at": [at.x, at.y], "angle": 0.0}})
    return out
