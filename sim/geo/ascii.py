"""Small maps drawn as text: ``#`` wall, ``.`` floor, letters for named places and exits.

The top row is north, so a map reads like a map::

    ##########
    #AAA.....E      A = square (a place), E = street_east (an exit)
    #AAA.....E
    ##########

Anyone can draw a corridor, a room with doors or a square in a few lines; tests and teaching
scenarios are built this way. Leading and trailing blank lines and the common indentation are
ignored (``textwrap.dedent``); rows may be ragged, short rows are padded with wall, and a space
is wall too (outside the drawing). Several letters may name the same place. Mistakes raise
:class:`sim.errors.ScenarioError` naming the key: ``map.ascii`` (the drawing),
``map.places.X`` or ``map.exits.X`` (a legend entry).
"""

from __future__ import annotations

import math
import re
import textwrap

import numpy as np

from ..errors import ScenarioError
from .gridmap import NO_PLACE, GridMap

WALL = "#"
FLOOR = "."
BLANK = " "  # outside the drawing: wall
RESERVED = (WALL, FLOOR, BLANK)
# place names become column names, field-cache keys and labels: letters, digits and a few marks, no
# path separators or control characters; "exits" names the field to the nearest exit
PLACE_NAME = re.compile(r"^\w[\w .,'()&+-]{0,79}$")
RESERVED_NAMES = ("exits",)


def check_place_name(name, path: str) -> None:
    """Raise ScenarioError unless ``name`` may name a place (see ``PLACE_NAME``)."""
    if not isinstance(name, str) or not PLACE_NAME.match(name) or name.rstrip() != name:
        raise ScenarioError(f"place names are 1-80 letters, digits, spaces and _ - . , ' ( ) & +, starting with a "
                            f"letter or digit; got {name!r}", path=path)
    if name in RESERVED_NAMES:
        raise ScenarioError(f"{name!r} is reserved (the field to the nearest exit); choose another name", path=path)


def _check_legend(places: dict[str, str], exits: dict[str, str]) -> None:
    for key, table in (("places", places), ("exits", exits)):
        for letter, name in table.items():
            path = f"map.{key}.{letter}"
            if not isinstance(letter, str) or len(letter) != 1:
                raise ScenarioError(f"legend keys are single characters, got {letter!r}", path=path)
            if letter in RESERVED or letter.isspace():
                raise ScenarioError(f"{letter!r} is reserved ('#' wall, '.' floor, ' ' outside)", path=path)
            if not isinstance(name, str) or not name.strip():
                raise ScenarioError(f"letter {letter!r} needs a place name, got {name!r}", path=path)
            check_place_name(name, path)
    both = sorted(set(places) & set(exits))
    if both:
        raise ScenarioError(f"letter {both[0]!r} is both a place and an exit", path=f"map.exits.{both[0]}")
    place_names = set(places.values())
    for letter, name in exits.items():
        if name in place_names:
            raise ScenarioError(f"{name!r} is both a place and an exit", path=f"map.exits.{letter}")


def drawing_rows(text: str) -> list[str]:
    """The drawing's rows, top (north) first: common indentation, trailing spaces and blank lines
    at either end removed."""
    rows = [r.rstrip() for r in textwrap.dedent(text or "").strip("\n").splitlines()]
    while rows and not rows[-1]:
        rows.pop()
    while rows and not rows[0]:
        rows.pop(0)
    return rows


def parse_ascii_map(text: str, *, places: dict[str, str], exits: dict[str, str], cell_size: float = 0.5,
                    name: str = "ascii") -> GridMap:
    """A :class:`GridMap` from a text drawing; ``places``/``exits`` map letters to place names.

    Row ``r`` from the top becomes ``y = height - 1 - r`` and column ``c`` becomes ``x = c``, so
    ``walkable[x, y]`` has y north. Places are numbered in legend order (places, then exits);
    floor drawn as ``.`` belongs to no place.
    """
    places, exits = dict(places), dict(exits)
    _check_legend(places, exits)
    if not (isinstance(cell_size, (int, float)) and cell_size > 0 and math.isfinite(cell_size)):
        raise ScenarioError(f"cell_size must be a positive number of metres, got {cell_size!r}", path="map.cell_size")
    rows = drawing_rows(text)
    if not rows:
        raise ScenarioError("the map is empty: draw it with '#' walls, '.' floor and legend letters", path="map.ascii")
    width, height = max(len(r) for r in rows), len(rows)
    legend = {**places, **exits}
    names = tuple(dict.fromkeys(list(places.values()) + list(exits.values())))
    index = {n: k for k, n in enumerate(names)}
    walkable = np.zeros((width, height), dtype=np.uint8)
    place_id = np.full((width, height), NO_PLACE, dtype=np.int16)
    seen: set[str] = set()
    for r, row in enumerate(rows):
        y = height - 1 - r
        for x, ch in enumerate(row):
            if ch == WALL or ch == BLANK:
                continue
            if ch == FLOOR:
                walkable[x, y] = 1
            elif ch in legend:
                walkable[x, y] = 1
                place_id[x, y] = index[legend[ch]]
                seen.add(ch)
            else:
                what = ("letter not in the legend (add it to map.places or map.exits)" if ch.isalnum()
                        else "unknown character (use '#' wall, '.' floor or a legend letter)")
                raise ScenarioError(f"{what}: {ch!r} at row {r + 1}, column {x + 1}", path="map.ascii")
    if not walkable.any():
        raise ScenarioError("the map has no floor: nowhere to stand", path="map.ascii")
    for key, table in (("places", places), ("exits", exits)):
        for letter in table:
            if letter not in seen:
                raise ScenarioError(f"letter {letter!r} does not appear on the map", path=f"map.{key}.{letter}")
    exit_names = tuple(dict.fromkeys(exits.values()))
    return GridMap(name, float(cell_size), walkable, place_id, names, exit_names, None,
                   {"kind": "ascii", "title": f"text map '{name}'"})
