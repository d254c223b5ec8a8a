"""Which built-in maps exist and which places they name, read without rasterizing anything.

Scenario validation needs place names long before a model builds the (large) raster.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

MAPS_DIR = Path(__file__).with_name("maps")


def builtin_map_names() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.json"))


def builtin_map_path(name: str) -> Path:
    path = MAPS_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown built-in map {name!r}; known: {', '.join(builtin_map_names())}")
    return path


@lru_cache(maxsize=None)
def load_builtin_map_data(name: str) -> dict:
    return json.loads(builtin_map_path(name).read_text(encoding="utf-8"))


def builtin_place_names(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(places, exits) of a built-in map; exits are places too."""
    data = load_builtin_map_data(name)
    exits = tuple(e["id"] for e in data.get("exits", []))
    places = tuple(p["id"] for p in data.get("places", [])) + exits
    return places, exits
