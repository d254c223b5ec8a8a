"""The protest's core on the continuous walking model: the grid core's decisions, the CFSM's walking.

``ContinuousProtestCore`` is a ``sim.core.walk.engine.Core`` (so the model, the police, the ledger,
the recording and the browser view use it unchanged) whose walking step is the Collision-Free
Speed Model (``sim.core.continuous.engine.ContinuousCore``). Positions in metres live in its
``crowd``; the agents' int cells (``AgentArrays.x, y``) are ``floor(position / cell size)`` after
every step, so everything that reads cells (the decision pass, the police's means, counts, gas
doses, the ledger) reads them as on the grid. Several people may share a cell: the decision pass
gets a fresh occupancy bit grid each time and never its grid crush rule; crushing comes from the
local density in metres instead (``ProtestRules.crush_density_continuous``, ``crush_sustain_s``).

How behaviours map onto the CFSM's per-agent arrays, each scenario step:

* target: the agent's field (the same distance fields; the floor's direction grids are built from
  the model's field stack); free speed v0: its walking speed, times ``flee_factor`` when fleeing.
* injured: stand still where they fell (target -1, v0 0), still an obstacle; arrested or left:
  off the crowd (active 0).
* rally, march, hold: at its own crowd (inside its target place, or someone standing within 1 m
  with the same target) a walker stops walking in (target -1, v0 0: the kernel skips it; an
  obstacle) once the local density (1 m circle) reaches ``stop_density`` or once held up (under a
  quarter of its free speed in a step): rallies and lines at the first hold-up, joining the edge
  of their crowd; marchers, going to a place, only when held up for ``HELD_S`` without a break and,
  outside their place, once it holds ``stop_density`` per m2 of people standing for it (until then
  the back of a march goes on in, round those standing at its mouth). Without the stop the CFSM
  closes every gap to ~0 behind a standing crowd, and those at its edge press on forever: body
  contact, a crush. ``HELD_S`` (10 s) is not sourced: it is chosen so that a march fills its
  small gate (tests/test_protest_continuous.py). A march agent stopped inside its place rallies
  there (as on the grid). Standing agents do not mill (the grid's ``mill_rate`` has no twin here).
* making way: a walker held up in the last step trades places with someone standing for another
  target just ahead of it (``protest.make_way``): people in a standing crowd let those through who
  need to pass, as the grid's swaps do; a march walks on through a rally.
* leaving through an exit cell: state LEFT, off the map, as on the grid.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.continuous.engine import ContinuousCore, floor_from_raster
from ..core.continuous.local_density import local_density
from ..core.continuous.state import CfsmParams, Crowd, cutoff_for
from ..core.walk import bits
from ..core.walk.behaviour import CAUSE_CRUSH
from ..core.walk.engine import Core, Decisions, Terrain, WalkParams
from ..core.walk.state import (
    ARRESTED, FLEEING, HOLD, INJURED, LEFT, MARCH, NOWHERE, RALLY, AgentArrays,
)
from .make_way import trade_places

NO_GRID_CRUSH = 1 << 30  # the grid's packed-flight rule never fires: nobody has this many others in a window
DENSITY_RADIUS_M = 1.0  # m: the circle a local density is counted in
HELD_S = 10.0  # s: held up this long without a break, a marcher at its crowd stops (see the module's docstring)
BLOCKED_SHARE = 0.25  # walking under this share of one's free speed is being held up


class ContinuousProtestCore(Core):
    """``Core``'s interface; ``crowd`` holds the positions (m), ``density`` each agent's local
    density (persons/m2) after the last step, ``peak_density`` the highest so far."""

    def __init__(self, terrain: Terrain, params: WalkParams, agents: AgentArrays, engine: str,
                 decisions: Decisions, *, substep_s: float, radius_m: float, time_gap_s: float,
                 stop_density: float, crush_density: float, crush_sustain_s: float):
        super().__init__(terrain, params, agents, engine, decisions=decisions)
        self.decision_settings = self.decision_settings._replace(crush_count=NO_GRID_CRUSH)
        cell = float(terrain.cell_size)
        n = len(agents)
        crowd = Crowd.empty(n)
        on = agents.on_map()
        crowd.x[:] = np.where(on, (agents.x + 0.5) * cell, -1.0)
        crowd.y[:] = np.where(on, (agents.y + 0.5) * cell, -1.0)
        crowd.radius[:] = radius_m
        crowd.time_gap[:] = time_gap_s
        crowd.v0[:] = agents.speed
        crowd.target[:] = agents.target
        crowd.active[:] = on
        # exact for everyone walking (state.cutoff_for); a fleeing runner (v0 up to flee_factor x the
        # fastest) is slowed only by people within it, so runs a little faster behind someone farther
        # ahead than the cut-off: a cut-off sized for runners (~6 m) costs ~5x the neighbours in a crowd
        cutoff = cutoff_for(radius_m, params.max_speed, time_gap_s)
        self._cfsm = CfsmParams(cutoff_m=cutoff)
        self.walker = ContinuousCore(self._floor(terrain), self._cfsm, crowd, engine)
        self.crowd = crowd
        self.substeps = max(1, int(math.ceil(params.dt / substep_s - 1e-9)))
        self.stop_density = float(stop_density)
        self.crush_density = float(crush_density)
        self.crush_sustain_s = float(crush_sustain_s)
        self.density = np.zeros(n)
        self._blocked = np.zeros(n, dtype=bool)  # held up in the last step while walking
        self._held_s = np.zeros(n)  # seconds held up without a break
        places = terrain.place_id[terrain.place_id >= 0].astype(np.int64)
        self._place_area = np.bincount(places, minlength=int(terrain.field_place.max(initial=-1)) + 1) \
            * float(terrain.cell_size) ** 2  # m2 per place
        # the field a standing walker stopped at (-1: walking, or standing for another reason): who
        # counts as "its own crowd" for those arriving; people just sent elsewhere (a march leaving a
        # rally) stood for their old target, so they neither count for nor stop at each other
        self._stood_for = np.full(n, -1, dtype=np.int64)
        self.above_s = np.zeros(n)  # seconds at or above the crush density without a break
        self.peak_density = 0.0
        self.crushed_total = 0
        self.traded_total = 0  # places traded by walkers held up in a standing crowd (make_way)

    def _floor(self, terrain: Terrain):
        return floor_from_raster(terrain.walkable, terrain.is_exit, terrain.fields, terrain.cell_size,
                                 self._cfsm.cutoff_m)

    def open_cells(self, mask: np.ndarray) -> None:
        """The grid's cell table and the CFSM's walls, both from the new raster."""
        super().open_cells(mask)
        if mask.any():
            self.walker.floor = self._floor(self.terrain)

    def occupied(self) -> np.ndarray:
        """Bool grid of the cells someone stands on now."""
        taken = np.zeros(self.terrain.walkable.shape, dtype=bool)
        on = self.agents.on_map()
        taken[self.agents.x[on], self.agents.y[on]] = True
        return taken

    def occupancy_bits(self) -> np.ndarray:
        """``AgentArrays.occupancy``'s bit grid, set from the agents' cells alone (no full-map bool
        grid to pack: 7.9 M cells on the 5 October map)."""
        on = self.agents.on_map()
        nx, ny = self.terrain.walkable.shape
        grid = np.zeros((nx + 2 * bits.PAD, bits.words_per_row(ny)), dtype=np.uint64)
        py = self.agents.y[on].astype(np.int64) + bits.PAD
        np.bitwise_or.at(grid, (self.agents.x[on].astype(np.int64) + bits.PAD, py >> 6),
                         np.left_shift(np.uint64(1), (py & 63).astype(np.uint64)))
        return grid

    def positions_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Everyone's position in metres (-1 off the map)."""
        return self.crowd.x, self.crowd.y

    def decide_with(self, key: int) -> None:
        """The grid's pass on a fresh bit grid of the cells (people may share one); the arrested leave."""
        self.occ = self.occupancy_bits()
        super().decide_with(key)
        self._drop_gone()

    def _drop_gone(self) -> None:
        gone = (self.agents.x == NOWHERE) & (self.crowd.active == 1)
        self.crowd.active[gone] = 0
        self.crowd.x[gone] = self.crowd.y[gone] = -1.0

    def step_with(self, plan) -> int:
        """The CFSM over one scenario step in ``substeps`` sub-steps; returns how many left the map."""
        a, c, p = self.agents, self.crowd, self.params
        self._drop_gone()
        on = c.active == 1
        state = a.state
        target = a.target.astype(np.int32)
        target[state == INJURED] = -1
        inside = self._inside_target(on)
        # at its crowd: inside its target place, or someone of its own crowd (same target) stands within 1 m;
        # there it stops once dense, held up, or already standing there
        at_crowd = inside | (self._own_crowd_density(on) > 1.5 / (math.pi * DENSITY_RADIUS_M ** 2))
        stopping = ((a.behaviour == RALLY) | (a.behaviour == MARCH) | (a.behaviour == HOLD)) & (state != FLEEING) \
            & at_crowd & ((self.density >= self.stop_density) | self._held_long(inside) | (self._stood_for == a.target))
        target[stopping] = -1
        self._stood_for[:] = np.where(stopping, a.target, np.where(c.target == -1, self._stood_for, -1))
        self._stood_for[target != -1] = -1
        a.behaviour[stopping & inside & (a.behaviour == MARCH)] = RALLY
        c.target[:] = target
        c.v0[:] = np.where(state == FLEEING, a.speed * p.flee_factor, a.speed)
        c.v0[(state == INJURED) | stopping] = 0.0  # truly still (the kernel skips them)
        self._make_way(stopping, target)
        left = 0
        x0, y0 = c.x.copy(), c.y.copy()
        sub_dt = p.dt / self.substeps
        for _ in range(self.substeps):
            if self.walker.step(sub_dt):
                gone = np.flatnonzero(self.walker.gone)
                left += gone.size
                a.state[gone] = LEFT
                a.x[gone] = a.y[gone] = NOWHERE
        on = c.active == 1
        # held up: walking, but under a quarter of its free speed this step
        self._blocked = (c.target != -1) & (np.hypot(c.x - x0, c.y - y0) < BLOCKED_SHARE * c.v0 * p.dt)
        self._held_s = np.where(self._blocked, self._held_s + p.dt, 0.0)
        nx, ny = self.terrain.walkable.shape
        cell = self.terrain.cell_size
        a.x[on] = np.clip(np.floor(c.x[on] / cell), 0, nx - 1).astype(np.int32)
        a.y[on] = np.clip(np.floor(c.y[on] / cell), 0, ny - 1).astype(np.int32)
        self._crush(on)
        return left

    def _held_long(self, inside: np.ndarray) -> np.ndarray:
        """Per agent: whether being held up stops it at its crowd. A rally's or a line's people stop at
        the first hold-up (they join the edge of their crowd); marchers, who are going to a place,
        only after ``HELD_S`` held up without a break and, outside their place, once it is full."""
        march = self.agents.behaviour == MARCH
        return np.where(march, (self._held_s >= HELD_S - 1e-9) & self._room_ahead_full(inside), self._blocked)

    def _room_ahead_full(self, inside: np.ndarray) -> np.ndarray:
        """Per agent: whether being held up may stop it. Inside its target place, or walking to an exit,
        yes; outside, only once its place holds ``stop_density`` per m2 of people standing for it (until
        then people at the back of their crowd go on into the place, round those standing)."""
        a = self.agents
        place = self.terrain.field_place[a.target]
        standing = inside & (self._stood_for == a.target)
        held = np.bincount(place[standing], minlength=self._place_area.size)
        full = held >= self.stop_density * self._place_area
        return inside | (place < 0) | full[np.maximum(place, 0)]

    def _make_way(self, stopping: np.ndarray, target: np.ndarray) -> None:
        """Who was held up walking trades places with a stander of another crowd ahead (``make_way``)."""
        a, c = self.agents, self.crowd
        fine = (c.active == 1) & (a.state != INJURED)
        walkers = np.flatnonzero(self._blocked & fine & (target >= 0))
        if walkers.size:
            standers = stopping & fine & (a.behaviour != HOLD)
            self.traded_total += trade_places(c.x, c.y, c.radius, target, walkers, standers, a.target, a.kind,
                                              self.walker.floor.grids, self.walker.floor.cell_size)

    def _own_crowd_density(self, on: np.ndarray) -> np.ndarray:
        """Per agent: the density (persons/m2 within 1 m) of itself and those standing there with its
        own target: the back of its own crowd, where it stops; a crowd it only passes through has
        other targets, and a march walks on through a rally."""
        c, a = self.crowd, self.agents
        key_self = a.target.astype(np.int64)
        key_other = self._stood_for
        return local_density(c.x, c.y, c.active, self.walker.floor.extent_m, DENSITY_RADIUS_M,
                             key_self=key_self, key_other=key_other)

    def _inside_target(self, on: np.ndarray) -> np.ndarray:
        a, t = self.agents, self.terrain
        place = t.field_place[a.target]
        here = np.full(len(a), -2, dtype=np.int32)
        here[on] = t.place_id[a.x[on], a.y[on]]
        return on & (place >= 0) & (here == place)

    def _crush(self, on: np.ndarray) -> None:
        """Local densities; anyone at or above the crush density for ``crush_sustain_s`` is injured."""
        c, a = self.crowd, self.agents
        local_density(c.x, c.y, c.active, self.walker.floor.extent_m, DENSITY_RADIUS_M, out=self.density)
        if on.any():
            self.peak_density = max(self.peak_density, float(self.density[on].max()))
        standing = on & (a.state != INJURED) & (a.state != ARRESTED)
        above = standing & (self.density >= self.crush_density)
        self.above_s[above] += self.params.dt
        self.above_s[~above] = 0.0
        crushed = np.flatnonzero(above & (self.above_s >= self.crush_sustain_s - 1e-9))
        if crushed.size:
            a.state[crushed] = INJURED
            a.cause[crushed] = CAUSE_CRUSH
            self.injured_total += int(crushed.size)
            self.crushed_total += int(crushed.size)
