"""Zoom and pan on the browser view's map: which part of the picture is shown, and where a click lands.

The page draws one PNG per frame, so zooming is a crop of that picture (the browser enlarges it,
pixelated, so cells and people stay crisp): :class:`Viewport` is the zoom factor and the centre as
fractions of the picture, moved by the page's buttons. :func:`cell_at` turns a click on the shown
crop (fractions of its width and height) back into a map cell. Nothing here imports solara.
"""

from __future__ import annotations

import dataclasses

ZOOMS = (1, 2, 4, 8)  # the zoom factors the + and - buttons step through
PAN_SHARE = 0.5  # an arrow moves the view by this share of what is shown


@dataclasses.dataclass(frozen=True)
class Viewport:
    zoom: int = 1
    cx: float = 0.5  # centre, share of the picture's width from the west edge
    cy: float = 0.5  # centre, share of its height from the north edge

    def box(self, shape) -> tuple[int, int, int, int]:
        """Rows and columns (r0, r1, c0, c1) shown of a picture of ``shape``, kept inside it."""
        h, w = shape[0], shape[1]
        vh, vw = max(1, round(h / self.zoom)), max(1, round(w / self.zoom))
        r0 = int(min(max(0, round(self.cy * h - vh / 2)), h - vh))
        c0 = int(min(max(0, round(self.cx * w - vw / 2)), w - vw))
        return r0, r0 + vh, c0, c0 + vw

    def zoomed(self, direction: int) -> "Viewport":
        """One step in (``+1``) or out (``-1``) of :data:`ZOOMS`, around the same centre."""
        i = ZOOMS.index(self.zoom) if self.zoom in ZOOMS else 0
        zoom = ZOOMS[min(max(i + direction, 0), len(ZOOMS) - 1)]
        return dataclasses.replace(self, zoom=zoom) if zoom > 1 else Viewport()

    def panned(self, east: int, south: int) -> "Viewport":
        """Moved by :data:`PAN_SHARE` of the view per unit east and south (negative: west, north)."""
        half = 0.5 / self.zoom
        step = PAN_SHARE / self.zoom
        cx = min(max(self.cx + east * step, half), 1 - half)
        cy = min(max(self.cy + south * step, half), 1 - half)
        return dataclasses.replace(self, cx=cx, cy=cy)

    def centred(self, box, shape) -> "Viewport":
        """The view that shows ``box`` (r0, r1, c0, c1) of a picture of ``shape`` at the largest zoom that holds it."""
        r0, r1, c0, c1 = box
        h, w = shape[0], shape[1]
        fits = [z for z in ZOOMS if h / z >= (r1 - r0) * 0.999 and w / z >= (c1 - c0) * 0.999]
        zoom = max(fits) if fits else 1
        return Viewport(zoom, (c0 + c1) / 2 / w, (r0 + r1) / 2 / h) if zoom > 1 else Viewport()


def cell_at(renderer, shape, box, fx: float, fy: float) -> tuple[int, int]:
    """The map cell (x, y) under a click at (fx, fy), shares of the shown crop ``box`` of a picture of
    ``shape`` drawn by ``renderer`` (blown up ``shape[1] // renderer.width`` times for small maps)."""
    r0, r1, c0, c1 = box
    col = c0 + min(max(fx, 0.0), 0.999999) * (c1 - c0)
    row = r0 + min(max(fy, 0.0), 0.999999) * (r1 - r0)
    k = shape[1] // renderer.width
    px, py = int(col // k), int(row // k)
    x = px * renderer.step + renderer.step // 2
    y = (renderer.height - 1 - py) * renderer.step + renderer.step // 2
    return x, y
