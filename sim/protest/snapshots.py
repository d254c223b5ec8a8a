"""Moments of a run the density figure shows: where the protesters, the police, the water cannon
trucks and the tear gas were. Kept at a few times only (the start, five minutes after each
scenario event, then evenly to the end), so a long run holds six copies of the positions at most.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.walk.state import INJURED, POLICE, PROTESTER

MAX_SNAPSHOTS = 6
AFTER_EVENT_S = 300.0  # a panel five minutes after each scenario event: the crowd has reacted


class Snapshot(NamedTuple):
    """One moment: positions are cell indices ``[x, y]``; the gas is in g/m^2 on its own coarser grid."""

    label: str  # "HH:MM"
    x: np.ndarray  # protesters on the map
    y: np.ndarray
    police_x: np.ndarray | None = None  # officers on the map and unhurt
    police_y: np.ndarray | None = None
    trucks_x: np.ndarray | None = None  # water cannon trucks
    trucks_y: np.ndarray | None = None
    gas: np.ndarray | None = None  # concentration, g/m^2, one value per gas cell
    gas_cell_m: float = 0.0  # side of a gas cell, m


def snapshot_times(event_times_s, duration_s: float) -> list[float]:
    """The start, five minutes after each event, then evenly to the end (six at most), in seconds."""
    times = [0.0] + [min(t + AFTER_EVENT_S, duration_s) for t in event_times_s]
    times = sorted(set(times))[: MAX_SNAPSHOTS - 1]
    extra = np.linspace(times[-1], duration_s, MAX_SNAPSHOTS - len(times) + 1)[1:]
    return sorted(set(times) | {float(t) for t in extra})


def take(model, trucks: np.ndarray) -> Snapshot:
    """The model's moment now; ``trucks`` are the agent indices of the water cannon trucks."""
    a = model.arrays
    on = a.on_map()
    protesters = (a.kind == PROTESTER) & on
    police = (a.kind == POLICE) & on & (a.state != INJURED)
    trucks = trucks[on[trucks] & (a.state[trucks] != INJURED)]
    gas = model.core.decisions.gas
    return Snapshot(model.clock[:5], a.x[protesters].copy(), a.y[protesters].copy(), a.x[police].copy(),
                    a.y[police].copy(), a.x[trucks].copy(), a.y[trucks].copy(),
                    gas.conc.astype(np.float32), float(gas.h))
