"""The same decision pass as ``sim.core.walk.behaviour``, written the ordinary way: one agent at a time, in plain Python.

Like the walking reference (``sim.core.walk.reference``) it is slow on purpose and exists to
prove the numba kernels right: same draws in (the plain twins in ``sim.core.counter_rng``),
same arrays out. If a rule changes, change it here first, then make the kernel agree.
"""

from __future__ import annotations

import numpy as np

from .behaviour import (
    CAUSE_BATON,
    CAUSE_CRUSH,
    CAUSE_GAS,
    CAUSE_PROJECTILE,
    LAYER_ACTIVE,
    FORCE_ON_ACTIVE,
    FORCE_ON_PEACEFUL,
    LAYER_ARRESTING,
    LAYER_CHASING,
    LAYER_FLEEING,
    LAYER_POLICE,
    LAYER_PROTESTERS,
    N_LAYERS,
)
from ..activation import FLOOR, is_active_py
from .bits import Occupancy
from ..counter_rng import uniform_py
from .state import ACTIVE, ARREST_ALL, ARRESTED, FLEEING, INJURED, LEAVE, NOWHERE, POLICE, QUIET, RALLY


def _window_sum(sat, layer: int, gx: int, gy: int, r: int) -> int:
    x0, y0 = max(gx - r, 0), max(gy - r, 0)
    x1, y1 = min(gx + r + 1, sat.shape[1] - 1), min(gy + r + 1, sat.shape[2] - 1)
    return int(sat[layer, x1, y1] - sat[layer, x0, y1] - sat[layer, x1, y0] + sat[layer, x0, y0])


def _window_sum_f(fsat, layer: int, gx: int, gy: int, r: int) -> float:
    x0, y0 = min(max(gx - r, 0), fsat.shape[1] - 1), min(max(gy - r, 0), fsat.shape[2] - 1)
    x1, y1 = min(gx + r + 1, fsat.shape[1] - 1), min(gy + r + 1, fsat.shape[2] - 1)
    return float(fsat[layer, x1, y1] - fsat[layer, x0, y1] - fsat[layer, x1, y0] + fsat[layer, x0, y0])


def perceive_reference(seen_peaceful, seen_active, state, hardship, legitimacy, base, energy, params):
    """Plain twin of ``behaviour.perceive``: (L, E, G) after one pass of seeing and tiring."""
    dt = float(params.interval_s)
    legitimacy, energy = float(legitimacy), float(energy)
    seen = seen_peaceful + params.active_force_share * seen_active
    if seen > 0.0:
        legitimacy = legitimacy * (1.0 - params.legitimacy_loss * seen / (seen + params.half_seen))
    elif legitimacy < base:
        legitimacy = min(float(base), legitimacy + params.legitimacy_recovery_per_s * dt * (base - legitimacy))
    if state == ACTIVE:
        energy = max(0.0, energy - params.fatigue_per_s * dt)
    elif state == QUIET:
        energy = min(1.0, energy + params.rest_per_s * dt)
    return legitimacy, energy, float(hardship) * (1.0 - legitimacy) * energy


def force_tables_reference(force):
    """Plain twin of ``behaviour.force_tables``."""
    fsat = np.zeros((force.shape[0], force.shape[1] + 1, force.shape[2] + 1))
    fsat[:, 1:, 1:] = force.cumsum(axis=1).cumsum(axis=2)
    return fsat


