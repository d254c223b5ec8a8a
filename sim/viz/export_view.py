"""The map card's export buttons: the picture as shown (PNG), the time series and events so far (CSV)
and the settings of the run on screen (scenario TOML), downloaded through the page itself (solara's
``FileDownload``: the file is made when the button is pressed, nothing leaves the machine)."""

from __future__ import annotations

from typing import Callable

import solara

from .export import events_csv, file_stem, settings_toml, timeseries_csv


@solara.component
def ExportRow(model, picture_png: Callable[[], bytes]):
    sim = model.sim
    stem = file_stem(sim)

    def under_lock(fn):
        def made():
            with model.lock:  # not halfway through a step
                return fn(sim)
        return made

    with solara.Row(style={"flex-wrap": "wrap", "gap": "4px", "align-items": "center"}, classes=["protest-export"]):
        solara.Text("Export:", style={"font-size": "0.85rem"})
        solara.FileDownload(picture_png, filename=f"{stem}.png", label="picture (PNG)", mime_type="image/png")
        solara.FileDownload(under_lock(timeseries_csv), filename=f"{stem}_timeseries.csv", label="time series (CSV)",
                            mime_type="text/csv")
        solara.FileDownload(under_lock(events_csv), filename=f"{stem}_events.csv", label="events (CSV)",
                            mime_type="text/csv")
        solara.FileDownload(under_lock(settings_toml), filename=f"{stem}_settings.toml",
                            label="settings (scenario TOML)", mime_type="application/toml")
