"""Longitude/latitude -> metres on a north-up grid: the UTM zone of the box's centre (pyproj).

An imported map's x is UTM easting and y northing, both minus those of the box's south-west-most
projected corner, so (0, 0) is the map's south-west corner and its axes are the zone's grid axes:
within 3 degrees of longitude of the zone's central meridian, grid north is at most
3 sin(latitude) degrees from true north (Helsinki's centre, 2 degrees west of zone 35's meridian at
60 N: 1.8 degrees). A lon/lat box is not a rectangle in UTM: the map is the smallest grid rectangle
holding it, and the slivers of that rectangle outside the box are walls (``outside_box``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EDGE_POINTS = 32  # points per side when a box's edges are projected (they curve slightly)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` in degrees -> (west, south, east, north); ValueError saying what is wrong."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise ValueError(f"expected W,S,E,N (four numbers in degrees), got {text!r}")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"expected W,S,E,N (four numbers in degrees), got {text!r}") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ValueError(f"W,S,E,N must be finite numbers, got {text!r}")
    if not (-180 <= west < east <= 180 and -80 <= south < north <= 84):
        raise ValueError(f"need -180 <= W < E <= 180 and -80 <= S < N <= 84 (UTM's range), got {text!r}")
    return west, south, east, north


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone (a 6-degree strip; 326zz north, 327zz south) holding (lon, lat). The
    grid-zone exceptions of Norway and Svalbard are a labelling convention: the strip's projection is as good
    there, so they are not applied."""
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1


@dataclass(frozen=True)
class LocalFrame:
    """Metres east and north of ``origin`` (UTM easting, northing of the map's south-west corner) in zone ``epsg``."""

    epsg: int
    origin: tuple[float, float]
    size_m: tuple[float, float]
    box: tuple[float, float, float, float]  # the lon/lat box: west, south, east, north

    @classmethod
    def for_bbox(cls, bbox: tuple[float, float, float, float]) -> "LocalFrame":
        west, south, east, north = bbox
        epsg = utm_epsg((west + east) / 2, (south + north) / 2)
        xs, ys = _project(epsg, *_ring(bbox).T)
        origin = (float(xs.min()), float(ys.min()))
        return cls(epsg, origin, (float(xs.max() - xs.min()), float(ys.max() - ys.min())), tuple(bbox))

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Arrays of lon, lat in degrees -> x, y in metres from the map's south-west corner."""
        x, y = _project(self.epsg, lon, lat)
        return x - self.origin[0], y - self.origin[1]

    def geometry(self, geom):
        """A shapely geometry in lon/lat -> the same in local metres."""
        import shapely

        return shapely.transform(geom, lambda pts: np.column_stack(self.xy(pts[:, 0], pts[:, 1])))

    def box_polygon(self):
        """The lon/lat box in local metres: a quadrilateral with slightly curved sides."""
        import shapely

        xs, ys = self.xy(*_ring(self.box).T)
        return shapely.Polygon(np.column_stack([xs, ys]))

    def origin_latlon(self) -> tuple[float, float]:
        """Latitude and longitude of the map's south-west corner (0, 0)."""
        from pyproj import Transformer

        lon, lat = Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(*self.origin)
        return float(lat), float(lon)


def _ring(bbox) -> np.ndarray:
    """Points along the box's four sides, counter-clockwise from the south-west corner, as [lon, lat]."""
    west, south, east, north = bbox
    t = np.linspace(0.0, 1.0, EDGE_POINTS, endpoint=False)
    sides = [np.column_stack([west + (east - west) * t, np.full_like(t, south)]),
             np.column_stack([np.full_like(t, east), south + (north - south) * t]),
             np.column_stack([east - (east - west) * t, np.full_like(t, north)]),
             np.column_stack([np.full_like(t, west), north - (north - south) * t])]
    return np.vstack(sides)


_TRANSFORMERS: dict[int, object] = {}


def _project(epsg: int, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    if epsg not in _TRANSFORMERS:
        _TRANSFORMERS[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = _TRANSFORMERS[epsg].transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x), np.asarray(y)
