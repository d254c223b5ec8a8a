"""Measurement areas: a place of the map by name, or any polygon in map metres.

``--area ala_too_square`` is the place's cells as one polygon; ``--area "0,0;20,0;20,10;0,10"``
(x,y corners in metres, semicolon-separated) or ``--area "POLYGON ((0 0, 20 0, 20 10, 0 0))"``
(WKT) any polygon; ``NAME=...`` names it. Without ``--area``: the places the scenario itself names
(where crowds and units start, where they are sent, the gate), exits left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import suggest
from ..errors import ScenarioError
from ..traj.walkable import largest_part, mask_polygon

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


@dataclass(frozen=True)
class Area:
    name: str
    polygon: object  # shapely Polygon, metres
    place: bool  # a named place of the map (else a polygon given by the user)


def scenario_places(scenario, gridmap) -> list[str]:
    """The places the scenario names, in its order, exits left out."""
    names = [c.place for c in scenario.crowds] + [c.target for c in scenario.crowds]
    names += [u.place for u in scenario.police] + [e.target for e in scenario.events]
    names += [scenario.gate.place] if scenario.gate is not None else []
    return [n for n in dict.fromkeys(names) if n and n in gridmap.places and n not in gridmap.exits]


def place_area(gridmap, name: str) -> Area:
    if name not in gridmap.places:
        raise ScenarioError(f"unknown area {name!r}: not a place of the map {gridmap.name}"
                            f"{suggest(name, gridmap.places)}"
                            " (or give a polygon in metres: \"x,y;x,y;x,y\")", path="--area")
    polygon = largest_part(mask_polygon(gridmap.place_mask(name), gridmap.cell_size))
    return Area(name, polygon, True)


def polygon_area(text: str, name: str, gridmap) -> Area:
    import shapely

    try:
        if text.lstrip().upper().startswith("POLYGON"):
            polygon = shapely.from_wkt(text)
        else:
            points = [tuple(float(v) for v in p.split(",")) for p in text.split(";") if p.strip()]
            if any(len(p) != 2 for p in points):
                raise ValueError("each corner is x,y")
            polygon = shapely.Polygon(points)
    except (ValueError, shapely.errors.GEOSException) as err:
        raise ScenarioError(f"not a polygon: {text!r} ({err}); give corners in metres as \"x,y;x,y;x,y\" or WKT",
                            path="--area") from None
    if polygon.geom_type != "Polygon" or len(polygon.exterior.coords) < 4 or not polygon.is_valid or polygon.area <= 0:
        raise ScenarioError(f"not a simple polygon with an area: {text!r} (at least 3 corners, edges not crossing)",
                            path="--area")
    if polygon.convex_hull.area - polygon.area > 1e-9 * polygon.area:
        raise ScenarioError(f"the polygon {text!r} is not convex: PedPy measures in convex areas only; split it",
                            path="--area")
    width, height = gridmap.size_m
    if not polygon.intersects(shapely.box(0, 0, width, height)):
        raise ScenarioError(f"the polygon {text!r} lies outside the map (0..{width:g} m east, 0..{height:g} m north)",
                            path="--area")
    return Area(name, polygon, False)


def resolve(specs: list[str] | None, scenario, gridmap) -> list[Area]:
    """The measurement areas ``specs`` name (``--area`` values), or the scenario's places."""
    if not specs:
        names = scenario_places(scenario, gridmap)
        if not names:
            raise ScenarioError("the scenario names no place to measure in: give --area NAME or --area \"x,y;x,y;x,y\"")
        return [place_area(gridmap, n) for n in names]
    areas = []
    for k, spec in enumerate(specs, start=1):
        name, _, rest = spec.partition("=")
        if rest and _NAME.match(name.strip()):
            label, text = name.strip(), rest
        else:
            label, text = None, spec
        if "," in text or text.lstrip().upper().startswith("POLYGON"):
            areas.append(polygon_area(text, label or f"area_{k}", gridmap))
        else:
            area = place_area(gridmap, text.strip())
            areas.append(Area(label or area.name, area.polygon, True))
    names = [a.name for a in areas]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"two areas are called {dup[0]!r}: name them, NAME=POLYGON", path="--area")
    return areas