def coarse_counts_reference(x, y, kind, state, arresting, factor, cx, cy):
    """Plain twin of ``behaviour.coarse_counts``: per-layer counts by coarse cell, as summed-area tables."""
    grid = np.zeros((N_LAYERS, cx, cy), dtype=np.int64)
    for i in range(len(x)):
        if x[i] == NOWHERE:
            continue
        cell = (int(x[i]) // factor, int(y[i]) // factor)
        if kind[i] == POLICE:
            if state[i] != INJURED:
                grid[(LAYER_POLICE, *cell)] += 1
                if arresting[i]:
                    grid[(LAYER_ARRESTING, *cell)] += 1
                if arresting[i] == ARREST_ALL:
                    grid[(LAYER_CHASING, *cell)] += 1
            continue
        if state[i] != INJURED:
            grid[(LAYER_PROTESTERS, *cell)] += 1
        if state[i] == ACTIVE:
            grid[(LAYER_ACTIVE, *cell)] += 1
        elif state[i] == FLEEING:
            grid[(LAYER_FLEEING, *cell)] += 1
    sat = np.zeros((N_LAYERS, cx + 1, cy + 1), dtype=np.int32)
    sat[:, 1:, 1:] = grid.cumsum(axis=1).cumsum(axis=2)
    return sat


def decide_reference(key, agents, occ, sat, gas, force, params, settings) -> tuple[int, int]:
    """Plain twin of ``behaviour.decide``, one agent at a time, on the same inputs (``agents``:
    ``state.Deciders``, written in place)."""
    a, cfg = agents, settings
    coarse_factor, vision_r, gas_factor = cfg.coarse_factor, cfg.vision_r, cfg.gas_factor
    dt = float(params.interval_s)
    cells = Occupancy(occ)  # cells off the map are in its padding: nobody stands there

    def u(i: int, k: int) -> float:
        return uniform_py(key, i, k)

    injured = arrested = 0
    for i in range(len(a.x)):
        x, y = int(a.x[i]), int(a.y[i])
        if x == NOWHERE or a.state[i] == INJURED:
            continue
        gx, gy = x // coarse_factor, y // coarse_factor
        if a.kind[i] == POLICE:
            actives = _window_sum(sat, LAYER_ACTIVE, gx, gy, vision_r)
            if actives > 0:
                rate = params.projectile_per_s * min(actives, params.projectile_cap)
                if u(i, 0) < rate * dt:
                    a.state[i], a.cause[i] = INJURED, CAUSE_PROJECTILE
                    injured += 1
            continue

        s = a.state[i]
        if cfg.dynamics:
            a.legitimacy[i], a.energy[i], a.grievance[i] = perceive_reference(
                _window_sum_f(force, FORCE_ON_PEACEFUL, gx, gy, vision_r),
                _window_sum_f(force, FORCE_ON_ACTIVE, gx, gy, vision_r),
                s, a.hardship[i], a.legitimacy[i], a.legitimacy_base[i], a.energy[i], params)
        here = gas[x // gas_factor, y // gas_factor]
        a.dose[i] += here * dt
        if a.dose[i] > params.dose_injure and u(i, 0) < params.gas_injury_per_s * dt:
            a.state[i], a.cause[i] = INJURED, CAUSE_GAS
            injured += 1
            continue

        officers = _window_sum(sat, LAYER_ARRESTING if s == ACTIVE else LAYER_CHASING, gx, gy, 1)
        if s in (ACTIVE, FLEEING) and officers >= params.backup:
            if u(i, 1) < params.arrest_per_s * dt:
                a.state[i] = ARRESTED  # leaves its cell after the pass: everyone decides on the same state
                arrested += 1
                continue
            if u(i, 2) < params.baton_per_s * dt:
                a.state[i], a.cause[i] = INJURED, CAUSE_BATON
                injured += 1
                continue

        if s == FLEEING:
            a.timer[i] -= dt
            if a.timer[i] <= 0.0 and here <= params.flee_concentration:
                a.state[i] = QUIET
                a.timer[i] = -params.flee_time_s
                if cfg.dynamics:
                    resolve = params.regroup_scale * a.energy[i] * (1.0 - a.risk[i]) * (1.0 - a.legitimacy[i])
                    back = u(i, 6) < resolve
                else:
                    back = cfg.regroup
                if back:
                    a.behaviour[i], a.target[i] = RALLY, a.home[i]
                continue
            others = sum(1 for wx in range(x - cfg.window_r, x + cfg.window_r + 1)
                         for wy in range(y - cfg.window_r, y + cfg.window_r + 1)
                         if cells.taken(wx, wy) and (wx, wy) != (x, y))
            if others >= cfg.crush_count and u(i, 3) < params.crush_per_s * dt:
                a.state[i], a.cause[i] = INJURED, CAUSE_CRUSH
                injured += 1
            continue

        flee = here > params.flee_concentration
        if a.timer[i] < 0.0:
            a.timer[i] = min(0.0, a.timer[i] + dt)
        elif not flee:
            people = _window_sum(sat, LAYER_PROTESTERS, gx, gy, vision_r)
            fleeing = _window_sum(sat, LAYER_FLEEING, gx, gy, vision_r)
            flee = fleeing > 0 and u(i, 4) < params.contagion_per_s * dt * fleeing / people
        if flee:
            a.state[i], a.timer[i] = FLEEING, params.flee_time_s
            a.behaviour[i], a.target[i] = LEAVE, cfg.exit_target
            continue

        if (cfg.dynamics and a.energy[i] < params.tired_energy and a.behaviour[i] != LEAVE
                and u(i, 5) < params.tired_leave_per_s * dt):
            a.state[i], a.behaviour[i], a.target[i] = QUIET, LEAVE, cfg.exit_target  # tired: goes home
            continue
        cops = _window_sum(sat, LAYER_POLICE, gx, gy, vision_r)
        actives = _window_sum(sat, LAYER_ACTIVE, gx, gy, vision_r) + (0 if s == ACTIVE else 1)
        active = is_active_py(a.grievance[i], a.risk[i], cops, actives, cfg.arrest_p_table, params.threshold, FLOOR)
        a.state[i] = ACTIVE if active else QUIET
    for i in range(len(a.x)):
        if a.state[i] == ARRESTED and a.x[i] != NOWHERE:
            cells.set(int(a.x[i]), int(a.y[i]), False)
            a.x[i] = a.y[i] = NOWHERE
    return injured, arrested
