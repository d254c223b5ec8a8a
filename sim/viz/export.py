"""What the page's export buttons hand out: the picture as PNG, the time series and the events as CSV
(the same columns as a run folder's ``timeseries.csv`` and ``events.csv``), and the current settings as a
scenario TOML that ``protest-sim run`` accepts.

The settings file is the scenario as the model on screen was built: the file's values with the sliders
applied (``Scenario.with_values``) and the seed the run used, written resolved (every default filled in,
map files as absolute paths), so it runs the same from any folder. Nothing here imports solara.
"""

from __future__ import annotations

import re

from ..protest.scenario import seconds_to_clock


def file_stem(sim) -> str:
    """``<scenario name>_<HHMMSS>``: the scenario and the moment, safe in a file name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", sim.spec.name).strip("_") or "protest"
    clock = seconds_to_clock(sim.spec.start_clock_s + sim.time_s).replace(":", "")
    return f"{name}_{clock}"


def settings_toml(sim) -> str:
    """The scenario of the run on screen (sliders applied, its seed) as TOML ``protest-sim run`` reads."""
    spec = sim.spec.with_seed(int(sim.seed))
    head = (f"# Exported from the protest-sim browser view at {sim.clock}: the scenario '{sim.spec.name}'\n"
            f"# with the sliders as they were and the run's seed. Run it with: protest-sim run THIS_FILE\n")
    return head + spec.to_toml()


def timeseries_csv(sim) -> bytes:
    """The time series so far (one row per recorded step), as a run folder's ``timeseries.csv``."""
    return sim.timeseries().to_csv(index=False).encode()


def events_csv(sim) -> bytes:
    """The events so far (scenario events, triggers, force, injuries, arrests), as ``events.csv``."""
    from ..protest.report import events_table

    return events_table(sim).to_csv(index=False).encode()
