"""Decisions, for everyone at once (numba): turn active, flee, calm down, get hurt or arrested.

Every decision reads the same snapshot (counts on a coarse grid taken before the pass), so
the outcome does not depend on the order agents are visited in; ``sim.core.walk.behaviour_reference``
restates the rules in plain Python. The rules' numbers are named fields of
:class:`DecisionParams` (rates per second, thresholds, times in seconds) and
:class:`DecisionSettings` (grids, tables, counts). The rules, for a protester on the map and not
injured:

* Gas: inside the visible cloud (concentration above ``flee_concentration``) it flees. Its
  dose (concentration times seconds, only ever growing) above ``dose_injure`` injures it at
  ``gas_injury_per_s``.
* Fear spreads: a quiet or active protester flees at ``contagion_per_s`` times the share
  of fleeing people among the protesters in its vision, unless it calmed down from a flight
  less than a flight time ago (a negative timer counts that down).
* Epstein (2002): not fleeing, it is active iff G - R P > T, with grievance G, risk aversion
  R, and P = 1 - exp(-k floor(C / (1 + A))) from cops C and actives A in its vision.
* A fleeing protester runs to the nearest exit until its flight time is over and it is out
  of the cloud; then it regroups at its home place or goes home (leaves).
* Packed flight: a fleeing protester with at least ``crush_count`` others in its
  density window is injured at ``crush_per_s``.
* Arrest and batons: an active or fleeing protester with at least ``backup`` officers of an
  arresting unit within one coarse cell is arrested at ``arrest_per_s``, or hit by a
  baton at ``baton_per_s``.
* Police are hit by thrown objects at ``projectile_per_s`` per active protester within their
  vision (up to ``projectile_cap`` of them); hit officers are injured.

A chance given per second is taken over the decision interval: ``rate * interval_s``.

Random numbers: ``uniform(key, i, 0..4)``, counter-based draws (``sim.core.counter_rng``), one
per kind of chance.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..activation import FLOOR, is_active
from .bits import flip, window_count
from ..counter_rng import uniform
from ..parallel import PRANGE_ONLY
from .state import ACTIVE, ARRESTED, FLEEING, INJURED, LEAVE, NOWHERE, POLICE, QUIET, RALLY

# injury causes
CAUSE_NONE = 0
CAUSE_GAS = 1
CAUSE_WATER_CANNON = 2
CAUSE_STUN_GRENADE = 3
CAUSE_BATON = 4
CAUSE_CRUSH = 5
CAUSE_PROJECTILE = 6
CAUSE_NAMES = ("none", "gas", "water_cannon", "stun_grenade", "baton", "crush", "projectile")

# layers of the coarse count grid
LAYER_POLICE = 0
LAYER_ACTIVE = 1
LAYER_FLEEING = 2
LAYER_PROTESTERS = 3
LAYER_ARRESTING = 4  # officers of units allowed to arrest
N_LAYERS = 5


class DecisionParams(NamedTuple):
    """The decision rules' numbers, by name. All floats (counts too), so that one compiled kernel
    serves every scenario: numba compiles a kernel anew for each new combination of types."""

    interval_s: float  # s between two decision passes: each pass applies the rates over this
    threshold: float  # Epstein's activation threshold T
    flee_concentration: float  # g/m^2: the edge of the visible gas cloud; people inside it flee
    dose_injure: float  # g s/m^2: gas dose above which gas injures
    gas_injury_per_s: float  # chance per second of a gas injury above that dose
    flee_time_s: float  # s: how long a flight lasts, and how long after it one is not swept along again
    contagion_per_s: float  # chance per second of fleeing, times the share of the fleeing in sight
    crush_per_s: float  # chance per second of injury in packed flight
    arrest_per_s: float  # chance per second of arrest, with backup close by
    baton_per_s: float  # chance per second of a baton injury, with backup close by
    projectile_per_s: float  # chance per second an officer is hit, per active protester in sight
    projectile_cap: float  # active protesters: more in sight throw no more
    backup: float  # officers of arresting units within one coarse cell needed to arrest or hit


class DecisionSettings(NamedTuple):
    """What the decision pass reads besides the rates, fixed for a run: grids, tables, field indices."""

    arrest_p_table: np.ndarray  # float64: Epstein's P for each integer ratio floor(C / (1 + A))
    coarse_factor: int  # fine cells per side of a coarse cell of the counts
    vision_r: int  # coarse cells: radius of what one sees
    gas_factor: int  # fine cells per side of a gas cell
    exit_target: int  # field index of the exits, where the fleeing run
    regroup: bool  # calmed-down protesters go back to their home place (else they go home)
    window_r: int  # fine cells: radius of the density window of packed flight
    crush_count: int  # others in the density window from which packed flight injures


@njit(cache=True, parallel=PRANGE_ONLY)
def coarse_counts(x, y, kind, state, arresting, factor, cx, cy):
    """Counts per coarse cell and layer, as summed-area tables ``sat[layer, cx + 1, cy + 1]``."""
    sat = np.zeros((N_LAYERS, cx + 1, cy + 1), dtype=np.int32)
    for i in range(x.shape[0]):
        if x[i] == NOWHERE:
            continue
        gx = x[i] // factor + 1
        gy = y[i] // factor + 1
        s = state[i]
        if kind[i] == POLICE:
            if s != INJURED:
                sat[LAYER_POLICE, gx, gy] += 1
                if arresting[i]:
                    sat[LAYER_ARRESTING, gx, gy] += 1
        else:
            if s != INJURED:
                sat[LAYER_PROTESTERS, gx, gy] += 1
            if s == ACTIVE:
                sat[LAYER_ACTIVE, gx, gy] += 1
            elif s == FLEEING:
                sat[LAYER_FLEEING, gx, gy] += 1
    # counts -> summed-area tables, in place: running sums along y, then each row adds the one before
    for layer in prange(N_LAYERS):
        for a in range(1, cx + 1):
            run = 0
            for b in range(1, cy + 1):
                run += sat[layer, a, b]
                sat[layer, a, b] = run + sat[layer, a - 1, b]
    return sat


@njit(cache=True, inline="always")
def window_sum(sat, layer, gx, gy, r):
    """Count in the coarse square of radius r around (gx, gy), clipped to the grid: O(1)."""
    x0 = max(gx - r, 0)
    y0 = max(gy - r, 0)
    x1 = min(gx + r + 1, sat.shape[1] - 1)
    y1 = min(gy + r + 1, sat.shape[2] - 1)
    return sat[layer, x1, y1] - sat[layer, x0, y1] - sat[layer, x1, y0] + sat[layer, x0, y0]


@njit(cache=True, parallel=PRANGE_ONLY)
def decide(key, agents, occ, sat, gas, params, settings):
    """One decision pass over all agents, on all threads; returns (new injuries, new arrests).

    ``agents``: ``state.Deciders``, written in place; ``occ``: the occupancy bit grid; ``sat``: the
    summed-area tables of :func:`coarse_counts`; ``gas``: the gas concentration (g/m^2) on the gas
    grid; ``params``: :class:`DecisionParams`; ``settings``: :class:`DecisionSettings`; ``key``: the
    pass's key of the counter-based draws.

    Everyone decides on the state at the start of the pass (the counts, the gas, who stands
    where): an agent writes only its own row, so the pass is the same on any number of threads.
    The arrested leave their cells after the pass, in index order.
    """
    # One plain assignment per array, before the parallel loop, and only these names inside it:
    # numba's parfor pass drops writes to an array it cannot trace back to an argument, and it
    # loses that trace for ``a, b = tuple`` unpacking and for ``tuple.a[i] = ...`` inside the
    # loop (numba issue #7135).
    x = agents.x
    y = agents.y
    kind = agents.kind
    state = agents.state
    behaviour = agents.behaviour
    target = agents.target
    grievance = agents.grievance
    risk = agents.risk
    dose = agents.dose
    timer = agents.timer
    cause = agents.cause
    home = agents.home
    arrest_p_table = settings.arrest_p_table
    coarse_factor = settings.coarse_factor
    vision_r = settings.vision_r
    gas_factor = settings.gas_factor
    exit_target = settings.exit_target
    regroup = settings.regroup
    window_r = settings.window_r
    crush_count = settings.crush_count
    dt = params.interval_s
    injured = 0
    arrested = 0
    for i in prange(x.shape[0]):
        if x[i] == NOWHERE or state[i] == INJURED:
            continue
        gx = x[i] // coarse_factor
        gy = y[i] // coarse_factor
        if kind[i] == POLICE:
            actives = window_sum(sat, LAYER_ACTIVE, gx, gy, vision_r)
            if actives > 0:
                rate = params.projectile_per_s * min(actives, params.projectile_cap)
                if uniform(key, i, 0) < rate * dt:
                    state[i] = INJURED
                    cause[i] = CAUSE_PROJECTILE
                    injured += 1
            continue

        # gas dose
        here = gas[x[i] // gas_factor, y[i] // gas_factor]
        dose[i] += here * dt
        s = state[i]
        if dose[i] > params.dose_injure and uniform(key, i, 0) < params.gas_injury_per_s * dt:
            state[i] = INJURED
            cause[i] = CAUSE_GAS
            injured += 1
            continue

        # arrests and batons need officers of an arresting unit close by
        if s == ACTIVE or s == FLEEING:
            if window_sum(sat, LAYER_ARRESTING, gx, gy, 1) >= params.backup:
                if uniform(key, i, 1) < params.arrest_per_s * dt:
                    state[i] = ARRESTED  # leaves its cell after the pass
                    arrested += 1
                    continue
                if uniform(key, i, 2) < params.baton_per_s * dt:
                    state[i] = INJURED
                    cause[i] = CAUSE_BATON
                    injured += 1
                    continue
        if s == FLEEING:
            timer[i] -= dt
            if timer[i] <= 0.0 and here <= params.flee_concentration:
                state[i] = QUIET
                timer[i] = -params.flee_time_s  # not swept along again for a while
                if regroup:
                    behaviour[i] = RALLY
                    target[i] = home[i]
                continue
            # packed flight
            others = window_count(occ, x[i], y[i], window_r) - 1
            if others >= crush_count and uniform(key, i, 3) < params.crush_per_s * dt:
                state[i] = INJURED
                cause[i] = CAUSE_CRUSH
                injured += 1
            continue

        flee = here > params.flee_concentration
        if timer[i] < 0.0:
            timer[i] = min(0.0, timer[i] + dt)
        elif not flee:
            people = window_sum(sat, LAYER_PROTESTERS, gx, gy, vision_r)
            fleeing = window_sum(sat, LAYER_FLEEING, gx, gy, vision_r)
            if fleeing > 0 and uniform(key, i, 4) < params.contagion_per_s * dt * fleeing / people:
                flee = True
        if flee:
            state[i] = FLEEING
            timer[i] = params.flee_time_s
            behaviour[i] = LEAVE
            target[i] = exit_target
            continue

        cops = window_sum(sat, LAYER_POLICE, gx, gy, vision_r)
        actives = window_sum(sat, LAYER_ACTIVE, gx, gy, vision_r)
        if s != ACTIVE:
            actives += 1  # Epstein counts oneself among the actives when deciding
        active = is_active(grievance[i], risk[i], cops, actives, arrest_p_table, params.threshold, FLOOR)
        state[i] = ACTIVE if active else QUIET
    for i in range(x.shape[0]):
        if state[i] == ARRESTED and x[i] != NOWHERE:
            flip(occ, x[i], y[i])
            x[i] = NOWHERE
            y[i] = NOWHERE
    return injured, arrested
