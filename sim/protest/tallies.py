"""What one row of ``timeseries.parquet`` counts: people of each side by state and by place.

Protesters and police are counted apart, so no column mixes the two sides: a protester's state
is one of ``PROTESTER_STATES``; an officer is on duty, injured or gone (police are never active,
fleeing or arrested in this model). Exits are left out of the places: whoever steps on an exit
cell leaves the map in that step, so nobody is ever counted in one; who left by which exit is
counted by ``sim.protest.ledger`` instead.
"""

from __future__ import annotations

import numpy as np

from ..core.walk.state import ACTIVE, FLEEING, INJURED, LEFT, POLICE, PROTESTER, QUIET, STATE_NAMES

SIDES = ("protesters", "police")
PROTESTER_STATES = STATE_NAMES  # quiet, active, fleeing, injured, arrested, left
POLICE_STATES = ("on_duty", "injured", "left")
_N = len(STATE_NAMES)


def side_counts(arrays) -> dict[str, dict[str, int]]:
    """People per side and state now: ``{"protesters": {state: n}, "police": {state: n}}``."""
    counts = np.bincount(arrays.kind.astype(np.intp) * _N + arrays.state, minlength=2 * _N).tolist()
    protesters = counts[PROTESTER * _N:(PROTESTER + 1) * _N]
    police = counts[POLICE * _N:(POLICE + 1) * _N]
    return {"protesters": dict(zip(PROTESTER_STATES, protesters)),
            "police": {"on_duty": police[QUIET] + police[ACTIVE] + police[FLEEING], "injured": police[INJURED],
                       "left": police[LEFT]}}


def mind_columns(arrays, tired_energy: float) -> dict[str, float | int]:
    """Mean legitimacy L of the protesters on the map and unhurt (NaN if none), and how many of them are
    tired (energy below ``tired_energy``; with the dynamics off energy stays 1, so none)."""
    here = (arrays.kind == PROTESTER) & (arrays.x >= 0) & (arrays.state != INJURED)
    mean = float(arrays.legitimacy[here].mean()) if here.any() else float("nan")
    return {"protesters_mean_legitimacy": mean,
            "protesters_tired": int((arrays.energy[here] < tired_energy).sum())}


def state_columns() -> list[str]:
    return [f"protesters_{s}" for s in PROTESTER_STATES] + [f"police_{s}" for s in POLICE_STATES]


def counted_places(gridmap) -> tuple[str, ...]:
    """The places a row counts people in: every place but the exits."""
    return tuple(p for p in gridmap.places if p not in gridmap.exits)


def place_columns(gridmap) -> list[str]:
    places = counted_places(gridmap)
    return [f"protesters_in_{p}" for p in places] + [f"police_in_{p}" for p in places]


class PlaceCounter:
    """People of each side per place, in one ``bincount`` over the agents on the map."""

    def __init__(self, gridmap):
        self.place_id = gridmap.place_id
        self.n_places = len(gridmap.places)
        keep = [gridmap.place_index(p) for p in counted_places(gridmap)]
        self.columns = place_columns(gridmap)
        self.index = np.array(keep + [self.n_places + k for k in keep], dtype=np.intp)

    def counts(self, arrays) -> dict[str, int]:
        on = arrays.x >= 0
        ids = self.place_id[arrays.x[on], arrays.y[on]].astype(np.intp)
        side = arrays.kind[on].astype(np.intp)
        named = ids >= 0
        flat = np.bincount(ids[named] + side[named] * self.n_places, minlength=2 * self.n_places)
        return dict(zip(self.columns, flat[self.index].tolist()))
