"""One picture of a running model: the map, the people, the police, the water cannon and the gas.

Drawing thousands of markers with a plotting library is what makes agent-based views slow, so
nothing here draws per agent. The map (buildings, streets, squares, labels) is rendered once with
matplotlib into an RGB array at about 1-2 m per pixel; each frame copies it, blends the tear-gas
concentration in as a translucent layer, writes one pixel per person with numpy fancy indexing
and puts the labels back on top. Encoding the result as PNG dominates the cost.

``FrameRenderer(gridmap).render(model)`` gives the RGB array, ``.png(model)`` its PNG bytes.
Nothing here imports solara: the benchmark and the tests use it directly.
"""

from __future__ import annotations

import io
import threading

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..core.walk.state import POLICE, STATE_NAMES
from ..geo.render import draw_map
from ..traj.gas import VISIBLE_SHARE, as_drawn

MAX_PIXELS = 1100  # longest side of the picture
MIN_PIXELS = 800  # small maps are blown up, cell by cell, to about this many pixels on their longest side
MAX_SCALE = 16  # at most this many pixels per cell
LABEL_DPI = 130  # type size: points at this many dots per inch (the page shows the picture a little smaller)
LABEL_ALPHA = 0.85  # place names over the people: nearly opaque
GAS_RGB = (150, 170, 0)  # CS smoke: a yellowish green
GAS_MAX_ALPHA = 0.6

# the same colours as the figures (sim.figures.STATE_COLOURS), as RGB bytes
STATE_RGB = {
    "quiet": (0x4C, 0x72, 0xB0),
    "active": (0xDD, 0x84, 0x52),
    "fleeing": (0xC4, 0x4E, 0x52),
    "injured": (0x8C, 0x1B, 0x1B),
    "arrested": (0x55, 0x55, 0x55),
    "left": (0xAA, 0xAA, 0xAA),
}
POLICE_RGB = (0x10, 0x10, 0x10)
TRUCK_RGB = (0x00, 0xB8, 0xD9)
TRUCK_PX = 7  # water cannon trucks are drawn as squares this many pixels wide
# where several people share a pixel, the rarer and more telling state wins
_PRIORITY = {"left": 0, "quiet": 1, "active": 2, "fleeing": 3, "arrested": 4, "injured": 5}

LEGEND = [(name, "#%02x%02x%02x" % STATE_RGB[name]) for name in STATE_NAMES if name != "left"] + [
    ("police", "#%02x%02x%02x" % POLICE_RGB),
    ("water cannon", "#%02x%02x%02x" % TRUCK_RGB),
    ("tear gas", "#%02x%02x%02x" % GAS_RGB),
]


def _colour_table() -> tuple[np.ndarray, np.ndarray]:
    """Colour and drawing priority per code: codes 0..5 are protester states, 6 is police."""
    colours = np.array([STATE_RGB[s] for s in STATE_NAMES] + [POLICE_RGB], dtype=np.uint8)
    priority = np.array([_PRIORITY[s] for s in STATE_NAMES] + [len(STATE_NAMES)], dtype=np.int16)
    return colours, priority


def water_cannon_trucks(model) -> np.ndarray:
    """Agent indices of the water cannon trucks (``Policing.trucks``)."""
    return model.policing.trucks()


