"""The police side of a run, step by step: triggers, postures, pursuit, the means they use, the gate.

Everything here is model-level numpy (a handful of units, a few thousand people) and runs
before the core's step, so both engines see identical orders, gas sources and startles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.walk.behaviour import CAUSE_NAMES
from ..core.walk.state import (
    ACTIVE, ARREST_ACTIVE, ARREST_ALL, ARREST_NONE, FLEEING, HOLD, INJURED, POLICE, PROTESTER,
)
from .police import USING_FORCE, densest_protesters, stun_grenade, water_jet
from .triggers import TriggerBook

RETARGET_EVERY_S = 30.0  # how often pursuing units pick the street to follow people into
PURSUIT_PACE = 1.6  # pursuing officers jog: 1.34 m/s -> ~2.1 m/s
ACTIVE_WEIGHT = 10.0  # an active protester counts as this many when police choose where to aim


@dataclass
class UnitState:
    spec: object  # the scenario's PoliceUnit
    group: int  # index in model.group_names
    posture: str
    target: str
    targeting: str = "indiscriminate"
    next_gas_s: float = 0.0
    next_stun_s: float = 0.0
    next_retarget_s: float = 0.0
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    base_speed: np.ndarray = field(default_factory=lambda: np.zeros(0))


class Policing:
    def __init__(self, model):
        self.m = model
        sc = model.spec
        self.units = []
        for u in sc.police:
            gi = model.group_names.index(u.name)
            st = UnitState(spec=u, group=gi, posture=u.posture, target=u.place, targeting=u.targeting)
            st.members = np.flatnonzero(model.arrays.group == gi)
            st.base_speed = model.arrays.speed[st.members].copy()
            self.units.append(st)
        self.book = TriggerBook(sc.triggers)
        self.gas_sources: list[tuple[int, int, float, float]] = []  # fine x, y, grams/s, until time_s
        self.first_force_s: float | None = None
        self.first_force_by: tuple[str, str] | None = None  # (means, unit)
        # canisters thrown, grenades thrown, seconds of water cannon jet summed over trucks
        self.uses = {"tear_gas": 0, "stun_grenades": 0, "water_cannon": 0.0}
        self.gate_strength = sc.gate.strength if sc.gate else 1.0
        self.gate_open = sc.gate is None
        # people hit by force are seen by those around them (only matters with legitimacy dynamics)
        self._seen = model.core.saw_force if sc.protest.dynamics else None
        for st in self.units:
            self._apply_posture(st, st.posture, st.target)

    # --- probes for triggers ------------------------------------------------------------------
    def actives_near(self, place: str, radius_m: float) -> int:
        a, cell = self.m.arrays, self.m.gridmap.cell_size
        cx, cy = self.m.place_centroid_m(place)
        act = (a.state == ACTIVE) & (a.kind == PROTESTER)
        d2 = (a.x[act] * cell - cx) ** 2 + (a.y[act] * cell - cy) ** 2
        return int((d2 <= radius_m * radius_m).sum())

    # --- one step ---------------------------------------------------------------------------------
    def step(self, time_s: float, dt: float, rng: np.random.Generator) -> None:
        for trig in self.book.due(self):
            for st in self.units:
                if st.spec.name in trig.units:
                    st.targeting = trig.targeting or st.targeting
                    self._apply_posture(st, trig.posture, trig.target or st.target)
            self.m.log_event("trigger", trig.label, f"{', '.join(trig.units)} -> {trig.posture}"
                             + (f" toward {trig.target}" if trig.target else ""), side="police",
                             unit=", ".join(trig.units), place=trig.target or "")
        self._gate(dt)
        forceful = [st for st in self.units if st.posture in USING_FORCE]
        if forceful:
            counts = self._protester_counts()
            if any(st.targeting == "targeted" for st in forceful):
                counts = (counts, self._protester_counts(actives_only=True))
            else:
                counts = (counts, None)
            u = rng.random(len(self.m.arrays))
            picks = rng.random(len(self.units))
            for k, st in enumerate(self.units):
                if st.posture not in USING_FORCE:
                    continue
                if st.posture == "pursue" and time_s >= st.next_retarget_s:
                    self._retarget(st)
                    st.next_retarget_s = time_s + RETARGET_EVERY_S
                self._use_means(st, counts, time_s, dt, u, picks[k])
        self._emit_gas(time_s, dt)

    @property
    def time_s(self) -> float:
        return self.m.time_s

    def _apply_posture(self, st: UnitState, posture: str, target: str) -> None:
        a = self.m.arrays
        st.posture, st.target = posture, target
        members = st.members[a.state[st.members] != INJURED]
        a.behaviour[members] = HOLD
        a.target[members] = self.m.field_index(target)
        # holding means no force at all; targeted units arrest the active only
        a.arresting[st.members] = (ARREST_NONE if posture == "hold" else
                                   ARREST_ACTIVE if st.targeting == "targeted" else ARREST_ALL)
        a.speed[st.members] = st.base_speed * (PURSUIT_PACE if posture == "pursue" else 1.0)

    def _retarget(self, st: UnitState) -> None:
        """Follow the people: the listed street holding most fleeing or active protesters."""
        places = st.spec.pursue
        if not places:
            return
        a = self.m.arrays
        sel = (a.kind == PROTESTER) & a.on_map() & ((a.state == FLEEING) | (a.state == ACTIVE))
        ids = self.m.gridmap.place_id[a.x[sel], a.y[sel]]
        counts = {p: int((ids == self.m.gridmap.place_index(p)).sum()) for p in places}
        best = max(places, key=lambda p: counts[p])
        if counts[best] > 0 and best != st.target:
            self._apply_posture(st, st.posture, best)
            self.m.log_event("pursuit", f"{st.spec.name} follows into {best}", f"{counts[best]} people there",
                             side="police", unit=st.spec.name, place=best, count=counts[best])

    def _thrower_m(self, st: UnitState, pick: float) -> tuple[float, float] | None:
        """Where this step's grenade or canister is thrown from: one standing officer, drawn at random."""
        a, cell = self.m.arrays, self.m.gridmap.cell_size
        on = st.members[a.on_map()[st.members] & (a.state[st.members] != INJURED)]
        if on.size == 0:
            return None
        k = on[min(int(pick * on.size), on.size - 1)]
        return float(a.x[k] * cell), float(a.y[k] * cell)

    def _protester_counts(self, actives_only: bool = False) -> np.ndarray:
        """Standing protesters per count cell, the active ones weighted up: police aim at attackers first
        (``actives_only``: the active ones alone, what targeted units aim at)."""
        a, f = self.m.arrays, self.m.count_factor
        sel = (a.kind == PROTESTER) & a.on_map() & (a.state != INJURED)
        if actives_only:
            sel &= a.state == ACTIVE
        shape = self.m.count_shape
        flat = (a.x[sel] // f) * shape[1] + a.y[sel] // f
        weight = np.where(a.state[sel] == ACTIVE, ACTIVE_WEIGHT, 1.0)
        return np.bincount(flat, weights=weight, minlength=shape[0] * shape[1]).reshape(shape)

    def _hit(self, idx: np.ndarray) -> None:
        """Protesters ``idx`` were hit by force: book it for those who see it (legitimacy dynamics)."""
        a = self.m.arrays
        self._seen(a.x[idx], a.y[idx], a.state[idx] == ACTIVE)

    def _gassed(self, aim: tuple[int, int]) -> None:
        """A canister lands in count cell ``aim``: everyone standing in it is hit."""
        a, f = self.m.arrays, self.m.count_factor
        sel = (a.kind == PROTESTER) & a.on_map() & (a.state != INJURED)
        self._hit(np.flatnonzero(sel & (a.x // f == aim[0]) & (a.y // f == aim[1])))

    def _use_means(self, st: UnitState, counts: tuple, time_s: float, dt: float, u: np.ndarray,
                   pick: float) -> None:
        centre = self._thrower_m(st, pick)
        if centre is None:
            return
        # targeted units aim only where the active are (3 of them at least in a count cell)
        counts = counts[1] if st.targeting == "targeted" else counts[0]
        on_hit = self._hit if self._seen is not None else None
        sc, m = self.m.spec, self.m
        count_m = m.count_factor * m.gridmap.cell_size
        centre_c = (centre[0] / count_m, centre[1] / count_m)
        means = st.spec.means
        if "tear_gas" in means and sc.tear_gas.rate_per_min > 0 and time_s >= st.next_gas_s:
            aim = densest_protesters(counts, centre_c, sc.tear_gas.range_m / count_m)
            if aim is not None:
                fx, fy = self._cell_centre_fine(aim)
                self.gas_sources.append((fx, fy, sc.tear_gas.grams / sc.tear_gas.emission_s,
                                         time_s + sc.tear_gas.emission_s))
                if on_hit is not None:
                    self._gassed(aim)
                self._force(st, "tear_gas", time_s, self._aimed_at(aim), f"{sc.tear_gas.grams:g} g canister",
                            duration_s=sc.tear_gas.emission_s)
                st.next_gas_s = time_s + 60.0 / sc.tear_gas.rate_per_min
        if "stun_grenades" in means and sc.stun_grenades.rate_per_min > 0 and time_s >= st.next_stun_s:
            aim = densest_protesters(counts, centre_c, sc.stun_grenades.range_m / count_m)
            if aim is not None:
                point = ((aim[0] + 0.5) * count_m, (aim[1] + 0.5) * count_m)
                hurt = stun_grenade(m.arrays, point, sc.stun_grenades, m.gridmap.cell_size, u,
                                    sc.protest.flee_time_s, m.escape_fields, on_hit)
                self._force(st, "stun_grenades", time_s, self._aimed_at(aim), f"{hurt} injured")
                st.next_stun_s = time_s + 60.0 / sc.stun_grenades.rate_per_min
        if "water_cannon" in means and sc.water_cannon.trucks > 0:
            a, cell = m.arrays, m.gridmap.cell_size
            trucks = st.members[: sc.water_cannon.trucks]
            for t in trucks:
                if not a.on_map()[t] or a.state[t] == INJURED or u[t] >= sc.water_cannon.duty:
                    continue
                truck_m = (float(a.x[t] * cell), float(a.y[t] * cell))
                aim = densest_protesters(counts, (truck_m[0] / count_m, truck_m[1] / count_m),
                                         sc.water_cannon.reach_m / count_m)
                if aim is None:
                    continue
                aim_m = ((aim[0] + 0.5) * count_m, (aim[1] + 0.5) * count_m)
                down = water_jet(a, truck_m, aim_m, sc.water_cannon, cell, dt, u, sc.protest.flee_time_s,
                                 m.escape_fields, on_hit)
                self._force(st, "water_cannon", time_s, self._aimed_at(aim), f"{down} knocked down",
                            duration_s=dt, knocked_down=down)

    def _force(self, st: UnitState, means: str, time_s: float, place: str, detail: str, *,
               duration_s: float | None = None, knocked_down: int = 0) -> None:
        """Count a use of ``means`` (a water cannon's: seconds of jet) and book it in events.csv."""
        unit = st.spec.name
        self.uses[means] += duration_s if means == "water_cannon" else 1
        if self.first_force_s is None:
            self.first_force_s, self.first_force_by = time_s, (means, unit)
            self.m.log_event("first_force", f"first use of force: {means} by {unit}", detail, side="police",
                             unit=unit, place=place, means=means)
        if means == "water_cannon":
            self.m.ledger.jet(time_s, unit, place, duration_s, knocked_down)
        else:
            self.m.ledger.force(time_s, unit, means, place, duration_s=duration_s, detail=detail)

    def _cell_centre_fine(self, coarse: tuple[int, int]) -> tuple[int, int]:
        f = self.m.count_factor
        nx, ny = self.m.gridmap.shape
        return min(coarse[0] * f + f // 2, nx - 1), min(coarse[1] * f + f // 2, ny - 1)

    def _aimed_at(self, coarse: tuple[int, int]) -> str:
        """The place police aimed at: that of the count cell's centre, else the one most of the cell's
        floor belongs to ("" if none: floor outside every named place)."""
        gm = self.m.gridmap
        pid = int(gm.place_id[self._cell_centre_fine(coarse)])
        if pid < 0:
            f = self.m.count_factor
            block = gm.place_id[coarse[0] * f:(coarse[0] + 1) * f, coarse[1] * f:(coarse[1] + 1) * f]
            named = block[block >= 0]
            pid = int(np.bincount(named).argmax()) if named.size else -1
        return gm.places[pid] if pid >= 0 else ""

    def trucks(self) -> np.ndarray:
        """Agent indices of the water cannon trucks: the first ``water_cannon.trucks`` members of each
        unit that has water cannon among its means."""
        n = self.m.spec.water_cannon.trucks
        found = [st.members[:n] for st in self.units if "water_cannon" in st.spec.means and n > 0]
        return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)

    def _emit_gas(self, time_s: float, dt: float) -> None:
        gas = self.m.core.decisions.gas
        live = []
        for fx, fy, rate, until in self.gas_sources:
            if time_s < until:
                gas.emit(fx, fy, rate * dt)
                live.append((fx, fy, rate, until))
        self.gas_sources = live

    def _gate(self, dt: float) -> None:
        gate = self.m.spec.gate
        if gate is None or self.gate_open:
            return
        near = self.actives_near(gate.place, gate.radius_m)
        self.gate_strength = max(0.0, self.gate_strength - gate.damage_per_active_s * near * dt)
        if self.gate_strength <= 0.0:
            self.gate_open = True
            self.m.open_gate()
            self.m.log_event("gate", "the gate gives way", f"{near} active protesters pressing", side="protesters",
                             place=gate.place, count=near)

    # --- summary ----------------------------------------------------------------------------
    def injuries(self) -> dict:
        a = self.m.arrays
        out = {}
        for kind, name in ((PROTESTER, "protesters"), (POLICE, "police")):
            hurt = (a.kind == kind) & (a.state == INJURED)
            causes = np.bincount(a.cause[hurt], minlength=len(CAUSE_NAMES))
            out[name] = {CAUSE_NAMES[c]: int(n) for c, n in enumerate(causes) if n and c > 0}
        return out
