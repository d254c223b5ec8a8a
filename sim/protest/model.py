"""ProtestModel: a Mesa model that owns the arrays, the fields, the scenario's events and the data."""

from __future__ import annotations

import dataclasses
import threading

import mesa
import numpy as np

from .agents import Police, Protester
from ..core.walk.behaviour import DecisionParams
from ..core.walk.engine import Core, Decisions, Terrain, WalkParams, arrest_probability_table, start_numba_set_up
from ..core.walk.hazards import GasField
from ..core.walk.state import HOLD, LEAVE, MARCH, POLICE, PROTESTER, RALLY, STATE_NAMES, AgentArrays
from ..geo.fields import EXITS, SECTORS, escape_target, exit_sectors, field_stack
from ..geo.gridmap import GridMap, cells
from ..geo.loader import load_map
from .checks import check_goals, floor_reachability
from .ledger import Ledger
from .policing import Policing
from .scenario import Scenario, check_capacity, seconds_to_clock
from .snapshots import Snapshot, snapshot_times, take
from .tallies import PlaceCounter, mind_columns, side_counts, state_columns

_BEHAVIOURS = {"rally": RALLY, "march": MARCH, "leave": LEAVE, "hold": HOLD}
FIELDS_TO_MEMORY_MIN_AGENT_STEPS = 5e7  # ~20 s of stepping: copying mapped fields pays off from here
DECISION_INTERVAL_S = 1.0  # people re-decide once a second; walking and gas go at every step


