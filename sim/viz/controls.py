"""Reset, play and step, as Mesa's ``ModelController`` draws them, but never running a model that is not
there: Play and Step are disabled while the model is still being built (and its kernels compile),
when building it failed (a bad seed: the error shows, nothing stale keeps running), while a step is
under way (extra clicks do not queue up) and when the run is over.

``install()`` puts :func:`Controls` in place of Mesa's ``ModelController``, which ``SolaraViz`` looks up
by name when it renders.
"""

from __future__ import annotations

import time
import traceback

import mesa.visualization.solara_viz as solara_viz
import solara
import solara.lab
from mesa.visualization.utils import force_update, update_counter


def can_run(model) -> bool:
    """A model the page may step: built, without an error, not finished, not in the middle of a jump."""
    return bool(getattr(model, "ready", True) and not getattr(model, "error", None) and model.running
                and not getattr(model, "busy", None))


@solara.component
def Controls(model: solara.Reactive, *, renderer=None, model_parameters=None, play_interval=100,
             render_interval=1, use_threads=False):
    """Mesa's ``ModelController`` signature (``renderer`` and ``use_threads`` are ignored)."""
    update_counter.get()
    playing = solara.use_reactive(False)
    busy = solara.use_reactive(False)
    error_message = solara.use_reactive(None)
    model_parameters = solara.use_reactive({} if model_parameters is None else model_parameters)
    play_interval = solara.use_reactive(play_interval)
    render_interval = solara.use_reactive(render_interval)
    current = model.value

    def advance():
        busy.set(True)
        try:
            for _ in range(render_interval.value):
                if not can_run(current):
                    break
                current.step()
        finally:
            busy.set(False)
        force_update()

    def play():
        try:
            while playing.value and can_run(model.value) and model.value is current:
                time.sleep(play_interval.value / 1000)
                advance()
            playing.set(False)
        except Exception as e:  # noqa: BLE001 - shown under the buttons
            error_message.set(f"error in step: {e}")
            traceback.print_exc()
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value, current], prefer_threaded=True)

    def do_step():
        if can_run(current) and not busy.value:
            advance()

    def do_reset():
        error_message.set(None)
        playing.set(False)
        kwargs = solara_viz._build_model_init_kwargs(current, model_parameters.value, add_scenario_when_empty=True,
                                                     require_model_accepts_scenario=True)
        try:
            model.value = type(current)(**kwargs)
        except Exception as e:  # noqa: BLE001 - the old model must not keep running either
            error_message.set(f"could not build the model: {e}")
            current.running = False
        force_update()

    runnable = can_run(current)
    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=do_reset, disabled=bool(getattr(current, "busy", None)))
        solara.Button(label="▶" if not playing.value else "❚❚", color="primary",
                      on_click=lambda: playing.set(not playing.value), disabled=not runnable)
        solara.Button(label="Step", color="primary", on_click=do_step,
                      disabled=playing.value or busy.value or not runnable)
    if busy.value and not playing.value:
        solara.ProgressLinear(True, classes=["protest-busy"])
    if getattr(current, "error", None):
        solara.Text("Play and Step are off: fix the value and press Reset.", style={"font-size": "0.8rem"})
    if error_message.value:
        solara.Error(label=error_message.value)


def install() -> None:
    solara_viz.ModelController = Controls
