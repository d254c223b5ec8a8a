"""Case: frames per second of the browser view's map drawing with the 5 October crowd (5,000 protesters).

Times ``FrameRenderer.render`` (compositing the people, police, trucks and gas onto the map) and
``VizModel.frame_png`` (the same plus PNG encoding: exactly what the page does per frame) on the
Bishkek map. ``quick`` measures the crowd at the start with a tear-gas cloud put over the square;
the full case runs the scenario into the dispersal (20:25) first, so the crowd is spread over the
streets and the gas is real. The page's own frames are timed too: the density layer, and either
layer with a place clicked (its counts and the density at the click) and zoomed in.
Target: at least 5 frames per second, each of them.

``python benchmarks/viz_frames.py [--quick]`` prints the JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "bishkek_2020_10_05.toml"
TARGET_FPS = 5.0


def _fps(fn, frames: int, repeats: int) -> float:
    fn()  # warm-up
    per_frame = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(frames):
            fn()
        per_frame.append((time.perf_counter() - t0) / frames)
    return 1.0 / float(np.median(per_frame))


def _gas_over_the_square(sim) -> None:
    """A cloud of a dozen canisters over the rally, spread for a minute (quick mode has no dispersal yet)."""
    gas, gm = sim.core.decisions.gas, sim.gridmap
    xs, ys = np.nonzero(gm.place_mask("ala_too_square") if "ala_too_square" in gm.places else gm.walkable == 1)
    pick = np.linspace(0, xs.size - 1, 12).astype(int)
    for x, y in zip(xs[pick], ys[pick]):
        gas.emit(int(x), int(y), 50.0)
    for _ in range(120):
        gas.step(0.5)


def _page_frame(model, layer: str, place: str | None, zoom: int = 1) -> None:
    """What the page does per frame (``sim.viz.map_view.MapView``): the layer's picture cropped to the view,
    PNG, base64 for the page; with a place clicked, its counts and the density around the click."""
    import base64

    from sim.viz.density import place_counts
    from sim.viz.frame import encode_png
    from sim.viz.map_view import density_layer, picture
    from sim.viz.viewport import Viewport

    img, _, _ = picture(model, layer, Viewport(zoom, 0.5, 0.5))
    base64.b64encode(encode_png(img))
    if place is not None:
        place_counts(model.sim, place)
        density_layer(model.renderer).density(model.sim)


def run(quick: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from sim.protest.scenario import clock_to_seconds
    from sim.viz.session import VizModel

    t0 = time.perf_counter()
    model = VizModel(scenario_file=str(SCENARIO), background=False)
    if model.error:
        raise RuntimeError(model.error)
    build_s = time.perf_counter() - t0
    sim = model.sim
    if quick:
        _gas_over_the_square(sim)
        moment = "start, gas over the square"
    else:
        until = clock_to_seconds("20:25") - sim.spec.start_clock_s
        while sim.time_s < until:
            sim.step()
        moment = f"dispersal at {sim.clock}"
    renderer = model.renderer
    place = "ala_too_square" if "ala_too_square" in sim.gridmap.places else sim.gridmap.places[0]
    frames, repeats = (10, 3) if quick else (40, 5)
    png = model.frame_png()
    on_map = int((sim.arrays.x >= 0).sum())
    protesters = int(((sim.arrays.kind == 0) & (sim.arrays.x >= 0)).sum())
    result = {
        "scenario": SCENARIO.name,
        "moment": moment,
        "agents_on_map": on_map,
        "protesters_on_map": protesters,
        "gas_grams": round(sim.core.decisions.gas.mass(), 1),
        "picture_px": [renderer.width, renderer.height],
        "metres_per_pixel": renderer.metres_per_pixel,
        "png_kb": round(len(png) / 1024, 1),
        "model_build_s": round(build_s, 2),
        "compose_fps": round(_fps(lambda: renderer.render(sim), frames, repeats), 1),
        "frame_png_fps": round(_fps(model.frame_png, frames, repeats), 1),
        "frame_png_zoomed_fps": round(_fps(lambda: model.frame_png(zoom=True), frames, repeats), 1),
        "density_png_fps": round(_fps(lambda: _page_frame(model, "density", None), frames, repeats), 1),
        "page_state_clicked_fps": round(_fps(lambda: _page_frame(model, "state", place), frames, repeats), 1),
        "page_density_zoom4_clicked_fps": round(_fps(lambda: _page_frame(model, "density", place, zoom=4),
                                                     frames, repeats), 1),
    }
    fps = [result[k] for k in ("frame_png_fps", "density_png_fps", "page_state_clicked_fps",
                               "page_density_zoom4_clicked_fps")]
    result["meets_target"] = min(fps) >= TARGET_FPS
    result["target"] = f">= {TARGET_FPS:g} frames/s (render + PNG) with 5,000 protesters"
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
