"""The rows of ``events.csv`` a reader looks for first: every use of force, injury and arrest; and
who left the map by which exit.

Injuries, arrests and departures are read off the agents' arrays rather than from the rules that
cause them: after every step, the people whose state newly became injured, arrested or left are
booked, at the place they stood at the start of that step (a step moves a person a metre or two),
with the cause the rules wrote (``AgentArrays.cause``). So the police's means (stun grenades,
water cannon, in ``sim.protest.police``) and the decision kernels' rules (gas, batons, crush,
thrown objects) are counted the same way, and the numbers always add up to the states' counts.

Rows are one per step, side, group, place and cause (usually one person). A water cannon fires
step after step while its truck has people in reach: its jets are summed per unit, minute and
place instead.
"""

from __future__ import annotations

import numpy as np

from ..core.walk.behaviour import CAUSE_NAMES
from ..core.walk.state import ARRESTED, INJURED, LEFT, POLICE, PROTESTER
from ..geo.gridmap import cells
from .scenario import seconds_to_clock

COLUMNS = ("time_s", "clock", "kind", "label", "detail", "side", "unit", "crowd", "place", "means", "cause",
           "count", "duration_s")
TEXT_COLUMNS = ("clock", "kind", "label", "detail", "side", "unit", "crowd", "place", "means", "cause")
JET_MINUTE_S = 60.0  # water cannon rows sum one unit's jets over this long
SIDE_NAMES = {PROTESTER: "protesters", POLICE: "police"}


class Ledger:
    """Books what happened to people after every step, and the police's uses of force as they happen."""

    def __init__(self, model, exit_mask: np.ndarray):
        self.m = model
        a = model.arrays
        self._state, self._x, self._y = a.state.copy(), a.x.copy(), a.y.copy()
        self.rows: list[dict] = []
        # (minute, unit, place) -> [time of the first jet, seconds of jet, people knocked down]
        self._jets: dict[tuple[int, str, str], list] = {}
        gm = model.gridmap
        self.exits = tuple(gm.exits)
        ex, ey = cells(exit_mask)
        self._exit_xy = np.stack([ex, ey]).astype(np.int64)
        exit_index = np.full(len(gm.places), -1, dtype=np.intp)
        exit_index[[gm.place_index(e) for e in self.exits]] = np.arange(len(self.exits))
        self._exit_of_cell = exit_index[gm.place_id[ex, ey]]  # which exit each exit cell belongs to
        self.left_via = np.zeros(len(self.exits), dtype=np.int64)  # protesters who left by each exit

    # --- people ---------------------------------------------------------------------------------
    def after_step(self, time_s: float) -> None:
        """Book who was newly injured, arrested or left in the step that began at ``time_s``."""
        a = self.m.arrays
        new = np.flatnonzero((a.state != self._state) & (a.state >= INJURED))
        if new.size:
            self._book(new, time_s)
        np.copyto(self._state, a.state)
        np.copyto(self._x, a.x)
        np.copyto(self._y, a.y)

    def _book(self, new: np.ndarray, time_s: float) -> None:
        a, gm = self.m.arrays, self.m.gridmap
        xs, ys = self._x[new], self._y[new]
        pids = np.where(xs >= 0, gm.place_id[xs, ys], -1)
        groups: dict[tuple, int] = {}
        left = []
        for k, i in enumerate(new.tolist()):
            state, kind = int(a.state[i]), int(a.kind[i])
            if state == LEFT:
                if kind == PROTESTER:
                    left.append(k)
                continue
            what = "injury" if state == INJURED else "arrest" if state == ARRESTED else None
            if what is None:
                continue
            cause = CAUSE_NAMES[int(a.cause[i])] if state == INJURED else ""
            pid = int(pids[k])
            key = (what, kind, self.m.group_names[int(a.group[i])], gm.places[pid] if pid >= 0 else "", cause)
            groups[key] = groups.get(key, 0) + 1
        for (what, kind, group, place, cause), n in groups.items():
            side = SIDE_NAMES[kind]
            verb = f"{side} injured by {cause.replace('_', ' ')}" if what == "injury" else f"{side} arrested"
            self.rows.append(self._row(time_s, what, verb + (f" in {place}" if place else ""), side=side,
                                       place=place, cause=cause, count=n,
                                       **({"unit": group} if kind == POLICE else {"crowd": group})))
        if left and self.exits:
            k = np.array(left)
            self._left(xs[k].astype(np.int64), ys[k].astype(np.int64))

    def _left(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """Each leaver to the exit owning the exit cell nearest where it stood before its last step."""
        ex, ey = self._exit_xy
        nearest = np.argmin((ex[None, :] - xs[:, None]) ** 2 + (ey[None, :] - ys[:, None]) ** 2, axis=1)
        np.add.at(self.left_via, self._exit_of_cell[nearest], 1)

    # --- police -------------------------------------------------------------------------------
    def force(self, time_s: float, unit: str, means: str, place: str, *, count: int = 1,
              duration_s: float | None = None, detail: str = "") -> None:
        """One use of ``means`` by ``unit`` aimed at ``place`` (a canister, a grenade)."""
        self.rows.append(self._row(time_s, "force", f"{means} by {unit}" + (f" at {place}" if place else ""),
                                   detail=detail, side="police", unit=unit, place=place, means=means, count=count,
                                   duration_s=duration_s))

    def jet(self, time_s: float, unit: str, place: str, seconds: float, knocked_down: int) -> None:
        """A water cannon jet on for ``seconds`` at ``place``: summed per unit, minute and place, the row
        at the time of the minute's first jet there."""
        tally = self._jets.setdefault((int(time_s // JET_MINUTE_S), unit, place), [time_s, 0.0, 0])
        tally[1] += seconds
        tally[2] += knocked_down

    def marker(self, time_s: float, kind: str, label: str, **columns) -> dict:
        """A row for the model's own log (events, triggers, pursuit, the gate) with its typed columns."""
        return self._row(time_s, kind, label, **columns)

    def _row(self, time_s: float, kind: str, label: str, *, detail: str = "", count=None, duration_s=None,
             **text) -> dict:
        row = {"time_s": float(time_s), "clock": self._clock(time_s), "kind": kind, "label": label,
               "detail": detail, "count": count, "duration_s": duration_s}
        row.update(text)
        return row

    def _clock(self, time_s: float) -> str:
        return seconds_to_clock(self.m.spec.start_clock_s + time_s)

    def jet_rows(self) -> list[dict]:
        out = []
        for (_, unit, place), (first, seconds, down) in self._jets.items():
            out.append(self._row(first, "force", f"water_cannon by {unit}" + (f" at {place}" if place else ""),
                                 detail=f"{down} knocked down", side="police", unit=unit, place=place,
                                 means="water_cannon", count=None, duration_s=seconds))
        return out

    def all_rows(self, log: list[dict]) -> list[dict]:
        """The model's log, the booked rows and the water cannon's, in time order (stable)."""
        rows = [*log, *self.rows, *self.jet_rows()]
        return sorted(rows, key=lambda r: r["time_s"])
