"""The raster every engine walks on: one value per cell, indexed ``[x, y]`` (x east, y north).

Both the built-in vector maps and the small text maps end up as a :class:`GridMap`, so the
core, the fields and the plots never care where a map came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

NO_PLACE = -1


def cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of a 2-D mask's set cells, in ``np.nonzero``'s order. ``np.nonzero`` costs ~30 ms on
    the Bishkek map however few cells are set; this costs ~2 ms for one place (it is start-up time)."""
    return np.unravel_index(np.flatnonzero(mask), mask.shape)


@dataclass(frozen=True, eq=False)
class GridMap:
    """A walkable mask plus a partition of the floor into named places.

    ``place_id[x, y]`` is the index into ``places`` of the one place a cell belongs to, or
    ``NO_PLACE``. Exits are places too (listed again in ``exits``): an agent standing on an exit
    cell leaves the map. ``origin_latlon`` is the south-west corner of cell (0, 0) for maps drawn
    from geography, ``None`` for text maps. ``features`` carries drawing hints (building
    outlines, labels, confidence grades) and is never read by the engines.
    """

    name: str
    cell_size: float
    walkable: np.ndarray  # uint8 [nx, ny], 1 = floor
    place_id: np.ndarray  # int16 [nx, ny]
    places: tuple[str, ...]
    exits: tuple[str, ...] = ()
    origin_latlon: tuple[float, float] | None = None
    features: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.walkable.shape != self.place_id.shape or self.walkable.ndim != 2:
            raise ValueError("walkable and place_id must be 2-D arrays of the same shape")
        if self.walkable.dtype != np.uint8 or self.place_id.dtype != np.int16:
            raise ValueError("walkable must be uint8 and place_id int16")
        unknown = set(self.exits) - set(self.places)
        if unknown:
            raise ValueError(f"exits not among places: {sorted(unknown)}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.walkable.shape  # type: ignore[return-value]

    @property
    def size_m(self) -> tuple[float, float]:
        return (self.shape[0] * self.cell_size, self.shape[1] * self.cell_size)

    def place_index(self, name: str) -> int:
        try:
            return self.places.index(name)
        except ValueError:
            raise KeyError(f"unknown place {name!r}") from None

    def place_mask(self, name: str) -> np.ndarray:
        """Boolean mask of the walkable cells of one place."""
        return (self.place_id == self.place_index(name)) & (self.walkable == 1)

    def exit_mask(self) -> np.ndarray:
        ids = [self.place_index(e) for e in self.exits]
        return np.isin(self.place_id, ids) & (self.walkable == 1)

    def place_cell_counts(self) -> dict[str, int]:
        """Walkable cells per place: the most agents a place can hold at one per cell."""
        ids = self.place_id[self.walkable == 1]
        counts = np.bincount(ids[ids >= 0].astype(np.int64), minlength=len(self.places))
        return {name: int(c) for name, c in zip(self.places, counts)}

    def fingerprint(self) -> str:
        """Content hash: the key under which fields computed on this map are cached."""
        h = hashlib.sha1()
        h.update(repr((self.shape, float(self.cell_size), self.places, self.exits)).encode())
        h.update(np.ascontiguousarray(self.walkable).tobytes())
        h.update(np.ascontiguousarray(self.place_id).tobytes())
        return h.hexdigest()[:16]
