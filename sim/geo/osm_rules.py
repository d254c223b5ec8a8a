"""What each OpenStreetMap feature is to a crowd: floor, wall, an opening in a wall, or a named place.

Everything starts as wall (built-up). Floor: walkable ways (``WALKABLE_HIGHWAYS``, buffered to their
width by ``sim.geo.footprint``) and ``floor_kind`` areas: squares and pedestrian areas, parks and
grass, pitches, surface car parks, platforms, piers. Walls over the floor: buildings (not roofs or
underground ones), water, and barrier lines (``WALL_BARRIERS``, at their default thickness). Openings
in barrier lines: gate-like nodes (``OPENINGS``) and nodes a walkable way shares with a barrier.
Painted last, over walls: bridges (over water), building passages and covered ways (arcades).

Left out on purpose: underground and indoor ways (tunnels, ``layer`` < 0, ``indoor=yes``, a ``level``
other than 0), motorways and ways under construction. ``access`` and ``foot`` tags are ignored: a
crowd walks where the ground lets it. Gates count as open.
"""

from __future__ import annotations

from .footprint import parse_width

WALKABLE_HIGHWAYS = {
    "trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "road", "service", "living_street",
    "pedestrian", "footway", "path", "cycleway", "bridleway", "steps", "track", "platform", "busway",
    "trunk_link", "primary_link", "secondary_link", "tertiary_link",
}
# barrier lines that stop people, and their thickness in metres when no width is tagged (a typical
# mesh fence 0.2 m, a garden or retaining wall 0.5 m, a hedge 1 m, an old city wall 2 m)
WALL_BARRIERS = {"fence": 0.2, "wall": 0.5, "city_wall": 2.0, "retaining_wall": 0.5, "hedge": 1.0,
                 "guard_rail": 0.3, "jersey_barrier": 0.6, "handrail": 0.1}
# gaps people pass through, in metres when no width is tagged (a vehicle gate 3 m, a door-like
# entrance 2 m, a kissing gate 1 m, a turnstile 0.8 m)
OPENINGS = {"gate": 3.0, "lift_gate": 3.0, "swing_gate": 3.0, "sliding_gate": 3.0, "hampshire_gate": 3.0,
            "entrance": 2.0, "kissing_gate": 1.0, "turnstile": 0.8, "full-height_turnstile": 0.8, "stile": 0.6,
            "cycle_barrier": 1.5, "bollard": 1.5, "block": 1.5, "chain": 3.0}
NOTABLE_AMENITIES = {"place_of_worship", "townhall", "university", "library", "theatre", "arts_centre", "courthouse",
                     "concert_hall", "college"}
NOTABLE_BUILDINGS = {"cathedral", "church", "chapel", "mosque", "synagogue", "temple", "government", "civic",
                     "public", "university", "train_station", "palace", "castle", "museum", "parliament"}
SQUARE_KINDS = {"pedestrian", "footway"}
PARK_LEISURE = {"park", "garden", "common", "dog_park", "playground"}
PARK_LANDUSE = {"grass", "village_green", "recreation_ground", "meadow"}


def underground(tags: dict) -> bool:
    if tags.get("tunnel") in ("yes", "culvert") or tags.get("location") in ("underground", "indoor"):
        return True
    if tags.get("indoor") not in (None, "no") or tags.get("level", "0").strip() not in ("0", ""):
        return True
    try:
        layer = int(tags.get("layer", "0"))
    except ValueError:
        layer = 0
    return layer < 0 and tags.get("tunnel") != "building_passage"


def walkable_line(tags: dict) -> bool:
    """A way people walk along (as a line: ``area=yes`` ways are areas)."""
    return (tags.get("highway") in WALKABLE_HIGHWAYS and tags.get("area") != "yes" and not underground(tags)
            and "area:highway" not in tags)


def on_top(tags: dict) -> bool:
    """Floor painted over walls: a bridge (over water or rails), a passage through a building, an arcade."""
    return (tags.get("bridge") not in (None, "no") or tags.get("tunnel") == "building_passage"
            or tags.get("covered") in ("yes", "arcade"))


def wall_thickness(tags: dict) -> float | None:
    """Metres of a barrier line that stops people, or None."""
    barrier = tags.get("barrier")
    if barrier not in WALL_BARRIERS or underground(tags):
        return None
    return parse_width(tags.get("width")) or WALL_BARRIERS[barrier]


def opening_width(tags: dict) -> float | None:
    """Metres of a gate-like node, or None."""
    barrier = tags.get("barrier")
    if barrier not in OPENINGS:
        return None
    return parse_width(tags.get("width")) or parse_width(tags.get("maxwidth:physical")) or OPENINGS[barrier]


def area_role(tags: dict) -> tuple[str, str] | None:
    """("floor" | "wall", kind) for an area's tags, or None if the area changes nothing. Kinds: building,
    water (walls); square, park, area (floor)."""
    if underground(tags):
        return None
    building = tags.get("building")
    if building is not None and building not in ("no", "roof", "canopy", "carport"):
        return "wall", "building"
    if tags.get("natural") == "water" or "water" in tags or tags.get("waterway") in ("riverbank", "dock") \
            or tags.get("landuse") in ("basin", "reservoir"):
        return "wall", "water"
    highway = tags.get("highway")
    if tags.get("place") == "square" or tags.get("area:highway") in SQUARE_KINDS \
            or (highway in SQUARE_KINDS and tags.get("area") == "yes"):
        return "floor", "square"
    if tags.get("leisure") in PARK_LEISURE or tags.get("landuse") in PARK_LANDUSE:
        return "floor", "park"
    if tags.get("leisure") in ("pitch", "track") or (tags.get("amenity") == "parking" and tags.get("parking") in
                                                     (None, "surface")) \
            or tags.get("public_transport") == "platform" or tags.get("railway") == "platform" \
            or highway in ("platform", "service") and tags.get("area") == "yes" or tags.get("man_made") == "pier" \
            or "area:highway" in tags:
        return "floor", "area"
    return None


def notable_building(tags: dict) -> bool:
    """A named building a scenario may send people to (its surroundings become a place)."""
    if not tags.get("name") or area_role(tags) != ("wall", "building"):
        return False
    return bool("wikidata" in tags or tags.get("tourism") or tags.get("historic")
                or tags.get("amenity") in NOTABLE_AMENITIES or tags.get("office") == "government"
                or "government" in tags or tags.get("building") in NOTABLE_BUILDINGS)
