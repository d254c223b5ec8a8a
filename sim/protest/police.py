"""Police means: tear gas, water cannon, stun grenades. What they are (scenario blocks) and what they do.

Each block is a scenario parameter table with the defaults of ../shared/research/calibration.md
("weakly sourced: treat as scenario parameters"). Units whose posture is ``disperse`` or
``pursue`` use the means listed in their ``means`` key against the protesters in front of
them. Aiming is done here, in numpy, once per step for the whole model, so both engines see
exactly the same effects; what the gas then does to people is the decision kernels' job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.walk.behaviour import CAUSE_STUN_GRENADE, CAUSE_WATER_CANNON
from ..core.walk.state import FLEEING, INJURED, LEAVE, PROTESTER
from ..config import span, table_to_dataclass
from ..errors import ScenarioError

MEANS = ("tear_gas", "water_cannon", "stun_grenades")
# hold: stand, no force. disperse: advance to a place using the unit's means and arresting.
# pursue: the same, following people into the streets the unit lists. arrest: advance and arrest only.
POSTURES = ("hold", "disperse", "pursue", "arrest")
USING_FORCE = ("disperse", "pursue")
# whom a unit's force is aimed at. indiscriminate: gas, grenades and water at the densest crowd, arrests
# of the active and the fleeing. targeted: means only at cells holding active protesters (at the gate on
# 5 October), arrests of the active only. Holding back is the posture "hold".
TARGETINGS = ("indiscriminate", "targeted")


@dataclass(frozen=True)
class TearGas:
    """CS canisters thrown at the densest crowd within range; the cloud drifts and fades."""

    rate_per_min: float = 2.0  # canisters per minute per unit
    range_m: float = 40.0  # throwing range from the unit's centre
    emission_s: float = 30.0  # a grenade emits for 20-40 s
    grams: float = 50.0  # agent per canister
    diffusivity: float = 5.0  # eddy diffusivity, m^2/s (1-10)
    wind_east: float = 0.5  # m/s
    wind_north: float = 0.0
    half_life_s: float = 180.0  # the cloud fades
    cell_m: float = 4.0  # gas grid cell
    flee_concentration: float = 0.01  # g/m^2: the edge of the visible cloud; people inside it flee
    dose_injure: float = 10.0  # g s/m^2: long or repeated exposure
    injury_per_s: float = 0.002  # chance per second while above dose_injure


@dataclass(frozen=True)
class WaterCannon:
    """Trucks moving with their unit; the jet hits people in a strip ahead of the truck."""

    trucks: int = 1  # per unit using it
    reach_m: float = 35.0  # 20-50 m
    width_m: float = 6.0
    knockdown_m: float = 12.0  # inside 10-20 m the jet knocks people down
    knockdown_per_s: float = 0.15  # chance per second of being knocked down (injured) inside that
    duty: float = 0.5  # share of the time the cannon is firing


@dataclass(frozen=True)
class StunGrenades:
    """Flash-bangs thrown into the crowd: everyone within the startle radius flees."""

    rate_per_min: float = 3.0
    range_m: float = 30.0
    startle_radius_m: float = 15.0  # 10-30 m
    injury_radius_m: float = 2.0  # injury only very close
    injury_chance: float = 0.3


# physical bounds: beyond them a setting means nothing (and the explicit gas scheme's sub-steps explode)
_PROB = span(0.0, 1.0)
_PER_S = span(0.0, 1.0, "per s")  # a chance per second


def parse_tear_gas(table, path="tear_gas") -> TearGas:
    positive = {"range_m": (200, "m"), "emission_s": (600, "s"), "grams": (1000, "g"), "diffusivity": (100, "m2/s"),
                "half_life_s": (86400, "s"), "cell_m": (50, "m"), "flee_concentration": (1e3, "g/m2"),
                "dose_injure": (1e6, "g s/m2")}
    bounds = {key: span(0, high, unit, low_open=True) for key, (high, unit) in positive.items()}
    bounds.update(rate_per_min=span(0, 60, "per min"), wind_east=span(-30, 30, "m/s"),
                  wind_north=span(-30, 30, "m/s"), injury_per_s=_PER_S)
    return table_to_dataclass(TearGas, table, path, bounds=bounds)


def parse_water_cannon(table, path="water_cannon") -> WaterCannon:
    bounds = {"trucks": span(0, 50), "reach_m": span(0, 100, "m", low_open=True),
              "width_m": span(0, 50, "m", low_open=True), "knockdown_m": span(0, 100, "m"),
              "knockdown_per_s": _PER_S, "duty": _PROB}
    cannon = table_to_dataclass(WaterCannon, table, path, bounds=bounds)
    if cannon.knockdown_m > cannon.reach_m:
        raise ScenarioError(f"knock-down reach {cannon.knockdown_m:g} m is beyond the jet's reach {cannon.reach_m:g} m",
                            path=f"{path}.knockdown_m")
    return cannon


def parse_stun_grenades(table, path="stun_grenades") -> StunGrenades:
    bounds = {"rate_per_min": span(0, 60, "per min"), "range_m": span(0, 100, "m", low_open=True),
              "startle_radius_m": span(0, 100, "m", low_open=True), "injury_radius_m": span(0, 100, "m"),
              "injury_chance": _PROB}
    grenades = table_to_dataclass(StunGrenades, table, path, bounds=bounds)
    if grenades.injury_radius_m > grenades.startle_radius_m:
        raise ScenarioError(f"injury radius {grenades.injury_radius_m:g} m is beyond the startle radius "
                            f"{grenades.startle_radius_m:g} m", path=f"{path}.injury_radius_m")
    return grenades


def densest_protesters(counts: np.ndarray, centre: tuple[float, float], range_cells: float,
                       min_people: int = 3) -> tuple[int, int] | None:
    """The coarse cell with most standing protesters within range of ``centre`` (coarse units), if any."""
    cx, cy = counts.shape
    x0, x1 = max(int(centre[0] - range_cells), 0), min(int(centre[0] + range_cells) + 1, cx)
    y0, y1 = max(int(centre[1] - range_cells), 0), min(int(centre[1] + range_cells) + 1, cy)
    if x0 >= x1 or y0 >= y1:
        return None
    window = counts[x0:x1, y0:y1]
    # an open grid, broadcast in the sum: a meshgrid per call cost 4 s of a 60 s scenario run
    gx = np.arange(x0, x1)[:, None]
    gy = np.arange(y0, y1)[None, :]
    inside = (gx - centre[0]) ** 2 + (gy - centre[1]) ** 2 <= range_cells ** 2
    masked = np.where(inside, window, -1)
    best = np.unravel_index(int(np.argmax(masked)), masked.shape)
    if masked[best] < min_people:
        return None
    return x0 + int(best[0]), y0 + int(best[1])


def startle(agents, candidates: np.ndarray, flee_time: float, escape, threat_m: tuple[float, float]) -> None:
    """Make protesters flee for ``flee_time`` seconds, away from the threat toward the exits.

    ``escape(xs, ys, threat_m)`` gives each one's escape field (``ProtestModel.escape_fields``).
    """
    agents.state[candidates] = FLEEING
    agents.timer[candidates] = np.maximum(agents.timer[candidates], flee_time)
    agents.behaviour[candidates] = LEAVE
    agents.target[candidates] = escape(agents.x[candidates], agents.y[candidates], threat_m)


def standing_protesters(agents) -> np.ndarray:
    return (agents.kind == PROTESTER) & agents.on_map() & (agents.state != INJURED)


def stun_grenade(agents, point_m: tuple[float, float], spec: StunGrenades, cell: float, u: np.ndarray,
                 flee_time: float, escape, on_hit=None) -> int:
    """A flash-bang at ``point_m``: startle everyone within the radius, injure some very close; returns injured.
    ``on_hit(indices)``, if given, hears who was hit, before their state changes."""
    idx = np.flatnonzero(standing_protesters(agents))
    d = np.hypot(agents.x[idx] * cell - point_m[0], agents.y[idx] * cell - point_m[1])
    if on_hit is not None:
        on_hit(idx[d <= spec.startle_radius_m])
    startle(agents, idx[d <= spec.startle_radius_m], flee_time, escape, point_m)
    hurt = idx[(d <= spec.injury_radius_m) & (u[idx] < spec.injury_chance)]
    agents.state[hurt] = INJURED
    agents.cause[hurt] = CAUSE_STUN_GRENADE
    return int(hurt.size)


def water_jet(agents, truck_m: tuple[float, float], aim_m: tuple[float, float], spec: WaterCannon, cell: float,
              dt: float, u: np.ndarray, flee_time: float, escape, on_hit=None) -> int:
    """One step of a jet from ``truck_m`` toward ``aim_m``; returns how many were knocked down.
    ``on_hit(indices)``, if given, hears who was hit, before their state changes."""
    direction = np.array(aim_m) - np.array(truck_m)
    norm = float(np.hypot(*direction))
    if norm == 0:
        return 0
    direction /= norm
    idx = np.flatnonzero(standing_protesters(agents))
    rel_x = agents.x[idx] * cell - truck_m[0]
    rel_y = agents.y[idx] * cell - truck_m[1]
    along = rel_x * direction[0] + rel_y * direction[1]
    across = np.abs(-rel_x * direction[1] + rel_y * direction[0])
    hit = (along > 0) & (along <= spec.reach_m) & (across <= spec.width_m / 2)
    if on_hit is not None:
        on_hit(idx[hit])
    startle(agents, idx[hit], flee_time, escape, truck_m)
    down = idx[hit & (along <= spec.knockdown_m) & (u[idx] < spec.knockdown_per_s * dt)]
    agents.state[down] = INJURED
    agents.cause[down] = CAUSE_WATER_CANNON
    return int(down.size)
