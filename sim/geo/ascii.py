"""Small maps drawn as text: ``#`` wall, ``.`` floor, letters for named places and exits.

The top row is north, so a map reads like a map. Anyone can draw a corridor, a room with
doors or a square in a few lines; tests and teaching scenarios are built this way.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..errors import ScenarioError
from .gridmap import NO_PLACE, GridMap

WALL = "#"
FLOOR = "."


def parse_ascii_map(text: str, *, places: dict[str, str], exits: dict[str, str], cell_size: float = 0.5,
                    name: str = "ascii") -> GridMap:
    """Rows may be ragged (short rows are padded with wall); common indentation is ignored."""
    both = set(places) & set(exits)
    if both:
        letter = sorted(both)[0]
        raise ScenarioError(f"letter {letter!r} is both a place and an exit", path=f"map.exits.{letter}")
    rows = textwrap.dedent(text).strip("\n").splitlines()
    rows = [r.rstrip() for r in rows]
    if not rows or not any(rows):
        raise ScenarioError("the map is empty", path="map.ascii")
    width = max(len(r) for r in rows)
    height = len(rows)
    legend = {**places, **exits}
    names = tuple(dict.fromkeys(list(places.values()) + list(exits.values())))
    index = {n: k for k, n in enumerate(names)}
    walkable = np.zeros((width, height), dtype=np.uint8)
    place_id = np.full((width, height), NO_PLACE, dtype=np.int16)
    seen: set[str] = set()
    for r, row in enumerate(rows):
        y = height - 1 - r
        for x, ch in enumerate(row):
            if ch == WALL or ch == " ":
                continue
            if ch == FLOOR:
                walkable[x, y] = 1
            elif ch in legend:
                walkable[x, y] = 1
                place_id[x, y] = index[legend[ch]]
                seen.add(ch)
            else:
                what = "letter not in the legend" if ch.isalpha() else "unknown character"
                raise ScenarioError(f"{what} {ch!r} at row {r + 1}, column {x + 1}", path="map.ascii")
    for key, table in (("places", places), ("exits", exits)):
        for letter in table:
            if letter not in seen:
                raise ScenarioError(f"letter {letter!r} does not appear on the map", path=f"map.{key}.{letter}")
    exit_names = tuple(dict.fromkeys(exits.values()))
    return GridMap(name, float(cell_size), walkable, place_id, names, exit_names)
