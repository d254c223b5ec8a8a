"""What a protest scenario can only be checked against its map, the walking engine or the machine:
memory, the engine's limits, whether people fit where they start and can reach where they go.

``check_resources`` needs no map (it runs before anything is allocated); ``check_goals`` takes a
reachability oracle, so a run asks its distance fields (free: it has them) and ``validate`` asks a
labelling of the map's floor (no fields computed).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from ..core.counter_rng import STRIDE
from ..core.walk.bits import PAD
from ..core.walk.engine import WalkParams
from ..errors import ScenarioError
from ..geo.fields import EXITS
from ..geo.loader import map_shape
from ..resources import check_memory

# bytes a run needs per map cell: floor, places, exits, the walkers' cell table, occupancy bits, who
# stands where (int32, for swaps) and, while fields are computed (two at a time), Dijkstra's
# distances and flags; plus a float32 per field and cell
BYTES_PER_CELL = 68
BYTES_PER_FIELD_CELL = 4
BYTES_PER_AGENT = 1500  # the arrays' row and the Mesa agent object viewing it
def field_targets(scenario) -> set[str]:
    """Every place someone may head for: each needs a distance field over the whole map."""
    targets = {EXITS}
    targets |= {c.target or c.place for c in scenario.crowds}
    for u in scenario.police:
        targets |= {u.place, *u.pursue}
    targets |= {e.target for e in scenario.events if e.target}
    targets |= {t.target for t in scenario.triggers if t.target}
    return targets


def check_resources(scenario) -> None:
    """Refuse, before anything is allocated, a run that could not fit in this machine's memory or
    that the walking engine cannot step (moves per step, density window)."""
    spec = scenario.map
    nx, ny = map_shape(spec)
    cells = nx * ny
    fields = len(field_targets(scenario)) + 4  # and the exits on each side of the map, for escapes
    people = sum(c.count for c in scenario.crowds) + sum(u.count for u in scenario.police)
    need = cells * (BYTES_PER_CELL + BYTES_PER_FIELD_CELL * fields) + people * BYTES_PER_AGENT
    check_memory(need, f"at {spec.cell_size:g} m cells the map is {nx:,} x {ny:,} cells", path="map.cell_size",
                 file=scenario.source, hint="use larger cells")
    walk = WalkParams(dt=scenario.dt, max_speed=max_speed(scenario), anticipation_m=scenario.walking.anticipation_m)
    if walk.window_r(spec.cell_size) > PAD:
        smallest = walk.window_m / (2 * PAD + 1)
        raise ScenarioError(f"{spec.cell_size:g} m cells are too small for the {walk.window_m:g} m density window "
                            f"(at most {2 * PAD + 1} cells across): at least {smallest:.2f} m",
                            path="map.cell_size", file=scenario.source)
    sight = (PAD - 1) * spec.cell_size  # the cell beyond the horizon is read, inside the bit grids' padding
    if walk.horizon(spec.cell_size) > PAD - 1:
        raise ScenarioError(f"people can look at most {sight:g} m ahead on {spec.cell_size:g} m cells, not "
                            f"{scenario.walking.anticipation_m:g} m", path="walking.anticipation_m", file=scenario.source)
    moves = walk.max_moves(spec.cell_size)
    if moves + 2 > STRIDE:
        raise ScenarioError(f"a step of {scenario.dt:g} s lets the fastest walker ({walk.max_speed:g} m/s, running "
                            f"{walk.flee_factor:g}x) cross {moves} cells of {spec.cell_size:g} m; the engine takes at "
                            f"most {STRIDE - 2}: a shorter dt or larger cells", path="scenario.dt", file=scenario.source)


def max_speed(scenario) -> float:
    return max([g.walking.speed_max for g in (*scenario.crowds, *scenario.police)] or [scenario.walking.speed_max])


def check_goals(scenario, reachable: Callable[[str, str], bool], *, exits: bool) -> None:
    """Everyone can get where the scenario sends them: ``reachable(place, target)`` says whether
    someone in ``place`` can walk to ``target`` (a place, or ``EXITS``); ``exits``: the map has any."""

    def need(start: str, target: str, path: str, what: str) -> None:
        if target == EXITS and not exits:
            raise ScenarioError(f"{what} to leave, but the map has no exit", path=path, file=scenario.source)
        if not reachable(start, target):
            goal = "any exit" if target == EXITS else repr(target)
            raise ScenarioError(f"{what} in {start!r} cannot reach {goal}: walls close it off",
                                path=path, file=scenario.source)

    crowds = {c.name: c for c in scenario.crowds}
    for c in scenario.crowds:
        if c.behaviour == "leave":
            need(c.place, EXITS, f"crowds.{c.name}.behaviour", f"crowd {c.name!r} is told")
        elif c.target:
            need(c.place, c.target, f"crowds.{c.name}.target", f"crowd {c.name!r}")
    for k, e in enumerate(scenario.events):
        start = crowds[e.crowd].place
        if e.behaviour == "leave":
            need(start, EXITS, f"events.{k}.behaviour", f"event {k} tells crowd {e.crowd!r}")
        elif e.target:
            need(start, e.target, f"events.{k}.target", f"crowd {e.crowd!r}")
    units = {u.name: u for u in scenario.police}
    for u in scenario.police:
        for j, street in enumerate(u.pursue):
            need(u.place, street, f"police.{u.name}.pursue.{j}", f"unit {u.name!r}")
    for k, t in enumerate(scenario.triggers):
        if t.target:
            for name in t.units:
                need(units[name].place, t.target, f"triggers.{k}.target", f"unit {name!r}")


@lru_cache(maxsize=4)  # a sweep checks every point against the same map
def floor_reachability(gridmap) -> Callable[[str, str], bool]:
    """A reachability oracle from the map's floor split into connected parts (4-neighbour: a walker's
    diagonal step needs both sides open, so it never joins parts that 4-neighbours do not)."""
    from scipy import ndimage

    labels, _ = ndimage.label(gridmap.walkable == 1)

    @lru_cache(maxsize=None)
    def parts(target: str) -> frozenset[int]:
        mask = gridmap.exit_mask() if target == EXITS else gridmap.place_mask(target)
        return frozenset(np.unique(labels[mask]).tolist()) - {0}

    return lambda start, target: bool(parts(start) & parts(target))