class ProtestModel(mesa.Model):
    """A protest on a grid map, advanced ``scenario.dt`` seconds per ``step()``.

    Per-agent state lives in ``self.arrays`` (numpy); ``Protester`` and ``Police`` agents are
    views over it. ``engine`` picks the numba kernels or the plain-Python reference. The
    scenario is ``self.spec`` (Mesa 3.5 reserves ``Model.scenario`` for its own concept).
    """

    def __init__(self, scenario: Scenario, *, engine: str = "numba", seed: int | None = None,
                 duration_s: float | None = None, gridmap=None, use_field_cache: bool = True) -> None:
        if engine == "numba":
            start_numba_set_up()  # overlaps the map and field set-up below
        self.spec = scenario
        self.seed = int(scenario.seed if seed is None else seed)
        super().__init__(rng=self.seed)
        self.engine = engine
        self.duration_s = float(scenario.duration_s if duration_s is None else duration_s)
        self.dt = float(scenario.dt)
        gridmap = gridmap if gridmap is not None else load_map(scenario.map)
        check_capacity(scenario, gridmap)
        self.gridmap = self.close_gate(gridmap, scenario)

        groups = [(c.name, PROTESTER, c) for c in scenario.crowds] + [(u.name, POLICE, u) for u in scenario.police]
        self.group_names = tuple(name for name, _, _ in groups)
        exit_mask = self.gridmap.exit_mask()
        self.field_targets = self._field_targets(scenario, self.gridmap, exit_mask)
        fields = field_stack(self.gridmap, list(self.field_targets), use_cache=use_field_cache)
        check_goals(scenario, self._reachability(gridmap, fields), exits=bool(gridmap.exits))
        field_place = np.array(
            [-1 if t.startswith(EXITS) else self.gridmap.place_index(t) for t in self.field_targets], dtype=np.int16)
        terrain = Terrain(self.gridmap.walkable, self.gridmap.place_id, exit_mask.view(np.uint8),
                          fields, field_place, self.gridmap.cell_size)

        self.arrays = self._place_agents(groups)
        max_speed = max(g.walking.speed_max for _, _, g in groups)
        rules = scenario.protest
        self.count_factor = max(1, int(round(rules.count_cell_m / self.gridmap.cell_size)))
        self.count_shape = tuple(-(-n // self.count_factor) for n in self.gridmap.shape)
        walk = WalkParams(dt=self.dt, max_speed=max_speed, anticipation_m=scenario.walking.anticipation_m)
        self.core = self._core(terrain, walk, engine, scenario)
        for i, kind in enumerate(self.arrays.kind):
            (Police if kind == POLICE else Protester)(self, i)

        self.time_s = 0.0
        self.steps_done = 0
        self.left_total = 0
        self.events_log: list[dict] = []  # scenario events, triggers, pursuit, the gate, the first force
        self.ledger = Ledger(self, exit_mask)  # every use of force, injury, arrest; who left where
        self._centroids: dict[str, tuple[float, float]] = {}
        self._routes = self._escape_routes()
        self.policing = Policing(self)
        self._pending_events = sorted(scenario.events, key=lambda e: e.at_s)
        self._places = PlaceCounter(self.gridmap)
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self._next_record = 0.0
        self.snapshot_times = snapshot_times([e.at_s for e in scenario.events], self.duration_s)
        self.snapshots: list[Snapshot] = []
        self.observers: list = []  # called with the model after every step (sim.protest.recording)
        self._record()
        self.running = True

    # --- set-up -------------------------------------------------------------------------------
    @staticmethod
    def _field_targets(scenario: Scenario, gridmap: GridMap, exit_mask: np.ndarray) -> tuple[str, ...]:
        """Every place some agent may head for, the exits, and the exits on each side of the map
        (escape routes); one distance field each."""
        targets: list[str] = []
        for crowd in scenario.crowds:
            targets.append(crowd.target or crowd.place)
        for unit in scenario.police:
            targets.append(unit.place)
            targets.extend(unit.pursue)
        for event in scenario.events:
            if event.target:
                targets.append(event.target)
        for trig in scenario.triggers:
            if trig.target:
                targets.append(trig.target)
        targets.append(EXITS)
        sides = set(exit_sectors(gridmap, exit_mask).values())
        targets.extend(escape_target(s) for s in SECTORS if s in sides)
        return tuple(dict.fromkeys(targets))

    def _reachability(self, open_map: GridMap, fields: np.ndarray):
        """Whether people in a place can walk to a target: yes if the target's distance field is
        finite somewhere in the place (free, the fields are computed). Else the floor of the map with
        its gate open decides, since people behind a closed gate may reach their goal once it breaks."""
        floor = None

        def reachable(start: str, target: str) -> bool:
            nonlocal floor
            field = fields[self.field_targets.index(target)]
            if np.isfinite(field[open_map.place_mask(start)]).any():
                return True
            floor = floor or floor_reachability(open_map)
            return floor(start, target)

        return reachable

    def _escape_routes(self) -> list[tuple[int, np.ndarray]]:
        """(field index, direction) of each side of the map that has exits: where startled people run."""
        return [(self.field_targets.index(escape_target(s)), np.array(SECTORS[s])) for s in SECTORS
                if escape_target(s) in self.field_targets]

    def escape_fields(self, xs: np.ndarray, ys: np.ndarray, threat_m: tuple[float, float]) -> np.ndarray:
        """For people at cells (xs, ys) startled by a threat at ``threat_m``: the escape field leading
        to the exits on the side of the map most directly away from the threat."""
        routes = self._routes
        if not routes:
            return np.full(xs.shape, self.exit_field, dtype=np.int16)
        away = np.column_stack([xs * self.gridmap.cell_size - threat_m[0], ys * self.gridmap.cell_size - threat_m[1]])
        scores = np.stack([away @ d for _, d in routes], axis=1)
        return np.array([f for f, _ in routes], dtype=np.int16)[np.argmax(scores, axis=1)]

    @staticmethod
    def close_gate(gridmap: GridMap, scenario: Scenario) -> GridMap:
        """With a ``[gate]``, its cells are walls until it breaks (a copy: the map itself is shared)."""
        if scenario.gate is None:
            return gridmap
        walkable = gridmap.walkable.copy()
        walkable[gridmap.place_id == gridmap.place_index(scenario.gate.place)] = 0
        return GridMap(gridmap.name, gridmap.cell_size, walkable, gridmap.place_id, gridmap.places,
                       gridmap.exits, gridmap.origin_latlon, gridmap.features)

    def _core(self, terrain: Terrain, walk: WalkParams, engine: str, scenario: Scenario) -> Core:
        """The grid core, or with ``[walking] model = "continuous"`` its continuous twin."""
        w, rules = scenario.walking, scenario.protest
        if w.model == "grid":
            return Core(terrain, walk, self.arrays, engine, decisions=self._decisions(scenario))
        from .continuous_core import ContinuousProtestCore

        return ContinuousProtestCore(terrain, walk, self.arrays, engine, self._decisions(scenario),
                                     substep_s=w.continuous_dt_s, radius_m=w.radius_m, time_gap_s=w.time_gap_s,
                                     stop_density=w.stop_density, crush_density=rules.crush_density_continuous,
                                     crush_sustain_s=rules.crush_sustain_s)

    def _decisions(self, scenario: Scenario) -> Decisions:
        rules, gas = scenario.protest, scenario.tear_gas
        cell = self.gridmap.cell_size
        decide_every = max(1, int(round(DECISION_INTERVAL_S / self.dt)))
        params = DecisionParams(
            interval_s=self.dt * decide_every, threshold=rules.threshold,
            flee_concentration=gas.flee_concentration, dose_injure=gas.dose_injure,
            gas_injury_per_s=gas.injury_per_s, flee_time_s=rules.flee_time_s, contagion_per_s=rules.contagion_per_s,
            crush_per_s=rules.crush_per_s, arrest_per_s=rules.arrest_per_s, baton_per_s=rules.baton_per_s,
            projectile_per_s=rules.projectile_per_s, projectile_cap=rules.projectile_cap, backup=rules.backup,
            legitimacy_loss=rules.legitimacy_loss, active_force_share=rules.active_force_share,
            half_seen=rules.half_seen, legitimacy_recovery_per_s=rules.legitimacy_recovery_per_s,
            fatigue_per_s=rules.fatigue_per_s, rest_per_s=rules.rest_per_s, tired_energy=rules.tired_energy,
            tired_leave_per_s=rules.tired_leave_per_s, regroup_scale=rules.regroup_scale)
        gas_field = GasField(self.gridmap.walkable, cell, factor=max(1, int(round(gas.cell_m / cell))),
                             diffusivity=gas.diffusivity, wind_u=gas.wind_east, wind_v=gas.wind_north,
                             half_life_s=gas.half_life_s)
        window_r = WalkParams(dt=self.dt, max_speed=1.0).window_r(cell)
        window_m2 = ((2 * window_r + 1) ** 2) * cell * cell
        return Decisions(
            params=params, arrest_p_table=arrest_probability_table(rules.k), gas=gas_field,
            coarse_factor=self.count_factor, vision_r=max(0, int(round(rules.vision_m / (self.count_factor * cell)))),
            exit_target=self.field_targets.index(EXITS), regroup=rules.regroup,
            crush_count=int(np.ceil(rules.crush_density * window_m2)) - 1, decide_every=decide_every,
            dynamics=rules.dynamics)

    def _place_agents(self, groups) -> AgentArrays:
        n = sum(g.count for _, _, g in groups)
        arrays = AgentArrays.empty(n)
        self.hardship = arrays.hardship  # Epstein's H, kept so events can change legitimacy
        # each start place's floor cells not yet taken, in index order (places do not overlap, so the
        # groups of one place share its list): one pass over the map per place, not per group
        free_cells: dict[str, np.ndarray] = {}
        start = 0
        for gi, (name, kind, group) in enumerate(groups):
            sl = slice(start, start + group.count)
            free = free_cells.get(group.place)
            if free is None:
                free = np.flatnonzero(self.gridmap.place_mask(group.place))
            picked = self.rng.choice(free.size, size=group.count, replace=False)
            cells = free[picked]
            free_cells[group.place] = np.delete(free, picked)
            xs, ys = np.unravel_index(cells, self.gridmap.shape)
            arrays.x[sl], arrays.y[sl] = xs, ys
            arrays.kind[sl] = kind
            behaviour = "hold" if kind == POLICE else group.behaviour
            arrays.behaviour[sl] = _BEHAVIOURS[behaviour]
            target = EXITS if behaviour == "leave" else (getattr(group, "target", None) or group.place)
            arrays.target[sl] = self.field_targets.index(target)
            w = group.walking
            arrays.speed[sl] = np.clip(self.rng.normal(w.speed_mean, w.speed_sd, group.count),
                                       w.speed_min, w.speed_max)
            arrays.group[sl] = gi
            arrays.home[sl] = arrays.target[sl]
            if kind == PROTESTER:
                legitimacy = group.legitimacy if group.legitimacy is not None else self.spec.protest.legitimacy
                self.hardship[sl] = self.rng.random(group.count)
                arrays.grievance[sl] = self.hardship[sl] * (1.0 - legitimacy)
                arrays.legitimacy[sl] = arrays.legitimacy_base[sl] = legitimacy
                arrays.risk[sl] = self.rng.random(group.count)
            start += group.count
        return arrays

    # --- data -----------------------------------------------------------------------------------
    @property
    def clock(self) -> str:
        return seconds_to_clock(self.spec.start_clock_s + self.time_s)

    def state_counts(self) -> dict[str, int]:
        """Everyone by state, both sides together (:meth:`side_counts` keeps them apart)."""
        counts = np.bincount(self.arrays.state, minlength=len(STATE_NAMES))
        return dict(zip(STATE_NAMES, map(int, counts)))

    def side_counts(self) -> dict[str, dict[str, int]]:
        """Protesters by state and police by state (``sim.protest.tallies``)."""
        return side_counts(self.arrays)

    def place_counts(self) -> dict[str, int]:
        """``protesters_in_<place>`` and ``police_in_<place>``: each side's people in each place but the exits."""
        return self._places.counts(self.arrays)

    def _reporters(self) -> dict:
        """One DataCollector column per time-series column; each reads the row :meth:`_record` just counted."""
        reporters = {"time_s": lambda m: m.time_s, "clock": lambda m: m.clock}
        columns = state_columns() + ["protesters_mean_legitimacy", "protesters_tired", "gas_grams", "gate_strength"]
        columns += self._places.columns
        columns += [f"protesters_left_via_{e}" for e in self.ledger.exits]
        for col in columns:
            reporters[col] = lambda m, col=col: m._row[col]
        return reporters

    def _record(self) -> None:
        row = {f"{side}_{state}": n for side, counts in self.side_counts().items() for state, n in counts.items()}
        row.update(mind_columns(self.arrays, self.spec.protest.tired_energy))
        row["gas_grams"] = self.core.decisions.gas.mass()
        row["gate_strength"] = self.policing.gate_strength
        row.update(self.place_counts())
        row.update(zip((f"protesters_left_via_{e}" for e in self.ledger.exits), self.ledger.left_via.tolist()))
        self._row = row
        self.datacollector.collect(self)
        self._next_record += self.spec.record_every
        while self.snapshot_times and self.time_s >= self.snapshot_times[0] - 1e-9:
            self.snapshot_times.pop(0)
            self.snapshots.append(take(self, self.policing.trucks()))

    def timeseries(self):
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return df

    # --- dynamics -------------------------------------------------------------------------------
    def _fire_events(self) -> None:
        while self._pending_events and self._pending_events[0].at_s <= self.time_s + 1e-9:
            event = self._pending_events.pop(0)
            gi = self.group_names.index(event.crowd)
            a = self.arrays
            eligible = np.flatnonzero((a.group == gi) & a.on_map() & (a.kind == PROTESTER))
            chosen = self.rng.choice(eligible, size=min(event.count, eligible.size), replace=False)
            target = EXITS if event.behaviour == "leave" else (event.target or self.field_targets[a.target[chosen[0]]])
            a.behaviour[chosen] = _BEHAVIOURS[event.behaviour]
            a.target[chosen] = self.field_targets.index(target)
            if event.behaviour in ("rally", "march"):
                a.home[chosen] = a.target[chosen]
            if event.legitimacy is not None:
                a.grievance[chosen] = self.hardship[chosen] * (1.0 - event.legitimacy) * a.energy[chosen]
                a.legitimacy[chosen] = a.legitimacy_base[chosen] = event.legitimacy
            self.log_event("event", event.label, f"{chosen.size} of {event.crowd} -> {event.behaviour} {target}",
                           crowd=event.crowd, place=target if target in self.gridmap.places else "",
                           count=int(chosen.size))

    def log_event(self, kind: str, label: str, detail: str = "", **columns) -> None:
        """A row of events.csv now; ``columns``: its typed columns (``sim.protest.ledger.COLUMNS``)."""
        self.events_log.append(self.ledger.marker(self.time_s, kind, label, detail=detail, **columns))

    # --- helpers the police side uses -----------------------------------------------------------
    def field_index(self, target: str) -> int:
        return self.field_targets.index(target)

    @property
    def exit_field(self) -> int:
        return self.field_targets.index(EXITS)

    def place_centroid_m(self, place: str) -> tuple[float, float]:
        if place not in self._centroids:
            xs, ys = cells(self.gridmap.place_id == self.gridmap.place_index(place))
            cell = self.gridmap.cell_size
            self._centroids[place] = (float(xs.mean() + 0.5) * cell, float(ys.mean() + 0.5) * cell)
        return self._centroids[place]

    def open_gate(self) -> None:
        """The gate broke: its cells become floor again for everyone."""
        gate_cells = self.gridmap.place_id == self.gridmap.place_index(self.spec.gate.place)
        self.core.open_cells(gate_cells)

    def step(self) -> None:
        self._fire_events()
        self.policing.step(self.time_s, self.dt, self.rng)
        self.left_total += self.core.step(self.rng)
        self.ledger.after_step(self.time_s)
        self.steps_done += 1
        if self.steps_done == 1 and self._fields_worth_copying():
            self._copy_fields_to_memory()
        self.time_s = self.steps_done * self.dt
        for observe in self.observers:
            observe(self)
        if self.time_s >= self._next_record - 1e-9 or self.time_s >= self.duration_s - 1e-9:
            self._record()
        if self.time_s >= self.duration_s - 1e-9:
            self.running = False

    def _fields_worth_copying(self) -> bool:
        return (isinstance(self.core.terrain.fields.base, np.memmap)
                and len(self.arrays) * self.total_steps >= FIELDS_TO_MEMORY_MIN_AGENT_STEPS)

    def _copy_fields_to_memory(self) -> None:
        """Copy the memory-mapped fields into ordinary memory on another thread; steps walk the copy
        once it is done (the values are the same, so is every step).

        Mapped, the fields cost nothing at start-up, but a file is mapped in 4 KiB pages where a
        large array gets 2 MiB ones, and a dispersed crowd then misses the TLB on its field reads:
        steps 3-4% slower. The copy takes ~0.4 s of one core, so only long runs make it."""
        mapped = self.core.terrain

        def copy() -> None:
            self.core.terrain = dataclasses.replace(mapped, fields=np.array(mapped.fields))

        threading.Thread(target=copy, name="fields-to-memory", daemon=True).start()

    @property
    def total_steps(self) -> int:
        return int(round(self.duration_s / self.dt))

