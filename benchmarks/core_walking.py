"""Case: agent-steps per second of the walking core on the Bishkek map, numba against the reference."""

from __future__ import annotations

import time

import numpy as np

from sim.core.walk.engine import Core, Terrain, WalkParams
from sim.core.walk.state import MARCH, AgentArrays
from sim.geo.fields import field_stack
from sim.geo.raster import load_builtin_map

TARGETS = ("ala_too_square", "white_house_gate", "oak_park", "panfilov_park")
STEPS = 100


def bishkek_terrain(cell_size: float = 0.5) -> Terrain:
    gm = load_builtin_map("bishkek_center", cell_size)
    fields = field_stack(gm, list(TARGETS))
    field_place = np.array([gm.place_index(t) for t in TARGETS], dtype=np.int16)
    return Terrain(gm.walkable, gm.place_id, gm.exit_mask().astype(np.uint8), fields, field_place, cell_size)


def crowd(terrain: Terrain, n: int, seed: int = 0, layout: str = "uniform") -> AgentArrays:
    """n marchers heading for one of the targets: spread over every floor cell of the map
    (``uniform``, the worst case for memory traffic) or starting on and around Ala-Too Square as
    in the scenarios (``square``)."""
    rng = np.random.default_rng(seed)
    floor = (terrain.walkable == 1).ravel() & (terrain.is_exit.ravel() == 0)
    if layout == "square":
        square = terrain.field_place[0]
        near = np.isin(terrain.place_id.ravel(), [square]) | (terrain.fields[0].ravel() < 60.0)
        if (floor & near).sum() >= n:
            floor &= near
    floor = np.flatnonzero(floor)
    cells = rng.choice(floor, size=n, replace=False)
    a = AgentArrays.empty(n)
    a.x[:], a.y[:] = np.unravel_index(cells, terrain.walkable.shape)
    a.behaviour[:] = MARCH
    # around the square nobody heads for the square itself: everyone walks somewhere else
    a.target[:] = rng.integers(1 if layout == "square" else 0, len(TARGETS), n)
    a.speed[:] = np.clip(rng.normal(1.34, 0.26, n), 0.5, 2.2)
    return a


def agent_steps_per_second(terrain: Terrain, n: int, engine: str, steps: int, repeats: int,
                           layout: str = "uniform", seed: int | None = None,
                           params: WalkParams | None = None) -> list[float]:
    """One figure per repeat: a fresh crowd stepped ``steps`` times (the first step, compiling, excluded).
    Repeat ``r`` walks crowd and seed ``r``, or all walk crowd and seed ``seed`` if given."""
    params = params or WalkParams(dt=0.5, max_speed=2.2)
    figures = []
    for k in range(repeats):
        r = k if seed is None else seed
        core = Core(terrain, params, crowd(terrain, n, seed=r, layout=layout), engine)
        rng = np.random.default_rng(r)
        core.step(rng)  # warm-up: JIT load from cache, first touches of the arrays
        t0 = time.perf_counter()
        for _ in range(steps):
            core.step(rng)
        figures.append(n * steps / (time.perf_counter() - t0))
    return figures


# steps over which numba and the reference are compared: the engines walk the same crowds the same
# way (bit for bit), so the ratio compares identical work; at 1k several steps, so a single step's
# mix of walkers and the odd slow moment of the machine do not set the figure
REFERENCE_STEPS = {1_000: 10, 10_000: 1}


def anticipation_cost(terrain: Terrain, n: int, steps: int, crowds: int) -> dict:
    """Agent-steps/s of the numba core with anticipation (the default ``anticipation_m``) over the
    same without (``anticipation_m = 0``: the core walks as before walkers looked ahead), crowd by
    crowd, the two runs of a crowd side by side so a slow moment of the machine lands on both."""
    looking, blind = WalkParams(dt=0.5, max_speed=2.2), WalkParams(dt=0.5, max_speed=2.2, anticipation_m=0.0)
    for params in (looking, blind):  # loads both kernels' caches, first touches of the map
        agent_steps_per_second(terrain, n, "numba", 1, 1, params=params)
    ratios = []
    for r in range(crowds):
        with_it = agent_steps_per_second(terrain, n, "numba", steps, 1, seed=r, params=looking)[0]
        ratios.append(with_it / agent_steps_per_second(terrain, n, "numba", steps, 1, seed=r, params=blind)[0])
    return {"ratio": float(np.median(ratios)), "ratio_by_crowd": ratios}


def run(quick: bool) -> dict:
    """Numba vs the reference at 1k and 10k agents (both feasible), numba alone at 100k and 1M."""
    terrain = bishkek_terrain()
    out = {"map": "bishkek_center", "cell_size": 0.5, "dt": 0.5, "layouts": {}}
    for layout in ("uniform", "square"):
        sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
        if layout == "square":
            sizes = tuple(n for n in sizes if n <= 100_000)
        rows = out["layouts"][layout] = {}
        for n in sizes:
            # a short stretch (50 s simulated) keeps nearly everyone walking: longer runs would
            # measure people who have arrived and only mill about, which is cheaper
            steps = 20 if quick else STEPS
            repeats = 3 if quick else (5 if n < 1_000_000 else 2)
            numba = agent_steps_per_second(terrain, n, "numba", steps=steps, repeats=repeats, layout=layout)
            row = {"numba_agent_steps_per_s": float(np.median(numba))}
            if n in REFERENCE_STEPS:
                ref_steps = 1 if quick else REFERENCE_STEPS[n]
                ref_crowds = 1 if quick else 5
                # side by side, crowd by crowd: the reference walks a crowd, then numba walks the same
                # crowd over the same steps five times (its runs are short); each crowd gives a ratio,
                # so a slow moment of the machine lands on both engines, not on one
                python, same, ratios = [], [], []
                for r in range(ref_crowds):
                    python += agent_steps_per_second(terrain, n, "python", ref_steps, 1, layout, seed=r)
                    numba_r = float(np.median(agent_steps_per_second(terrain, n, "numba", ref_steps, 5, layout, seed=r)))
                    same.append(numba_r)
                    ratios.append(numba_r / python[-1])
                row["reference_steps"] = ref_steps
                row["python_agent_steps_per_s"] = float(np.median(python))
                row["numba_same_steps_agent_steps_per_s"] = float(np.median(same))
                row["speedup"] = float(np.median(ratios))
                row["speedup_by_crowd"] = ratios
            rows[str(n)] = row
    # uniform crowds: what looking ahead costs (the README quotes it)
    out["anticipation_over_none"] = {str(n): anticipation_cost(terrain, n, 20 if quick else (40 if n < 100_000 else 10),
                                                               3 if quick else 7)
                                     for n in ((10_000,) if quick else (10_000, 100_000))}
    return out
