"""The map card's picture and its tools: the layer (people by state or density), zoom and pan, the
legend or the density scale, and the counts of the place last clicked.

The picture is :mod:`sim.viz.frame`'s (people by state) or :mod:`sim.viz.density`'s, cropped to the
:class:`~sim.viz.viewport.Viewport` and shown by a small Vue component (``map_picture.vue``) that
reports where it was clicked, as shares of the picture, so the click can be traced back to a map cell
whatever size the browser draws it at.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from ..geo.render import COLOURS
from .density import MARK_LABELS, MARKS, SCALE_MAX, DensityLayer, colour_of, place_at, place_counts
from .export_view import ExportRow
from .frame import LEGEND, encode_png
from .viewport import Viewport, cell_at

CSS = """
.protest-map-tools .v-btn:not(.v-btn-toggle > .v-btn) { min-width: 30px !important; padding: 0 6px !important; }
.protest-map-tools .v-btn-toggle > .v-btn { height: 30px !important; font-size: 0.75rem; }
.protest-map-tools .v-input--checkbox { margin-top: 0; padding-top: 0; }
"""
LAYERS = {"people by state": "state", "density (people/m2)": "density"}
_layers: dict[int, DensityLayer] = {}
_layers_lock = threading.Lock()


def density_layer(renderer) -> DensityLayer:
    """One density layer per renderer (that is, per map), built on first use."""
    with _layers_lock:
        layer = _layers.get(id(renderer))
        if layer is None or layer.renderer is not renderer:
            if len(_layers) >= 4:
                _layers.pop(next(iter(_layers)))
            layer = _layers[id(renderer)] = DensityLayer(renderer)
        return layer


def picture(model, layer: str, view: Viewport, crowd: bool = False):
    """(shown RGB array, the full picture's shape, the box shown) of the model as it stands."""
    with model.lock:
        r = model.renderer
        img = density_layer(r).render(model.sim) if layer == "density" else r.render(model.sim)
        box = r.crowd_box(img.shape, model.sim) if crowd else view.box(img.shape)
    r0, r1, c0, c1 = box
    return img[r0:r1, c0:c1], img.shape, box


def _hex(rgb01) -> str:
    return "#%02x%02x%02x" % tuple(int(round(v * 255)) for v in rgb01)


def legend_items(gridmap) -> list[tuple[str, str, str]]:
    """(label, colour, shape) of everything the state layer draws on this map: people, police, trucks and
    gas (:data:`sim.viz.frame.LEGEND`), then the map's own marks (``sim.geo.render.draw_map``)."""
    out = [(name, colour, "chip") for name, colour in LEGEND]
    feats = gridmap.features
    out.append(("floor (walkable)", _hex(COLOURS["floor"]), "chip"))
    out.append(("buildings, no way through", _hex(COLOURS["built"]), "chip"))
    if gridmap.exits:
        out.append(("exit (people leave the map)", _hex(COLOURS["exit"]), "chip"))
    if feats.get("gates"):
        out.append(("gate", _hex(COLOURS["gate_line"]), "line"))
    if feats.get("obstacles"):
        out.append(("landmark", _hex(COLOURS["landmark"]), "chip"))
    if feats.get("barriers"):
        out.append(("fence", _hex(COLOURS["fence"]), "line"))
    return out


@solara.component
def Legend(gridmap):
    with solara.Row(gap="0px", style={"flex-wrap": "wrap", "font-size": "0.85rem"}, classes=["protest-legend"]):
        for name, colour, shape in legend_items(gridmap):
            style = f"background:{colour}" + (";height:0.25em;border:none" if shape == "line" else "")
            solara.HTML(tag="span", unsafe_innerHTML=f'<span class="protest-legend-chip" style="{style}"></span>{name}')
        solara.Text("; a pixel's colour is the most serious state among the people in it",
                    style={"font-size": "0.85rem"})


@solara.component
def DensityScale(cell_size: float, side_m: float):
    """The colour scale 0 to 8 people per m2 with its marks at 4 and 6, and the most the grid can hold."""
    stops = ", ".join(f"{colour_of(v)} {v / SCALE_MAX * 100:.1f}%" for v in np.linspace(0, SCALE_MAX, 33))
    ticks = "".join(f'<span style="position:absolute;left:{v / SCALE_MAX * 100:.1f}%;transform:translateX(-50%)">'
                    f'{v:g}</span>' for v in range(0, int(SCALE_MAX) + 1, 2) if v not in MARKS)
    marks = "".join(f'<span class="protest-density-mark" style="position:absolute;left:{m / SCALE_MAX * 100:.1f}%;'
                    f'transform:translateX(-50%);font-weight:600">{m:g}</span>' for m in MARKS)
    lines = "".join(f'<div style="position:absolute;left:{m / SCALE_MAX * 100:.1f}%;top:0;bottom:0;width:2px;'
                    f'background:#000"></div>' for m in MARKS)
    notes = " · ".join(MARK_LABELS[m] for m in MARKS)
    solara.HTML(tag="div", classes=["protest-density-scale"], unsafe_innerHTML=(
        f'<div style="font-size:0.8rem">people per m2 in the {side_m:g} m square around each point (everyone on '
        f'the map, police too, over the floor in it); '
        f'{notes}; {SCALE_MAX:g} and over drawn alike. One person a cell at most: with {cell_size:g} m cells '
        f'no more than {1 / cell_size ** 2:g} per m2</div>'
        f'<div style="position:relative;height:14px;margin:2px 12px;background:linear-gradient(to right, {stops});'
        f'border:1px solid #0004">{lines}</div>'
        f'<div style="position:relative;height:1.2em;margin:0 12px;font-size:0.8rem">{ticks}{marks}</div>'))


@solara.component_vue(str(Path(__file__).with_name("map_picture.vue")))
def MapPicture(src: str, classes: list = [], event_picked: Callable | None = None):  # noqa: B006
    pass


def _describe(sim, place: str, here: float | None, side_m: float) -> str:
    c = place_counts(sim, place)
    states = " · ".join(f"{n} {v}" for n, v in c["by_state"].items() if v and n != "left")
    text = (f"{c['name']}: {c['protesters']} protesters" + (f" ({states})" if states else "") +
            f", {c['police']} police; {c['area_m2']:,.0f} m2 of floor, {c['density']:.2f} people/m2")
    if here is not None:
        text += f"; {here:.1f} people/m2 in the {side_m:g} m square at the point clicked"
    return text


@solara.component
def MapView(model, crisp: bool):
    """The picture (click it for a place's counts), layer and zoom tools, the legend or density scale."""
    update_counter.get()
    layer_label = solara.use_reactive("people by state")
    view = solara.use_reactive(Viewport())
    crowd = solara.use_reactive(False)
    picked = solara.use_reactive(None)  # (place, x, y) last clicked
    shown = solara.use_ref(None)  # (shape, box) of the picture on screen, for clicks
    layer = LAYERS[layer_label.value]
    sim = model.sim
    solara.Style(CSS)
    img, shape, box = picture(model, layer, view.value, crowd.value)
    shown.current = (shape, box)
    png = encode_png(img)

    def on_pick(data):
        where = shown.current
        if where is None:
            return
        x, y = cell_at(model.renderer, *where, float(data["fx"]), float(data["fy"]))
        picked.set((place_at(sim.gridmap, x, y), x, y))

    zoomed = crowd.value or view.value.zoom > 1
    MapPicture(src="data:image/png;base64," + base64.b64encode(png).decode(),
               classes=["protest-map"] + (["protest-map-crisp"] if zoomed or crisp else []), event_picked=on_pick)
    # under the picture, so the picture stays put when the tools wrap on a narrow window
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "4px"}, classes=["protest-map-tools"]):
        solara.ToggleButtonsSingle(value=layer_label, values=list(LAYERS), classes=["protest-layer"])
        solara.Button("−", on_click=lambda: view.set(view.value.zoomed(-1)), disabled=crowd.value or view.value.zoom == 1,
                      classes=["protest-zoom-out"], small=True)
        solara.Text(f"zoom {view.value.zoom}x", classes=["protest-zoom"], style={"font-size": "0.85rem"})
        solara.Button("+", on_click=lambda: view.set(view.value.zoomed(+1)), disabled=crowd.value,
                      classes=["protest-zoom-in"], small=True)
        for label, east, south in (("←", -1, 0), ("↑", 0, -1), ("↓", 0, 1), ("→", 1, 0)):
            solara.Button(label, on_click=lambda e=east, s=south: view.set(view.value.panned(e, s)),
                          disabled=crowd.value or view.value.zoom == 1, small=True, classes=["protest-pan"])
        solara.Checkbox(label="zoom to the crowd", value=crowd)
    if layer == "density":
        DensityScale(sim.gridmap.cell_size, density_layer(model.renderer).side_m)
    else:
        Legend(sim.gridmap)
    if picked.value is None:
        solara.Text("Click the map for the counts of a place.", classes=["protest-place"],
                    style={"font-size": "0.85rem", "color": "#555"})
    else:
        place, x, y = picked.value
        r = model.renderer
        dl = density_layer(r)
        with model.lock:
            d = dl.density(sim)
        here = float(d[r.height - 1 - y // r.step, x // r.step])
        text = _describe(sim, place, here, dl.side_m) if place else \
            f"no place here; {here:.1f} people/m2 in the {dl.side_m:g} m square at the point clicked"
        solara.Text(text, classes=["protest-place"], style={"font-size": "0.85rem"})
    ExportRow(model, lambda: png)  # the picture as shown: this layer, this zoom, this moment
