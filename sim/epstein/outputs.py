"""Epstein's model's data dictionary: unit and meaning of every column and summary key a run writes
(``sim.schema``; ``docs/outputs.md`` is rendered from it by ``scripts/write_outputs_doc.py``)."""

from __future__ import annotations

from ..schema import Dictionary, Entry, common_summary

_COUNTS = {
    "quiet": "citizens neither active nor jailed",
    "active": "citizens openly rebelling: grievance minus risk times the arrest chance they see exceeds the "
              "threshold",
    "jailed": "citizens in jail (cops are never counted: their number is fixed)",
}

TIMESERIES = (
    Entry("step", "integer", "steps", "steps since the start (0: the start)"),
    Entry("time_s", "number", "steps", "the same as step: Epstein's model has no clock, a step is its time unit"),
    Entry("clock", "text", "", "'step N': the model has no clock time"),
    *(Entry(name, "integer", "citizens", meaning) for name, meaning in _COUNTS.items()),
    Entry("legitimacy", "number", "", "the regime's legitimacy L (0-1) at that step"),
)

EVENTS = tuple(Entry(name, kind, unit, "no rows: an Epstein run has no events")
               for name, kind, unit in (("time_s", "number", "steps"), ("clock", "text", ""), ("kind", "text", ""),
                                        ("label", "text", ""), ("detail", "text", "")))

SUMMARY = (
    *common_summary("one step"),
    Entry("model", "text", "", "epstein_2002"),
    Entry("grid", "list", "cells", "[width, height] of the torus"),
    Entry("citizens", "integer", "citizens", "citizens on the grid"),
    Entry("cops", "integer", "cops", "cops on the grid"),
    Entry("variants.arrest_ratio", "text", "", "how the cops-to-actives ratio is rounded: floor or round"),
    Entry("variants.neighbourhood", "text", "", "what an agent sees: von_neumann or moore"),
    Entry("variants.jailed", "text", "", "what the jailed do: leave_grid, or keep_cell (keep blocking it)"),
    *(Entry(f"final_counts.{name}", "integer", "citizens", f"at the end: {meaning}") for name, meaning in _COUNTS.items()),
    *(Entry(f"mean_counts.{name}", "number", "citizens", f"mean over the steps after the start: {meaning}")
      for name, meaning in _COUNTS.items()),
    Entry("peak_active", "integer", "citizens", "most citizens active at once"),
    Entry("outbursts", "list", "", "each outburst: first_step, last_step (steps) and peak_active (citizens)"),
    Entry("outburst_definition", "text", "", "what counts as an outburst"),
)

DICTIONARY = Dictionary(
    kind="epstein_2002",
    about="An Epstein run (scenario files with model = \"epstein_2002\") writes the counts of every step and a "
          "summary; its time unit is a step.",
    files={
        "timeseries.parquet": ("One row per step, the start included.", TIMESERIES),
        "events.csv": ("The contract's columns, no rows.", EVENTS),
        "summary.json": ("The run in numbers (keys are paths into the JSON objects).", SUMMARY),
    },
)
