"""How wide a way is on the ground, and its corridor: OSM ways are centrelines, a crowd needs floor.

Most ways carry no ``width`` tag, so a way is as wide as its ``width`` tag says (metres; ``m``, ``ft``
and ``'`` understood), else as its class and lane count suggest. The defaults are common design
values, not measurements:

- a traffic lane is ``LANE_M`` = 3.25 m, within the 3.0-3.5 m of urban streets (AASHTO's "Green
  Book", A Policy on Geometric Design of Highways and Streets: 10-12 ft, 3.0-3.6 m; European urban
  guidance alike); roads without a ``lanes`` tag get ``DEFAULT_LANES`` of their class;
- a road's sidewalks add ``SIDEWALK_M`` = 2.0 m a side, the general minimum unobstructed footway
  width of the UK's Manual for Streets (DfT 2007, 6.3.22), on both sides unless ``sidewalk`` (or
  ``sidewalk:both/left/right``) says ``separate``, ``no`` or one side; a ``width`` tag on a road is
  its carriageway (OSM's usage), the sidewalks still added;
- ways for people have ``PATH_WIDTH_M``: footway and steps 2.0 m (the same minimum), path 1.5 m,
  cycleway 2.5 m (between the 2.0 m absolute and 3.0 m desirable minimum of a two-way cycle
  track, UK LTN 1/20, 2020), bridleway 2.0 m, track 3.0 m, platform 3.0 m, pedestrian street and
  living street 6.0 m (a narrow shared street; no sidewalks added).

Widths are approximate by nature: a real street's walkable width also depends on parked cars,
kiosks and kerbs, none of which OSM tags reliably. Buildings are painted over corridors, so a
default that is too wide is cut back by the buildings along the street.
"""

from __future__ import annotations

import re

import numpy as np

LANE_M = 3.25
SIDEWALK_M = 2.0
DEFAULT_LANES = {"trunk": 4, "primary": 4, "secondary": 2, "tertiary": 2, "unclassified": 2, "residential": 2,
                 "road": 2, "service": 1, "trunk_link": 1, "primary_link": 1, "secondary_link": 1,
                 "tertiary_link": 1, "busway": 1}
SIDEWALK_CLASSES = {"trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "road",
                    "trunk_link", "primary_link", "secondary_link", "tertiary_link"}
PATH_WIDTH_M = {"footway": 2.0, "steps": 2.0, "path": 1.5, "cycleway": 2.5, "bridleway": 2.0, "track": 3.0,
                "platform": 3.0, "pedestrian": 6.0, "living_street": 6.0}
MIN_WIDTH_M, MAX_WIDTH_M = 0.3, 100.0  # a tagged width outside this is a typo: the default is used
MAX_LANES = 12
_FEET = 0.3048
_WIDTH = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(m|metres?|meters?|ft|feet|')?\s*$", re.IGNORECASE)


def parse_width(text) -> float | None:
    """An OSM width value in metres (``"5"``, ``"5.5 m"``, ``"3,5"``, ``"12 ft"``, ``"12'"``), or None."""
    if text is None:
        return None
    m = _WIDTH.match(str(text))
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    if m.group(2) and m.group(2).lower() in ("ft", "feet", "'"):
        value *= _FEET
    return value if MIN_WIDTH_M <= value <= MAX_WIDTH_M else None


def sidewalk_sides(tags: dict) -> int:
    """How many sidewalks a road's corridor includes: 0, 1 or 2 (separately mapped ones count 0)."""
    if tags.get("highway") not in SIDEWALK_CLASSES:
        return 0
    value = tags.get("sidewalk", tags.get("sidewalk:both"))
    if value in ("no", "none", "separate"):
        return 0
    if value in ("left", "right"):
        return 1
    if value in ("both", "yes"):
        return 2
    sides = [tags.get(f"sidewalk:{s}") for s in ("left", "right")]
    if any(v is not None for v in sides):
        return sum(v in ("yes", "both") for v in sides)
    return 2


def way_width(tags: dict) -> tuple[float, str]:
    """(walkable width in metres, where it comes from) for a walkable way's tags."""
    highway = tags.get("highway", "")
    walks = sidewalk_sides(tags)
    extra = walks * SIDEWALK_M
    tagged = parse_width(tags.get("width")) or parse_width(tags.get("est_width"))
    if tagged is not None:
        return tagged + extra, "width tag" + (f" + {walks} sidewalk(s)" if walks else "")
    if highway in PATH_WIDTH_M:
        return PATH_WIDTH_M[highway], f"default for highway={highway}"
    lanes, lanes_from = _lanes(tags), "lanes tag"
    if lanes is None:
        lanes, lanes_from = DEFAULT_LANES.get(highway, 2), f"{DEFAULT_LANES.get(highway, 2)} lanes by default"
    where = f"{lanes_from} x {LANE_M:g} m" + (f" + {walks} sidewalk(s)" if walks else "")
    return lanes * LANE_M + extra, where


def _lanes(tags: dict) -> int | None:
    try:
        lanes = int(str(tags.get("lanes", "")).strip())
    except ValueError:
        return None
    return lanes if 1 <= lanes <= MAX_LANES else None


def corridors(lines, widths, *, min_width: float = 0.0):
    """Each line (shapely, metres) buffered to its width (round ends and joins, so ways meeting at a
    node join without notches); no corridor narrower than ``min_width``."""
    import shapely

    half = np.maximum(np.asarray(widths, dtype=np.float64), min_width) / 2
    return shapely.buffer(np.asarray(lines, dtype=object), half, quad_segs=4)


def walls(lines, thicknesses, *, min_thickness: float = 0.0):
    """Fences and walls (lines) as bands of their thickness, round-ended so two ways meeting at a
    corner leave no gap (gates are opened afterwards)."""
    import shapely

    half = np.maximum(np.asarray(thicknesses, dtype=np.float64), min_thickness) / 2
    return shapely.buffer(np.asarray(lines, dtype=object), half, quad_segs=2)
