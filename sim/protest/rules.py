"""The protesters' side of the rules: Epstein activation, flight, injuries, arrests, and the gate.

Scenario blocks ``[protest]`` and ``[gate]``; defaults from ../shared/research/calibration.md.
``dynamics = true`` turns on legitimacy that follows the force people see, fatigue and
regrouping by the person (``sim.core.walk.behaviour``); off (the default), legitimacy is fixed
as in Epstein (2002) and ``regroup`` decides for everyone. The dynamics' defaults are
assumptions, named as such in the scenario files that use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import span, table_to_dataclass


@dataclass(frozen=True)
class ProtestRules:
    legitimacy: float = 0.9  # perceived legitimacy L for crowds that do not set their own
    k: float = 2.3  # Epstein's arrest-probability constant
    threshold: float = 0.1  # T: active iff G - R P > T
    vision_m: float = 15.0  # how far people see police and actives
    count_cell_m: float = 5.0  # cell of the coarse grid on which people are counted
    flee_time_s: float = 45.0  # how long a startled person runs (~150 m) before calming down
    contagion_per_s: float = 0.1  # flight rate per share of fleeing people in sight
    regroup: bool = True  # calmed-down protesters return to their rally ("they shoot, we run; ... we go back")
    crush_density: float = 3.5  # persons/m^2 around a fleeing person above which crush injuries happen
    crush_per_s: float = 0.0002
    # the continuous walking model ([walking] model = "continuous") has real densities: there a person is
    # crushed (injured, cause crush) once its local density (persons within 1 m, itself included, per m2)
    # has stayed at or above crush_density_continuous for crush_sustain_s without a break. 7 per m2: Fruin
    # (1993) "The causes and prevention of crowd disasters": from about 7 per m2 a crowd becomes a fluid
    # mass, shock waves sweep people off their feet. 60 s: Lee & Hughes (2006) Accident Analysis and
    # Prevention 38:712-722: the pressure sustained over about a minute decides compressive asphyxia
    # (Hopkins et al. 1993, cited there: death ~15 s after 6227 N, 4-6 min after 1112 N). The grid uses
    # crush_density and crush_per_s instead, and the continuous model does not.
    crush_density_continuous: float = 7.0
    crush_sustain_s: float = 60.0
    arrest_per_s: float = 0.1  # per active/fleeing protester with enough officers next to it
    baton_per_s: float = 0.02
    backup: int = 3  # officers within one count cell needed for an arrest (ProtestLab: arrest only with backup)
    projectile_per_s: float = 0.000003  # chance per second an officer is hit, per active protester in sight
    projectile_cap: int = 100  # actives beyond this many add no more throwing at one officer
    # --- what people see changes them (ESIM: Reicher 1996; Stott & Reicher 1998; Drury & Reicher 2000) ---
    dynamics: bool = False  # legitimacy from force seen, fatigue, regrouping by the person
    legitimacy_loss: float = 0.5  # the largest share of L lost in a decision pass (1 s) of seeing force
    active_force_share: float = 0.1  # force on an active protester weighs this much (on a peaceful one: 1)
    half_seen: float = 5.0  # people seen hit at which the loss is half its largest
    legitimacy_recovery_per_s: float = 1.0 / 3600  # L returns to its base over about an hour without force
    fatigue_per_s: float = 1.0 / 7200  # being active drains all energy in about two hours
    rest_per_s: float = 1.0 / 7200  # quiet, energy comes back in about two hours
    tired_energy: float = 0.5  # below this energy a person is tired
    tired_leave_per_s: float = 1.0 / 600  # tired and quiet: goes home within ~10 minutes
    regroup_scale: float = 4.0  # after a flight: back to the rally with chance this * E (1 - R) (1 - L)


@dataclass(frozen=True)
class Gate:
    """A gate the active protesters press on; it opens (becomes floor) when its strength reaches 0."""

    place: str = "white_house_gate_line"  # the gate's cells: closed (walls) until it breaks
    strength: float = 1.0
    damage_per_active_s: float = 0.0002  # strength lost per second per active protester within radius
    radius_m: float = 15.0


_PER_S = span(0.0, 1.0, "per s")  # a chance per second


def parse_protest(table, path="protest") -> ProtestRules:
    bounds = {"legitimacy": span(0.0, 1.0), "k": span(0.0, 100.0, low_open=True), "threshold": span(0.0, 1.0),
              "vision_m": span(0, 500, "m", low_open=True), "count_cell_m": span(0, 100, "m", low_open=True),
              "flee_time_s": span(0, 3600, "s"), "contagion_per_s": span(0, 10, "per s"),
              "crush_density": span(0, 10, "persons/m2", low_open=True), "crush_per_s": _PER_S,
              "crush_density_continuous": span(0, 20, "persons/m2", low_open=True),
              "crush_sustain_s": span(0, 3600, "s"), "arrest_per_s": _PER_S,
              "baton_per_s": _PER_S, "backup": span(1, 100, "officers"), "projectile_per_s": _PER_S,
              "projectile_cap": span(1, 100_000, "actives"), "legitimacy_loss": span(0.0, 1.0),
              "active_force_share": span(0.0, 1.0), "half_seen": span(0, 1e6, "people", low_open=True),
              "legitimacy_recovery_per_s": _PER_S, "fatigue_per_s": _PER_S, "rest_per_s": _PER_S,
              "tired_energy": span(0.0, 1.0), "tired_leave_per_s": _PER_S, "regroup_scale": span(0.0, 100.0)}
    return table_to_dataclass(ProtestRules, table, path, bounds=bounds)


def parse_gate(table, path="gate") -> Gate:
    bounds = {"strength": span(0, 1e6, low_open=True), "damage_per_active_s": span(0, 1.0, "per active per s"),
              "radius_m": span(0, 500, "m", low_open=True)}
    return table_to_dataclass(Gate, table, path, bounds=bounds)
