"""The page of ``protest-sim viz RUN_DIR``: Mesa's controls play the recording, the "Jump to a moment"
card scrubs it, and the main area is the live page's (passed in as ``main``), so a replay looks like
the run did."""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from .replay import ReplayModel
from .timeline import Timeline


@solara.component
def RecordingInfo(model):
    update_counter.get()
    if not model.ready or model.recording is None:
        solara.Text("reading..." if not model.error else "failed", style={"font-size": "0.8rem"})
        return
    rec = model.recording
    solara.Text(f"replaying {rec.path}: {rec.spec.name}, seed {rec.seed}, a frame every {rec.every_s:g} s "
                f"to {model.sim.clock if rec.end_s == model.sim.time_s else rec.spec.end}. Nothing is recomputed"
                + (f"; {rec.gas_note}." if rec.gas_note else "."),
                classes=["protest-replay-info"], style={"font-size": "0.8rem"})


@solara.component
def ReplayView(run_dir: str, main, play_interval: int, render_interval: int):
    """``main(model, built)``: the main-area component of the live page."""
    model = solara.use_reactive(solara.use_memo(lambda: ReplayModel(run_dir), [run_dir]))
    built = solara.use_reactive(None)

    def wait_for_model():
        current = model.value
        while not current.wait_ready(0.2):
            pass
        built.set(current)
        force_update()

    solara.use_thread(wait_for_model, dependencies=[model.value])
    SolaraViz(model, components=[], model_params={"run_dir": run_dir}, name="protest-sim replay",
              play_interval=play_interval, render_interval=render_interval)
    with solara.Sidebar():
        with solara.Card("Recorded run"):
            RecordingInfo(model.value)
        Timeline(model.value, built.value is model.value)
    main(model.value, built.value is model.value)
