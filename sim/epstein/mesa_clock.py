"""Running many of a Mesa model's steps at once and leaving Mesa's clock and DataCollector as
Mesa's own event loop would: every use of Mesa's internals by ``sim.epstein.model`` is here.

Mesa 3.5's ``Model.run_for`` / ``run_until`` pop the model's step events one by one from its
event list, calling ``step`` for each, and the model's DataCollector appends one row per
``collect``. ``EpsteinModel`` runs the steps due in one call of its engine instead, so it must
(1) know that its own steps are all that is scheduled, (2) move the step schedule past the
steps it ran, and (3) append the DataCollector's rows of those steps. Mesa offers public API
for part of this (``Model.time`` and ``steps``, ``EventGenerator.schedule``,
``next_scheduled_time``, ``pause`` and ``resume``, ``DataCollector.model_reporters``); the rest
reads or writes attributes Mesa keeps private, named in each function's docstring.
``tests/test_epstein_scenario.py`` checks that they still exist and behave as assumed, and that a
batched run leaves a model exactly as Mesa's loop does (``test_mesa_clock_*``).
"""

from __future__ import annotations

import math

import mesa
from mesa.time import EventGenerator


def step_schedule(model: mesa.Model) -> EventGenerator:
    """The recurring event that steps the model once per time unit (through ``Model._do_step``,
    which counts ``model.steps`` and calls the model's own ``step``).

    Mesa internal: ``Model._default_schedule``, made by ``Model.__init__`` (Mesa offers no public
    way to reach it)."""
    return model._default_schedule


def due_step_times(model: mesa.Model, until: float) -> list[float]:
    """The times of the steps Mesa's loop would run from ``model.time`` to ``until`` (inclusive),
    if the model's step schedule is all there is to run by then: it is active, once per time unit
    with no end or count, and nothing else is on the event list. Otherwise, or if no step is due,
    an empty list: the caller lets Mesa's loop run.

    Mesa internal: ``Model._event_list`` (its ``len`` counts the events not cancelled; there is no
    public view of what is scheduled)."""
    schedule = step_schedule(model)
    first = schedule.next_scheduled_time
    plan = schedule.schedule
    if first is None or not schedule.is_active or len(model._event_list) != 1:
        return []
    if callable(plan.interval) or plan.interval != 1 or plan.end is not None or plan.count is not None:
        return []
    if until < first:
        return []
    return [first + k for k in range(math.floor(until - first) + 1)]


def finish_steps(model: mesa.Model, times: list[float], until: float) -> None:
    """Leave Mesa's clock as its loop leaves it after running the steps at ``times`` (from
    :func:`due_step_times`) and stopping at ``until``: the step due at ``times[0]`` is off the
    event list, ``model.steps`` counts the steps, the step schedule has run them and its next step
    is due a time unit after the last, ``model.time`` is ``until``.

    The next step is scheduled through Mesa's public ``EventGenerator.pause`` and ``resume``
    (``resume`` schedules it at ``model.time`` plus the interval, as the loop does after each
    step). Mesa internals: ``Model._event_list.pop_event``, to take the due step off the list as
    the loop does (cancelling it instead would leave it on the list, one more per batch, each
    counted by every ``len`` of the list); ``EventGenerator._execution_count``, which the loop
    increments per step and nothing public can. Observers of ``model.time`` (a Mesa
    ``Observable``) see it set to the last step's time, then to ``until``, not once per step."""
    schedule = step_schedule(model)
    due = model._event_list.pop_event()
    if due.time != times[0]:
        raise RuntimeError(f"Mesa's next event is at {due.time}, not at the step due at {times[0]}")
    schedule.pause()  # forgets the event just popped
    model.time = times[-1]  # the last step's time, as during its execution
    schedule.resume()
    schedule._execution_count += len(times)
    model.steps += len(times)
    model.time = until


def collects_exactly(collector: mesa.DataCollector, reporters: dict[str, str]) -> bool:
    """Whether ``collector`` collects exactly the model attributes ``reporters`` (column: attribute
    name) and nothing else, so that its rows can be written without calling ``collect``."""
    return collector.model_reporters == reporters and not collector.agent_reporters and \
        not collector.agenttype_reporters


def append_rows(collector: mesa.DataCollector, columns: dict[str, list], times: list[float]) -> None:
    """Append to ``collector`` the rows ``collect`` would have appended at ``times``: ``columns``
    holds each model reporter's values, one per time. For a collector that
    :func:`collects_exactly` attribute names (``collect`` then stores ``getattr(model, name)``).

    Mesa internals: ``DataCollector.model_vars`` (a list of values per reporter; public but
    written only by ``collect``) and ``DataCollector._collection_steps`` (the model time of
    each row, appended by ``collect``, and only where the attribute exists, as Mesa does)."""
    for name, values in columns.items():
        collector.model_vars[name].extend(values)
    if hasattr(collector, "_collection_steps"):
        collector._collection_steps.extend(times)
