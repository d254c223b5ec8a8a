"""Drawing a GridMap: built-up blocks, streets, squares, parks, landmark buildings and place names.

``draw_map`` is the background of the density figures and the browser view, so it draws one
coarsened image of the raster (not thousands of patches) plus a handful of outlines and labels,
and stays fast at 0.5 m cells. Everything is in metres, x east, y north, origin at the map's
south-west corner. Only ``matplotlib.figure.Figure`` is used, never pyplot's global state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib import patheffects

from ..atomic import write_file

MAX_PIXELS = 1400  # longest side of the background image

COLOURS = {  # RGB 0-1
    "built": (0.80, 0.78, 0.74),  # not walkable: blocks of buildings
    "floor": (0.99, 0.99, 0.97),  # walkable: streets and unnamed floor
    "square": (0.96, 0.89, 0.74),
    "park": (0.78, 0.89, 0.72),
    "grounds": (0.85, 0.83, 0.93),  # fenced grounds: walkable, closed to the public
    "gate": (0.98, 0.74, 0.60),
    "gate_line": (0.82, 0.16, 0.12),
    "exit": (0.35, 0.62, 0.92),
    "landmark": (0.42, 0.40, 0.39),  # landmark buildings (obstacles)
    "fence": (0.15, 0.15, 0.15),
}
# text maps have no kinds: their places get these pastel colours in turn
PALETTE = [(0.96, 0.89, 0.74), (0.78, 0.89, 0.72), (0.85, 0.83, 0.93), (0.98, 0.80, 0.80), (0.80, 0.90, 0.95),
           (0.95, 0.95, 0.70), (0.90, 0.80, 0.92), (0.80, 0.92, 0.85)]
LANDMARK_SHORT = {"manas_statue_alatoo": "Manas statue", "aitmatov_monument": "Aitmatov monument"}
LABEL_STYLE = {  # kind -> fontsize, style, weight
    "street": (6.0, "italic", "normal"),
    "square": (7.5, "normal", "bold"),
    "park": (7.5, "normal", "bold"),
    "grounds": (6.5, "normal", "normal"),
    "gate": (6.0, "normal", "normal"),
    "building": (6.0, "normal", "bold"),
    "": (7.0, "normal", "normal"),
}
EXIT_MARKERS = {"north": "^", "south": "v", "east": ">", "west": "<"}
ESTIMATED_MARK = "\u2020"  # dagger after a label: position estimated
ESTIMATED_NOTE = (f"{ESTIMATED_MARK} after a name: position estimated from sourced topology and sizes, "
                  "approximate, typically 30-80 m off")


def readable_name(name: str) -> str:
    """A place id as a label: ``west_street`` -> ``West Street``."""
    return " ".join(w[:1].upper() + w[1:] for w in str(name).replace("-", "_").split("_") if w)


def plain_text(text) -> str:
    """``text`` drawn as it is: names from a user's file may hold '$', which matplotlib reads as maths."""
    return str(text).replace("$", r"\$")


def _step(gridmap, max_pixels: int = MAX_PIXELS) -> int:
    return max(1, int(np.ceil(max(gridmap.shape) / max_pixels)))


def place_colours(gridmap) -> dict[str, tuple[float, float, float] | None]:
    """Fill colour of each place (None: drawn as plain floor)."""
    kinds = gridmap.features.get("place_kinds")
    out: dict[str, tuple | None] = {}
    k = 0
    for name in gridmap.places:
        if name in gridmap.exits:
            out[name] = COLOURS["exit"]
        elif kinds is None:  # a text map
            out[name] = PALETTE[k % len(PALETTE)]
            k += 1
        elif name in gridmap.features.get("gates", {}):
            out[name] = COLOURS["gate_line"]
        else:
            kind = kinds.get(name, "")
            out[name] = COLOURS.get(kind) if kind in ("square", "park", "grounds", "gate") else None
    return out


