"""Mesa's model-parameter inputs with a typed value beside each slider (Mesa's sliders take no typing).

``install()`` puts :func:`UserInputs` in place of Mesa's, which ``ModelCreator`` looks up by name when
it renders. Slider and field show one value: dragging the slider fills the field, and a number typed
in the field (Enter or leaving it) moves the slider, kept inside the slider's range, and is used as
typed, between the slider's steps too (the slider shows the nearest step). Other input types
are Mesa's own.
"""

from __future__ import annotations

import mesa.visualization.solara_viz as solara_viz
import solara

_mesa_inputs = solara_viz.UserInputs


def clamp(value, low, high, integer: bool):
    """A typed value inside the slider's range (and whole for an integer slider)."""
    value = float(value)
    if low is not None:
        value = max(value, float(low))
    if high is not None:
        value = min(value, float(high))
    return int(round(value)) if integer else value


def snap(value, low, step):
    """Where the slider puts ``value``: the nearest step from ``low``."""
    return low + round((value - low) / step) * step


@solara.component
def TypedSlider(name: str, options: dict, on_change):
    integer = options.get("type") == "SliderInt"
    value = solara.use_reactive(options.get("value"))
    low, high = options.get("min"), options.get("max")

    step = options.get("step")

    def set_value(v):
        if v is None:
            return
        v = clamp(v, low, high, integer)
        value.set(v)
        on_change(name, v)

    def from_slider(v):
        # the slider rounds a typed value to its step and reports that back: keep the typed value
        if step and value.value is not None and abs(v - snap(value.value, low or 0, step)) < 1e-9 * max(1, abs(v)):
            return
        set_value(v)

    slider = solara.SliderInt if integer else solara.SliderFloat
    field = solara.InputInt if integer else solara.InputFloat
    with solara.Row(style={"align-items": "center", "gap": "6px"}, classes=["protest-typed-slider"]):
        with solara.Column(style={"flex": "1 1 auto", "min-width": "0"}):
            slider(options.get("label", name), value=value.value, on_value=from_slider, min=low, max=high, step=step)
        with solara.Column(style={"flex": "0 0 5.5em"}):
            field(label="", value=value.value, on_value=set_value, continuous_update=False,
                  classes=[f"protest-value-{name}"])


@solara.component
def UserInputs(user_params, on_change=None):
    """Mesa's ``UserInputs`` signature; sliders given as dicts get a number field beside them."""
    plain = {}
    for name, options in user_params.items():
        if isinstance(options, dict) and options.get("type") in ("SliderInt", "SliderFloat"):
            if plain:
                _mesa_inputs(plain, on_change=on_change)
                plain = {}
            TypedSlider(name, options, on_change)
        else:
            plain[name] = options
    if plain:
        _mesa_inputs(plain, on_change=on_change)


def install() -> None:
    solara_viz.UserInputs = UserInputs
