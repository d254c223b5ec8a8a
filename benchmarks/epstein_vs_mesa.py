"""Case: Epstein's civil violence, our numba model against Mesa's own example, side by side.

Same rules and sizes: Mesa's example at its defaults (round(C / A), von Neumann, jailed agents
keep their cell, densities 0.7 / 0.074, vision 7) on 40x40 to 1000x1000 tori, and ours with
``scenarios/epstein_2002_mesa.toml`` at the same size. Each size times Mesa, then ours, in the
same process, and reports agent-steps per second and the ratio. Mesa caches each cell's
neighbourhood when first asked, so its first steps are slower (2.2 s, then 0.8 s a step at
100x100): it is warmed up with a few steps at 40x40 and 100x100, not at 400x400, where a step
takes about 35 s (the ratio there is overstated by up to ~2x). At 1000x1000 a step would take
minutes, so Mesa is timed on a random sample of agents stepping (its own ``Citizen.step`` /
``Cop.step`` calls, cold caches, without its per-step DataCollector). ``quick`` times Mesa at
40x40 and 100x100 only.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numba
import numpy as np

from sim.core.epstein import PARALLEL_CELLS
from sim.epstein.model import EpsteinModel
from sim.scenario import load_scenario

MESA_FILE = Path(__file__).resolve().parent.parent / "scenarios" / "epstein_2002_mesa.toml"
SIZES = (40, 100, 400, 1000)
# size: (Mesa: warm-up steps, repetitions, steps per repetition or None to sample agents;
#        ours: repetitions, steps per repetition)
FULL = {40: (10, 3, 10, 3, 500), 100: (6, 3, 1, 3, 200), 400: (1, 1, 1, 3, 20), 1000: (0, 1, None, 3, 10)}
QUICK = {40: (5, 2, 5, 2, 200), 100: (2, 1, 1, 2, 50), 400: (0, 0, 0, 2, 10), 1000: (0, 0, 0, 2, 5)}
MESA_SAMPLE = 40_000  # agent-steps timed at 1000x1000


def _mesa(size: int, warm: int, reps: int, steps: int | None) -> dict:
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence, EpsteinScenario

    t0 = time.perf_counter()
    model = EpsteinCivilViolence(width=size, height=size, scenario=EpsteinScenario(rng=1))
    setup = time.perf_counter() - t0
    n = len(model.agents)
    if steps is None:
        agents = list(model.agents)
        random.Random(1).shuffle(agents)
        t0 = time.perf_counter()
        for agent in agents[:MESA_SAMPLE]:
            agent.step()
        rate = MESA_SAMPLE / (time.perf_counter() - t0)
        how = f"{MESA_SAMPLE:,} agents stepped (of {n:,}), no DataCollector"
    else:
        for _ in range(warm):
            model.step()
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(steps):
                model.step()
            rates.append(n * steps / (time.perf_counter() - t0))
        rate = float(np.median(rates))
        how = f"median of {reps} x {steps} full steps after {warm}"
    del model
    return {"agents": n, "mesa_agent_steps_per_s": rate, "mesa_setup_s": setup, "mesa_timed": how}


def _ours(size: int, reps: int, steps: int) -> dict:
    scenario = load_scenario(MESA_FILE).with_values({"grid.width": size, "grid.height": size})
    model = EpsteinModel(scenario, seed=1, steps=10**9, agent_views=False)
    model.step()  # loads the compiled kernels
    n = len(model.world)  # before timing: reading the world writes the agents' arrays (see Kernels.sync)

    def rate() -> float:
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(steps):
                model.step()
            rates.append(n * steps / (time.perf_counter() - t0))
        return float(np.median(rates))

    out = {"numba_agent_steps_per_s": rate(), "numba_threads": numba.get_num_threads() if size * size >= PARALLEL_CELLS
           else 1, "numba_timed": f"median of {reps} x {steps} steps"}
    if out["numba_threads"] > 1:  # on a shared machine one thread can be faster: say so
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            out["numba_1_thread_agent_steps_per_s"] = rate()
        finally:
            numba.set_num_threads(threads)
    return out


def run(quick: bool) -> dict:
    plan = QUICK if quick else FULL
    sizes = {}
    for size in SIZES:
        warm, mesa_reps, mesa_steps, reps, steps = plan[size]
        row = _mesa(size, warm, mesa_reps, mesa_steps) if mesa_reps else {"mesa_timed": "not in quick mode"}
        row.update(_ours(size, reps, steps))
        if "mesa_agent_steps_per_s" in row:
            row["ratio"] = row["numba_agent_steps_per_s"] / row["mesa_agent_steps_per_s"]
        sizes[f"{size}x{size}"] = row
        print(f"  {size}x{size}: {row}", flush=True)
    return {"rules": "Mesa example defaults (round, von Neumann, jailed keep their cell)", "sizes": sizes}
