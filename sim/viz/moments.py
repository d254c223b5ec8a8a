"""The moments a user jumps to: the scenario's events and triggers, the first use of force, and whatever
the model logs as it happens (the gate giving way, a trigger firing).

A moment has a time once it is known: a scenario event or a clock trigger from the file, anything
else from the model's log (live) or ``events.csv`` (a recorded run). Until then it is a thing to
*wait for*: fast-forwarding to it steps the model until the log shows it (or the run ends).

Nothing here imports solara or draws anything; ``fast_forward`` steps a model without rendering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

FIRST_FORCE = "first_force"
LOGGED_KINDS = ("event", "trigger", FIRST_FORCE, "gate")  # the log's markers worth a button
FIRST_FORCE_LABEL = "first use of force"


@dataclass(frozen=True)
class Moment:
    """``label`` names the button; ``time_s`` (seconds since the scenario's start) is None until known;
    ``kind`` and ``match`` say which log row makes it known (``match`` None: the first row of ``kind``)."""

    label: str
    kind: str
    match: str | None = None
    time_s: float | None = None

    def found_in(self, row: dict) -> bool:
        return row.get("kind") == self.kind and (self.match is None or row.get("label") == self.match)


def scenario_moments(spec) -> list[Moment]:
    """What a protest scenario promises: its events (at their clock time), its triggers (clock ones at
    their time, the rest to wait for) and, if it has police, the first use of force."""
    out = [Moment(e.label, "event", e.label, float(e.at_s)) for e in spec.events]
    for t in spec.triggers:
        out.append(Moment(t.label, "trigger", t.label, float(t.at_s) if t.when == "clock" else None))
    if spec.police:
        out.append(Moment(FIRST_FORCE_LABEL, FIRST_FORCE))
    return out


def with_log(moments: list[Moment], log) -> list[Moment]:
    """``moments`` with the times the log (rows with ``kind``, ``label``, ``time_s``) gives them, plus the
    log's other markers of :data:`LOGGED_KINDS` (the gate...), in time order; unknown ones last."""
    rows = [r for r in log if r.get("kind") in LOGGED_KINDS]
    out, used = [], set()
    for m in moments:
        hit = next((i for i, r in enumerate(rows) if i not in used and m.found_in(r)), None)
        if hit is not None:
            used.add(hit)
            m = Moment(m.label, m.kind, m.match, float(rows[hit]["time_s"]))
        out.append(m)
    labels = {m.label for m in out}
    for i, r in enumerate(rows):
        if i not in used and r["label"] not in labels:
            labels.add(r["label"])
            out.append(Moment(r["label"], r["kind"], r["label"], float(r["time_s"])))
    return sorted(out, key=lambda m: (m.time_s is None, m.time_s or 0.0))


def happened(moment: Moment, log) -> float | None:
    """The time the log shows ``moment`` at, or None."""
    return next((float(r["time_s"]) for r in log if moment.found_in(r)), None)


class Cancelled(Exception):
    """The user (or a new jump) stopped a fast-forward."""


def fast_forward(viz, *, to_s: float | None = None, until: Moment | None = None, progress=None,
                 should_stop=None, report_every_s: float = 0.25) -> float:
    """Step ``viz`` (a :class:`~sim.viz.session.VizModel`) without drawing until its time reaches ``to_s``
    or ``until`` shows up in its log, or the run ends; returns the model time it stopped at (seconds).

    ``progress(fraction)`` is called about every ``report_every_s`` of wall time (fraction of the way, 0-1;
    for a wait, of the run's remaining duration); ``should_stop()`` true raises :class:`Cancelled`."""
    sim = viz.sim
    start = sim.time_s
    goal = sim.duration_s if to_s is None else min(float(to_s), sim.duration_s)
    span = max(goal - start, 1e-9)
    last = time.perf_counter()
    while sim.running and sim.time_s < goal - 1e-9:
        if until is not None and happened(until, sim.events_log) is not None:
            break
        viz.step()
        now = time.perf_counter()
        if now - last >= report_every_s:
            last = now
            if should_stop is not None and should_stop():
                raise Cancelled()
            if progress is not None:
                progress(min(1.0, (sim.time_s - start) / span))
    if progress is not None:
        progress(1.0)
    return sim.time_s


def jump(viz, *, to_s: float | None = None, until: Moment | None = None, progress=None, should_stop=None) -> float:
    """Bring a live model to a moment: forward by stepping without drawing; back (or to a moment that has
    already happened) by re-running from the start with the same seed (:meth:`VizModel.restart`), which
    is deterministic, then stepping forward. Returns the model time reached (seconds)."""
    if until is not None:
        known = happened(until, viz.sim.events_log)
        if known is not None:
            to_s, until = known, None
    if to_s is not None and to_s < viz.sim.time_s - 1e-9:
        viz.restart()
    return fast_forward(viz, to_s=to_s, until=until, progress=progress, should_stop=should_stop)
