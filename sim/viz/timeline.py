"""The "Jump to a moment" card: a clock-time slider, a box for a typed time, and one button per moment
(the scenario's events and triggers, the first use of force, what the model logged).

Live, a jump forward steps the model without drawing (a progress bar shows how far, Play, Step and
Reset are off meanwhile, and "stop" ends it where it is); a jump back re-runs the run from its start
with the same seed, which gives the same run (it is deterministic), then steps forward. A moment
that has not happened yet (a trigger waiting for its crowd) is run to: the model steps until it shows
up in the log. In a replay (:class:`~sim.viz.replay.ReplayModel`) every jump is a look-up.
"""

from __future__ import annotations

import threading

import solara
import solara.lab
from mesa.visualization.utils import force_update, update_counter

from ..errors import ScenarioError
from ..protest.clock import clock_to_seconds, seconds_to_clock
from .moments import Cancelled, jump, scenario_moments, with_log

CSS = """
.protest-moments { margin-top: 10px; }
.protest-moment.v-btn { max-width: 100%; height: auto !important; min-height: 28px; padding: 2px 6px !important;
                        justify-content: flex-start; text-transform: none; letter-spacing: normal; }
.protest-moment .v-btn__content { white-space: normal; text-align: left; flex: 1 1 auto; line-height: 1.25; }
"""


def _clock(model, t: float) -> str:
    return seconds_to_clock(model.sim.spec.start_clock_s + t)


def parse_time(text: str, spec) -> float:
    """A typed clock time "HH:MM" or "HH:MM:SS" as seconds since the scenario's start (past midnight
    counts on); a one-line :class:`ScenarioError` if it is not one or lies outside the run."""
    t = clock_to_seconds(text.strip(), "time") - spec.start_clock_s
    if t < 0:
        t += 24 * 3600
    if not 0 <= t <= spec.duration_s:
        raise ScenarioError(f"{text.strip()} is outside the run ({spec.start}-{spec.end})")
    return float(t)


def moments_of(model):
    """The moments to offer: the scenario's, with the times the log gives them (a replay's log is its
    whole events.csv, so everything that happened has a time)."""
    spec = model.sim.spec
    log = model.recording.markers if hasattr(model, "recording") else model.sim.events_log
    return with_log(scenario_moments(spec), log)


@solara.component
def TimelineClock(model, end_s: float, busy: bool, go, on_log):
    """The part that follows every frame: the time now and the slider. It tells :func:`Timeline` (``on_log``)
    when the log grows, the run ends or the model is rebuilt, so the buttons are redrawn only then."""
    update_counter.get()
    sim = model.sim
    seen = (len(sim.events_log), bool(sim.running), id(sim))
    solara.use_effect(lambda: on_log(seen), [seen])
    now = int(round(sim.time_s))
    solara.Text(f"now {sim.clock} · the run goes to {_clock(model, end_s)}", classes=["protest-timeline-now"],
                style={"font-size": "0.85rem"})
    solara.SliderInt("Clock time", value=min(now, int(end_s)), min=0, max=int(end_s), step=1,
                     on_value=lambda v: go(to_s=float(v)), thumb_label=False, disabled=busy)


@solara.component
def Timeline(model, ready: bool):
    """``model``: the page's VizModel or ReplayModel (the object, not the reactive); ``ready``: its build has
    finished. Not redrawn every frame (the page must keep its frame rate): :func:`TimelineClock` is."""
    log_seen = solara.use_reactive(None)
    log_seen.value  # noqa: B018 - read, so a change redraws the buttons
    progress = solara.use_reactive(None)  # fraction of a jump done, None when idle
    message = solara.use_reactive("")
    typed = solara.use_reactive("")
    state = solara.use_memo(lambda: {"generation": 0, "lock": threading.Lock()}, [id(model)])
    replay = hasattr(model, "seek")

    def work(to_s, until, mine):
        with state["lock"]:  # the previous jump, told to stop, lets go first
            if mine != state["generation"]:
                return
            model.busy = "jumping"
            progress.set(0.0)
            force_update()
            try:
                back = to_s is not None and to_s < model.sim.time_s
                message.set("re-running from the start with the same seed" if back else "")
                reached = jump(model, to_s=to_s, until=until, progress=progress.set,
                               should_stop=lambda: mine != state["generation"])
                if until is not None and not any(until.found_in(r) for r in model.sim.events_log):
                    message.set(f"'{until.label}' did not happen before the run ended ({_clock(model, reached)})")
                else:
                    message.set("")
            except Cancelled:
                message.set(f"stopped at {model.sim.clock}")
            finally:
                model.busy = None
                progress.set(None)
                force_update()

    def go(to_s=None, until=None):
        """Live: in a thread (a newer jump stops this one); replay: at once."""
        if replay:
            model.seek(to_s)
            message.set("")
            force_update()
            return
        state["generation"] += 1
        task(to_s, until, state["generation"])

    def stop():
        state["generation"] += 1

    def typed_time(text):
        typed.set(text)
        try:
            go(to_s=parse_time(text, sim.spec))
        except ScenarioError as err:
            message.set(str(err))

    task = solara.lab.use_task(work, dependencies=None, prefer_threaded=True)
    if not ready or model.sim is None:
        return
    sim = model.sim
    end_s = model.end_s if replay else sim.duration_s
    busy = progress.value is not None
    solara.Style(CSS)
    with solara.Card("Jump to a moment"):
        TimelineClock(model, end_s, busy, go, log_seen.set)
        solara.InputText("Go to (HH:MM or HH:MM:SS)", value=typed.value, on_value=typed_time, disabled=busy)
        with solara.Column(gap="4px", classes=["protest-moments"]):
            for m in moments_of(model):
                if m.time_s is None and replay:
                    label, disabled = f"{m.label} (did not happen)", True
                elif m.time_s is None:
                    label, disabled = f"until: {m.label}", not sim.running
                else:
                    label, disabled = f"{_clock(model, m.time_s)[:5]} {m.label}", False
                solara.Button(label, small=True, text=True, disabled=busy or disabled, classes=["protest-moment"],
                              on_click=lambda m=m: go(to_s=m.time_s) if m.time_s is not None else go(until=m))
        if busy:
            solara.ProgressLinear(value=int(100 * progress.value), classes=["protest-jumping"])
            solara.Text(f"fast-forwarding without drawing: {sim.clock}", style={"font-size": "0.8rem"})
            solara.Button("stop", small=True, on_click=stop, classes=["protest-jump-stop"])
        if message.value:
            solara.Text(message.value, classes=["protest-jump-message"], style={"font-size": "0.8rem"})
        solara.Text("Replay: every jump is a look-up in the recording." if replay else
                    "Forward: the model runs without drawing. Back: the run is re-run from its start with the same "
                    "seed (it is deterministic, so it is the same run).", style={"font-size": "0.75rem", "color": "#666"})
