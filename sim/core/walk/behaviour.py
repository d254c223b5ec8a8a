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

With ``dynamics`` on (:func:`perceive`; off, none of this runs and G stays as set):

* Legitimacy follows what one sees (the Elaborated Social Identity Model: Reicher, Stott, Drury):
  with ``s`` = people seen hit by force in the last pass within one's vision, those who were not
  active counted whole and the active ones ``active_force_share`` each, L falls by the share
  ``legitimacy_loss * s / (s + half_seen)`` of itself; seeing none, it recovers toward its base at
  ``legitimacy_recovery_per_s``. Fatigue: energy E falls at ``fatigue_per_s`` while active and
  comes back at ``rest_per_s`` while quiet. Epstein's rule then reads G = H (1 - L) E.
* A quiet protester whose energy is below ``tired_energy`` goes home at ``tired_leave_per_s``.
* A calmed-down protester goes back to its rally with the chance
  ``regroup_scale * E (1 - R) (1 - L)`` (resolve against fear), else keeps walking away.

A chance given per second is taken over the decision interval: ``rate * interval_s``.

Random numbers: ``uniform(key, i, 0..6)``, counter-based draws (``sim.core.counter_rng``), one
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
from .state import ACTIVE, ARREST_ALL, ARRESTED, FLEEING, INJURED, LEAVE, NOWHERE, POLICE, QUIET, RALLY

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
LAYER_CHASING = 5  # officers of units that also arrest the fleeing (indiscriminate units)
N_LAYERS = 6

# layers of the force grid: people hit by force in the last decision interval, by what they were doing
FORCE_ON_PEACEFUL = 0
FORCE_ON_ACTIVE = 1


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
    # with ``DecisionSettings.dynamics`` (else unused): what people see changes them
    legitimacy_loss: float = 0.0  # the largest share of L lost in one pass of seeing force
    active_force_share: float = 0.0  # a person seen hit while active counts this much (a peaceful one: 1)
    half_seen: float = 1.0  # people seen hit for half the largest loss
    legitimacy_recovery_per_s: float = 0.0  # rate at which L returns to its base when no force is seen
    fatigue_per_s: float = 0.0  # energy lost per second active (energy 1 = rested)
    rest_per_s: float = 0.0  # energy regained per second quiet
    tired_energy: float = 0.0  # energy below which one is tired
    tired_leave_per_s: float = 0.0  # chance per second that a tired, quiet protester goes home
    regroup_scale: float = 0.0  # chance of regrouping after a flight = this * E (1 - R) (1 - L)


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
    dynamics: bool = False  # legitimacy from force seen, fatigue, regrouping by the person (else: fixed G)


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
                    if arresting[i] == ARREST_ALL:
                        sat[LAYER_CHASING, gx, gy] += 1
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


@njit(cache=True)
def force_tables(force):
    """Summed-area tables ``fsat[layer, cx + 1, cy + 1]`` of the force grid ``force[layer, cx, cy]`` (people
    hit, whole numbers as floats: any order of summing gives the same floats)."""
    n, cx, cy = force.shape
    fsat = np.zeros((n, cx + 1, cy + 1))
    for layer in range(n):
        for a in range(1, cx + 1):
            run = 0.0
            for b in range(1, cy + 1):
                run += force[layer, a - 1, b - 1]
                fsat[layer, a, b] = run + fsat[layer, a - 1, b]
    return fsat


@njit(cache=True, inline="always")
def window_sum_f(fsat, layer, gx, gy, r):
    """:func:`window_sum` of a float table (the force grid); a 1 x 1 table (no force) sums to 0 anywhere."""
    x0 = min(max(gx - r, 0), fsat.shape[1] - 1)
    y0 = min(max(gy - r, 0), fsat.shape[2] - 1)
    x1 = min(gx + r + 1, fsat.shape[1] - 1)
    y1 = min(gy + r + 1, fsat.shape[2] - 1)
    return fsat[layer, x1, y1] - fsat[layer, x0, y1] - fsat[layer, x1, y0] + fsat[layer, x0, y0]


@njit(cache=True, inline="always")
def perceive(seen_peaceful, seen_active, state, hardship, legitimacy, base, energy, params):
    """One pass of ESIM legitimacy and fatigue for one protester: returns (L, E, G = H (1 - L) E)."""
    dt = params.interval_s
    seen = seen_peaceful + params.active_force_share * seen_active
    if seen > 0.0:
        legitimacy = legitimacy * (1.0 - params.legitimacy_loss * seen / (seen + params.half_seen))
    elif legitimacy < base:
        legitimacy = min(base, legitimacy + params.legitimacy_recovery_per_s * dt * (base - legitimacy))
    if state == ACTIVE:
        energy = max(0.0, energy - params.fatigue_per_s * dt)
    elif state == QUIET:
        energy = min(1.0, energy + params.rest_per_s * dt)
    return legitimacy, energy, hardship * (1.0 - legitimacy) * energy


@njit(cache=True, parallel=PRANGE_ONLY)
def decide(key, agents, occ, sat, gas, force, params, settings):
    """One decision pass over all agents, on all threads; returns (new injuries, new arrests).

    ``agents``: ``state.Deciders``, written in place; ``occ``: the occupancy bit grid; ``sat``: the
    summed-area tables of :func:`coarse_counts`; ``gas``: the gas concentration (g/m^2) on the gas
    grid; ``force``: summed-area tables of the people hit by force since the last pass
    (``FORCE_ON_*``, float64, on the count grid); ``params``: :class:`DecisionParams`;
    ``settings``: :class:`DecisionSettings`; ``key``: the pass's key of the counter-based draws.

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
    hardship = agents.hardship
    legitimacy = agents.legitimacy
    legitimacy_base = agents.legitimacy_base
    energy = agents.energy
    dynamics = settings.dynamics
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

        s = state[i]
        if dynamics:
            li, ei, g = perceive(window_sum_f(force, FORCE_ON_PEACEFUL, gx, gy, vision_r),
                                 window_sum_f(force, FORCE_ON_ACTIVE, gx, gy, vision_r),
                                 s, hardship[i], legitimacy[i], legitimacy_base[i], energy[i], params)
            legitimacy[i] = li
            energy[i] = ei
            grievance[i] = g
        # gas dose
        here = gas[x[i] // gas_factor, y[i] // gas_factor]
        dose[i] += here * dt
        if dose[i] > params.dose_injure and uniform(key, i, 0) < params.gas_injury_per_s * dt:
            state[i] = INJURED
            cause[i] = CAUSE_GAS
            injured += 1
            continue

        # arrests and batons need officers of an arresting unit close by
        if s == ACTIVE or s == FLEEING:
            if window_sum(sat, LAYER_ARRESTING if s == ACTIVE else LAYER_CHASING, gx, gy, 1) >= params.backup:
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
                if dynamics:
                    resolve = params.regroup_scale * energy[i] * (1.0 - risk[i]) * (1.0 - legitimacy[i])
                    back = uniform(key, i, 6) < resolve
                else:
                    back = regroup
                if back:
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

        if (dynamics and energy[i] < params.tired_energy and behaviour[i] != LEAVE
                and uniform(key, i, 5) < params.tired_leave_per_s * dt):
            state[i] = QUIET  # tired: goes home
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