class FrameRenderer:
    """Draws frames of models on one map; build once per map, then call :meth:`render` per frame.

    The picture has ``height x width`` pixels, north up; each pixel covers ``step x step`` cells. With
    ``min_pixels`` (the page's renderers) a small map is blown up ``scale`` times, crisp, to about that size.
    """

    def __init__(self, gridmap, *, max_pixels: int = MAX_PIXELS, labels: bool = True, dot: int | None = None,
                 min_pixels: int = 0):
        nx, ny = gridmap.shape
        self.gridmap = gridmap
        self.step = max(1, int(np.ceil(max(nx, ny) / max_pixels)))
        self.width = -(-nx // self.step)
        self.height = -(-ny // self.step)
        # people as 2 x 2 pixel dots on big maps (the page shrinks the picture), single pixels on small ones
        self.dot = dot if dot is not None else (2 if max(self.width, self.height) > 600 else 1)
        self.metres_per_pixel = self.step * gridmap.cell_size
        # a small (text) map: each cell becomes a crisp scale x scale block, the map and its labels are
        # drawn at that size, so nothing is blurred or blown up by the browser
        self.scale = 1 if self.step > 1 else int(np.clip(min_pixels // max(self.width, self.height), 1, MAX_SCALE))
        self.background = self._draw_static(gridmap, labels=False)[..., :3].copy()
        self._big = self._draw_static(gridmap, labels=False, scale=self.scale)[..., :3].copy() if self.scale > 1 else None
        self._label_idx, self._label_rgb, self._label_alpha = self._label_layer(gridmap) if labels else (None,) * 3
        self._colours, self._priority = _colour_table()
        self._gas_cache: dict = {}

    # --- the static layers, drawn once ------------------------------------------------------------
    def _draw_static(self, gridmap, *, labels: bool, scale: int = 1) -> np.ndarray:
        """``sim.geo.render.draw_map`` into an RGBA array of exactly ``scale`` times ``height x width`` pixels."""
        h, w = self.height * scale, self.width * scale
        fig = Figure(figsize=(w / LABEL_DPI, h / LABEL_DPI), dpi=LABEL_DPI)
        FigureCanvasAgg(fig)
        fig.patch.set_facecolor((0.80, 0.78, 0.74))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        draw_map(ax, gridmap, labels=labels)
        # the picture covers whole pixels: a little more than the map when its size is not a multiple
        ax.set_xlim(0, self.width * self.metres_per_pixel)
        ax.set_ylim(0, self.height * self.metres_per_pixel)
        ax.set_aspect("auto")
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())
        assert img.shape[:2] == (h, w), (img.shape, h, w)
        return img

    def _label_layer(self, gridmap):
        """The pixels the place names change (the map drawn with and without them), put back on top of
        the people each frame, slightly see-through."""
        plain = self.background if self._big is None else self._big
        labelled = self._draw_static(gridmap, labels=True, scale=self.scale)[..., :3].reshape(-1, 3)
        idx = np.flatnonzero(np.any(labelled != plain.reshape(-1, 3), axis=1))
        return idx, labelled[idx].astype(np.float32) * LABEL_ALPHA, np.float32(1.0 - LABEL_ALPHA)

    # --- one frame ---------------------------------------------------------------------------------
    def pixels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat pixel index of cells (x, y); the picture's first row is the map's north edge."""
        return (self.height - 1 - y // self.step) * self.width + x // self.step

    def render(self, model) -> np.ndarray:
        """RGB uint8 array [height, width, 3] of the model as it stands."""
        img = self.background.copy()
        flat = img.reshape(-1, 3)
        self._blend_gas(img, model)  # under the people, so they stay crisp inside the cloud
        a = model.arrays
        on = np.flatnonzero(a.x >= 0)
        code = np.where(a.kind[on] == POLICE, len(STATE_NAMES), a.state[on]).astype(np.intp)
        order = np.argsort(self._priority[code], kind="stable")  # the last write to a pixel wins
        on, code = on[order], code[order]
        cols = a.x[on] // self.step
        rows = self.height - 1 - a.y[on] // self.step
        colours = self._colours[code]
        for dr in range(self.dot):  # a person is a dot x dot square, so a crowd reads at a glance
            for dc in range(self.dot):
                img[np.minimum(rows + dr, self.height - 1), np.minimum(cols + dc, self.width - 1)] = colours
        self._draw_trucks(img, model)
        if self.scale > 1:
            img = self._blow_up(img)
            flat = img.reshape(-1, 3)
        self.blend_labels(flat)
        return img

    def _blow_up(self, img: np.ndarray) -> np.ndarray:
        """Nearest-neighbour ``scale`` x: the pixels people, gas or trucks changed as blocks, the rest the
        map drawn at the larger size."""
        k = self.scale
        changed = np.any(img != self.background, axis=2).repeat(k, axis=0).repeat(k, axis=1)
        big = img.repeat(k, axis=0).repeat(k, axis=1)
        return np.where(changed[..., None], big, self._big)

    def _draw_trucks(self, img: np.ndarray, model) -> None:
        a = model.arrays
        r = TRUCK_PX // 2
        for t in water_cannon_trucks(model):
            if a.x[t] < 0:
                continue
            col, row = a.x[t] // self.step, self.height - 1 - a.y[t] // self.step
            r0, r1 = max(0, row - r), min(self.height, row + r + 1)
            c0, c1 = max(0, col - r), min(self.width, col + r + 1)
            img[r0:r1, c0:c1] = (0, 0, 0)
            img[r0 + 1:r1 - 1, c0 + 1:c1 - 1] = TRUCK_RGB

    def _gas_index(self, gas) -> tuple[np.ndarray, np.ndarray]:
        """Coarse gas cell under each pixel column and row (cached per gas grid)."""
        key = (gas.conc.shape, gas.factor)
        if key not in self._gas_cache:
            cols = (np.arange(self.width) * self.step + self.step // 2) // gas.factor
            rows = ((self.height - 1 - np.arange(self.height)) * self.step + self.step // 2) // gas.factor
            self._gas_cache[key] = (np.minimum(cols, gas.conc.shape[0] - 1), np.minimum(rows, gas.conc.shape[1] - 1))
        return self._gas_cache[key]

    def _blend_gas(self, img: np.ndarray, model) -> None:
        """The cloud from its concentration as ``gas.parquet`` records it (``traj.gas.as_drawn``: float32,
        8 significant bits), so a replay draws the same pixels as the live run."""
        gas = model.core.decisions.gas
        conc = as_drawn(gas.conc)
        visible = np.float32(model.spec.tear_gas.flee_concentration * VISIBLE_SHARE)
        hot = conc > visible
        if not hot.any():
            return
        cols, rows = self._gas_index(gas)
        # only the pixels over the cloud's bounding box
        gx = np.flatnonzero(hot.any(axis=1))
        gy = np.flatnonzero(hot.any(axis=0))
        c_sel = np.flatnonzero((cols >= gx[0]) & (cols <= gx[-1]))
        r_sel = np.flatnonzero((rows >= gy[0]) & (rows <= gy[-1]))
        if c_sel.size == 0 or r_sel.size == 0:
            return
        c_lo, c_hi, r_lo, r_hi = c_sel[0], c_sel[-1] + 1, r_sel[0], r_sel[-1] + 1
        sub = conc[np.ix_(cols[c_lo:c_hi], rows[r_lo:r_hi])].T  # [rows, cols]
        # the visible edge of the cloud is where people start to flee; thicker gas is more opaque
        alpha = (GAS_MAX_ALPHA * (1.0 - np.exp(-sub.astype(np.float64) / model.spec.tear_gas.flee_concentration))
                 ).astype(np.float32)
        alpha[sub <= visible] = 0.0
        patch = img[r_lo:r_hi, c_lo:c_hi].astype(np.float32)
        patch += alpha[..., None] * (np.array(GAS_RGB, dtype=np.float32) - patch)
        img[r_lo:r_hi, c_lo:c_hi] = patch.astype(np.uint8)

    def blend_labels(self, flat: np.ndarray) -> None:
        """The place names over ``flat`` (the picture's pixels, [n, 3]), slightly see-through."""
        if self._label_idx is None or self._label_idx.size == 0:
            return
        under = flat[self._label_idx].astype(np.float32)
        flat[self._label_idx] = (self._label_rgb + under * self._label_alpha).astype(np.uint8)

    def picture(self, model, *, zoom: bool = False) -> np.ndarray:
        """The frame of ``model``, cropped to its crowd with ``zoom``."""
        img = self.render(model)
        return self.crop_to_crowd(img, model) if zoom else img

    def crop_to_crowd(self, img: np.ndarray, model, **kw) -> np.ndarray:
        """The part of ``img`` around the people on the map (:meth:`crowd_box`)."""
        r0, r1, c0, c1 = self.crowd_box(img.shape, model, **kw)
        return img[r0:r1, c0:c1]

    def crowd_box(self, shape, model, *, margin_m: float = 40.0, min_share: float = 0.3,
                  snap_px: int = 20) -> tuple[int, int, int, int]:
        """Rows and columns (r0, r1, c0, c1) of a picture of ``shape`` around the people on the map: the
        1st-99th percentile of their positions plus ``margin_m``, widened to the picture's own proportions
        and to at least ``min_share`` of its width, and snapped to a coarse grid so the view does not
        jitter from frame to frame. The whole picture when nobody is on the map."""
        a = model.arrays
        on = a.x >= 0
        if not on.any():
            return 0, shape[0], 0, shape[1]
        k = shape[1] // self.width  # the picture may be blown up (small maps)
        width, height = self.width * k, self.height * k
        cols = a.x[on] // self.step * k
        rows = (self.height - 1 - a.y[on] // self.step) * k
        margin = margin_m / self.metres_per_pixel * k
        c0, c1 = np.percentile(cols, [1, 99]) + (-margin, margin)
        r0, r1 = np.percentile(rows, [1, 99]) + (-margin, margin)
        aspect = width / height
        w = max(c1 - c0, (r1 - r0) * aspect, min_share * width)
        w = min(w, width)
        h = min(w / aspect, height)
        cx, cy = (c0 + c1) / 2, (r0 + r1) / 2

        def span(centre, size, limit):
            lo = int(np.clip(centre - size / 2, 0, limit - size) // snap_px * snap_px)
            return lo, min(limit, lo + int(-(-size // snap_px) * snap_px))

        c0, c1 = span(cx, w, width)
        r0, r1 = span(cy, h, height)
        return r0, r1, c0, c1

    def png(self, model, *, compress_level: int = 1) -> bytes:
        return encode_png(self.render(model), compress_level=compress_level)


def encode_png(img: np.ndarray, *, compress_level: int = 1) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


_renderers: dict[str, FrameRenderer] = {}
_renderers_lock = threading.Lock()


def renderer_for(gridmap) -> FrameRenderer:
    """One renderer per distinct map (by content), shared by every model and browser tab on it."""
    key = gridmap.fingerprint()
    with _renderers_lock:
        if key not in _renderers:
            if len(_renderers) >= 4:
                _renderers.pop(next(iter(_renderers)))
            _renderers[key] = FrameRenderer(gridmap, min_pixels=MIN_PIXELS)
        return _renderers[key]