def map_image(gridmap, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """RGB image [rows = y from south, cols = x], coarsened so its longest side is at most ``max_pixels``."""
    step = _step(gridmap, max_pixels)
    walk = gridmap.walkable[::step, ::step].T.astype(bool)
    pid = gridmap.place_id[::step, ::step].T
    lut = np.array([COLOURS["floor"]] + [c if c is not None else COLOURS["floor"]
                                         for c in place_colours(gridmap).values()], dtype=np.float32)
    img = lut[pid.astype(np.int32) + 1]  # NO_PLACE (-1) -> plain floor
    img[~walk] = COLOURS["built"]
    return img


def label_points(gridmap) -> dict[str, tuple[float, float]]:
    """Where to write each place's name, in metres: the map's own anchors, else the floor cell nearest the centroid."""
    anchors = gridmap.features.get("labels", {})
    points = {name: tuple(anchors[name]["at"]) for name in gridmap.places if name in anchors}
    missing = [k for k, name in enumerate(gridmap.places) if name not in points]
    if missing:
        step = _step(gridmap)
        pid = gridmap.place_id[::step, ::step]
        for k in missing:
            xs, ys = np.nonzero(pid == k)
            if xs.size == 0:
                continue
            cx, cy = xs.mean(), ys.mean()
            j = int(np.argmin((xs - cx) ** 2 + (ys - cy) ** 2))
            points[gridmap.places[k]] = ((xs[j] + 0.5) * step * gridmap.cell_size,
                                         (ys[j] + 0.5) * step * gridmap.cell_size)
    return points


def _is_estimated(gridmap, name: str) -> bool:
    grade = gridmap.features.get("confidence", {}).get(name)
    return bool(grade) and str(grade).startswith("estimated")


def draw_map(ax, gridmap, *, labels: bool = True, image: np.ndarray | None = None):
    """Draw ``gridmap`` on ``ax`` (extent in metres); returns the background image artist.

    ``labels`` writes place names (streets along the street, small type; exits are only
    coloured). Estimated positions get a dagger. ``image``: :func:`map_image` of the map, when
    the caller draws it on several axes (it takes 40 ms at 0.5 m cells).
    """
    w, h = gridmap.size_m
    picture = map_image(gridmap) if image is None else image
    image = ax.imshow(picture, origin="lower", extent=(0, w, 0, h), interpolation="nearest", zorder=0)
    feats = gridmap.features
    surfaces = feats.get("area_surface", {})
    for aid, poly in feats.get("areas", {}).items():
        if surfaces.get(aid) == "park" and aid not in gridmap.places:  # e.g. a boulevard's green median
            ax.add_patch(Polygon(np.asarray(poly), closed=True, fc=COLOURS["park"], ec="none", zorder=1))
    for poly in feats.get("obstacles", {}).values():
        ax.add_patch(Polygon(np.asarray(poly), closed=True, fc=COLOURS["landmark"], ec="#333333", lw=0.4, zorder=2))
    for poly in feats.get("barriers", {}).values():
        pts = np.asarray(poly)
        ax.plot(pts[:, 0], pts[:, 1], color=COLOURS["fence"], lw=0.9, zorder=3, solid_capstyle="butt")
    sides = feats.get("exit_sides", {})
    anchors = feats.get("labels", {})
    for name, side in sides.items():
        if name in anchors:
            x, y = anchors[name]["at"]
            ax.plot([x], [y], marker=EXIT_MARKERS[side], ms=5, color=COLOURS["exit"], mec="#1f4e89", mew=0.5,
                    zorder=5, clip_on=False)
    for gate in feats.get("gates", {}).values():
        x, y = gate["at"]
        half = gate["width_m"] / 2
        ax.plot([x - half, x + half], [y, y], color=COLOURS["gate_line"], lw=2.2, zorder=4, solid_capstyle="butt")
    if labels:
        _draw_labels(ax, gridmap)
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_aspect("equal")
    return image


def _draw_labels(ax, gridmap) -> None:
    feats = gridmap.features
    anchors = feats.get("labels", {})
    kinds = feats.get("place_kinds", {})
    halo = [patheffects.withStroke(linewidth=2.0, foreground="white", alpha=0.85)]
    small = max(gridmap.shape) * gridmap.cell_size > 400  # a city map rather than a toy
    for name, (x, y) in label_points(gridmap).items():
        if name in gridmap.exits or name in feats.get("gates", {}):
            continue
        kind = kinds.get(name, "")
        size, style, weight = LABEL_STYLE.get(kind, LABEL_STYLE[""])
        if not small:
            size += 2
        anchor = anchors.get(name, {})
        # the name as people know it (the id is in the map file), or the id made readable
        text = plain_text(anchor.get("text") or readable_name(name))
        if feats.get("kind") != "imported" and _is_estimated(gridmap, name):
            text += ESTIMATED_MARK
        offset = anchor.get("offset")
        kw = dict(fontsize=size, style=style, weight=weight, color="#1d1d1d", ha="center", va="center",
                  rotation=anchor.get("angle", 0.0), rotation_mode="anchor", path_effects=halo, zorder=6,
                  clip_on=True)
        if offset:  # a small place in a crowded spot: smaller type, with a leader line
            kw.update(fontsize=size - 1.5 if kind in ("square", "park") else size, weight="normal")
            ax.annotate(text, (x, y), xytext=(x + offset[0], y + offset[1]), textcoords="data",
                        arrowprops=dict(arrowstyle="-", color="#444444", lw=0.5), **kw)
        else:
            ax.text(x, y, text, **kw)
    names = feats.get("obstacle_names", {})
    for oid, poly in feats.get("obstacles", {}).items():
        pts = np.asarray(poly)[:-1]
        cx, cy = pts.mean(axis=0)
        text = names.get(oid, oid) + (ESTIMATED_MARK if _is_estimated(gridmap, oid) else "")
        if np.ptp(pts[:, 0]) < 8 * len(text):  # too narrow for one line
            text = text.replace(" ", "\n", 1)
        ax.text(cx, cy, text, fontsize=5.0, color="white", ha="center", va="center", zorder=6, linespacing=0.9,
                clip_on=True)
    for lid, mark in feats.get("landmarks", {}).items():
        if lid not in LANDMARK_SHORT:
            continue
        x, y = mark["at"]
        ax.plot([x], [y], marker="o", ms=2.5, color="#222222", zorder=6)
        ax.text(x + 4, y, LANDMARK_SHORT[lid], fontsize=4.5, color="#222222", ha="left", va="center",
                path_effects=halo, zorder=6, clip_on=True)


def legend_handles(gridmap) -> list:
    """Legend entries for what ``draw_map`` shows."""
    c = COLOURS
    handles = [Patch(fc=c["built"], ec="#999999", lw=0.5, label="built-up (not walkable)"),
               Patch(fc=c["floor"], ec="#999999", lw=0.5, label="street / floor (walkable)")]
    if gridmap.features.get("kind") == "builtin":
        handles += [Patch(fc=c["square"], ec="none", label="square, open ground"),
                    Patch(fc=c["park"], ec="none", label="park"),
                    Patch(fc=c["grounds"], ec="none", label="fenced grounds (walkable)"),
                    Patch(fc=c["landmark"], ec="#333333", lw=0.4, label="landmark building (not walkable)"),
                    Line2D([], [], color=c["fence"], lw=1.2, label="fence (not walkable)"),
                    Patch(fc=c["gate"], ec="none", label="gate apron"),
                    Line2D([], [], color=c["gate_line"], lw=3, label="main gate (a scenario may close it)"),
                    Line2D([], [], ls="none", marker=">", ms=5, color=c["exit"], mec="#1f4e89", mew=0.5,
                           label="exit (agents leave the map)")]
    elif gridmap.features.get("kind") == "imported":
        handles[0] = Patch(fc=c["built"], ec="#999999", lw=0.5, label="buildings, walls, water (not walkable)")
        handles += [Patch(fc=c["square"], ec="none", label="square, pedestrian area"),
                    Patch(fc=c["park"], ec="none", label="park"),
                    Line2D([], [], ls="none", marker=">", ms=5, color=c["exit"], mec="#1f4e89", mew=0.5,
                           label="exit (agents leave the map)")]
    else:
        colours = place_colours(gridmap)
        handles += [Patch(fc=colours[n], ec="none", label=n) for n in gridmap.places if n not in gridmap.exits]
        if gridmap.exits:
            handles.append(Patch(fc=c["exit"], ec="none", label="exit: " + ", ".join(gridmap.exits)))
    return handles


SCALE_BAR_M = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_HALO = [patheffects.withStroke(linewidth=2.0, foreground="white")]


def scale_bar(ax, *, fontsize: float = 8.0) -> float:
    """A black-and-white bar of a round length near an eighth of the view, bottom left, labelled
    in metres; drawn for the axes' current limits (set them first). Returns its length in m."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    bar = max(v for v in SCALE_BAR_M if v <= max(w / 8, 1))
    bx, by = x0 + w * 0.04, y0 + h * 0.04
    ax.plot([bx, bx + bar], [by, by], color="black", lw=3, solid_capstyle="butt", zorder=9, clip_on=False)
    ax.plot([bx, bx + bar / 2], [by, by], color="white", lw=1.4, solid_capstyle="butt", zorder=10, clip_on=False)
    ax.text(bx + bar / 2, by + h * 0.015, f"{bar:g} m", ha="center", va="bottom", fontsize=fontsize, zorder=10,
            path_effects=_HALO, clip_on=False)
    return bar


def north_arrow(ax, *, fontsize: float = 9.0) -> None:
    """An arrow pointing north (up: every map here has y north), top right of the axes. A line and
    a marker rather than an annotation arrow, whose clipping costs ~30 ms a panel."""
    kw = dict(transform=ax.transAxes, color="black", zorder=10, clip_on=False)
    ax.plot([0.95, 0.95], [0.85, 0.935], lw=1.2, solid_capstyle="butt", **kw)
    ax.plot([0.95], [0.935], marker="^", ms=fontsize * 0.8, mew=0, **kw)
    ax.text(0.95, 0.83, "N", ha="center", va="top", fontsize=fontsize, weight="bold", path_effects=_HALO, **kw)


def has_estimated_labels(gridmap) -> bool:
    """Whether :func:`draw_map` marks some place name with :data:`ESTIMATED_MARK`."""
    return any(_is_estimated(gridmap, name) for name in (*gridmap.places, *gridmap.features.get("obstacles", {})))


def _footnote(gridmap) -> str:
    feats = gridmap.features
    if feats.get("kind") == "imported":
        return plain_text(feats.get("footnote", ""))
    if feats.get("kind") != "builtin":
        return "'#' wall, '.' floor, letters: places and exits (see the legend)"
    conf = feats.get("confidence", {})
    streets = feats.get("streets", {})
    osm = [streets[s].get("name", s) for s in streets if str(conf.get(s, "")).startswith("sourced_osm")]
    lines = [ESTIMATED_NOTE + " (White House, its fence and gate, museum, squares, parks, minor streets).",
             "Street centrelines from OpenStreetMap (5-15 m): " + ", ".join(osm) + ". "
             "Grades and sources of every feature: sim/geo/maps/" + gridmap.name + ".json."]
    return "\n".join(lines)


def save_map_png(gridmap, path, *, labels: bool = True, dpi: int = 150) -> Path:
    """A stand-alone figure of the map (title, legend, scale bar, notes) written to ``path`` as PNG."""
    w, h = gridmap.size_m
    width_in = 12.0
    map_h = width_in * 0.72 * h / w
    fig = Figure(figsize=(width_in, map_h + 1.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    draw_map(ax, gridmap, labels=labels)
    scale_bar(ax)
    north_arrow(ax)
    ax.set_xlabel("metres east", fontsize=8)
    ax.set_ylabel("metres north", fontsize=8)
    ax.tick_params(labelsize=7)
    title = plain_text(gridmap.features.get("title", gridmap.name))
    nx, ny = gridmap.shape
    which = f"map '{gridmap.name}', " if gridmap.features.get("kind") in ("builtin", "imported") else ""
    ax.set_title(f"{title}\n{which}{gridmap.cell_size:g} m cells ({nx} x {ny})", fontsize=11)
    handles = legend_handles(gridmap)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
              borderaxespad=0.0)
    fig.supxlabel(_footnote(gridmap), x=0.01, ha="left", fontsize=7, color="#333333")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, lambda fh: fig.savefig(fh, dpi=dpi, format="png"))  # never half a picture under its name
    return path
