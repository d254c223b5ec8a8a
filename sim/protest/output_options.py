"""``[output]``: what a run writes beyond its counts, events and summary. Every key has a default
that writes nothing more, so a scenario without the section runs and writes as before.

    [output]
    trajectories_every_s = 1.0   # trajectories.parquet: everyone's position every second (0: none)
    harm_cells = true            # harm_cells.parquet: per map cell, visits and injuries by cause
    harm_cell_m = 5.0            # side of a harm cell, m
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import span, table_to_dataclass

MAX_HARM_CELL_M = 100.0


@dataclass(frozen=True)
class Output:
    trajectories_every_s: float = 0.0  # s between frames of trajectories.parquet; 0: not written
    harm_cells: bool = False  # write harm_cells.parquet (the per-run input of `protest-sim harm`)
    harm_cell_m: float = 5.0  # m, side of a harm cell

    @property
    def trajectories(self) -> bool:
        return self.trajectories_every_s > 0

    def is_default(self) -> bool:
        return self == Output()


def parse_output(table, path: str = "output") -> Output:
    bounds = {"trajectories_every_s": span(0, 3600, "s"), "harm_cell_m": span(0.5, MAX_HARM_CELL_M, "m")}
    return table_to_dataclass(Output, table, path, bounds=bounds)
