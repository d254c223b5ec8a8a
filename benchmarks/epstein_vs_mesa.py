"""Case: Epstein's civil violence, our numba model against Mesa's own example, side by side.

Same rules and sizes: Mesa's example at its defaults (round(C / A), von Neumann, jailed agents
keep their cell, densities 0.7 / 0.074, vision 7) on 40x40 to 1000x1000 tori, and ours with
``scenarios/epstein_2002_mesa.toml`` at the same size, both run by Mesa's ``run_for``, each
collecting its counts every step. Each size times both in the same process
and reports agent-steps per second and the ratio; where Mesa is timed on several whole steps
(40x40, 100x100) the two take turns, and the ratio is the median of the pairs' ratios. Mesa
caches each cell's neighbourhood when first asked, so its first steps are slower (2.2 s, then 0.8 s a step at
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

from sim.epstein.model import EpsteinModel
from sim.kinds import load_scenario

MESA_FILE = Path(__file__).resolve().parent.parent / "scenarios" / "epstein_2002_mesa.toml"
SIZES = (40, 100, 400, 1000)
# size: (Mesa: warm-up steps, repetitions, steps per repetition or None to sample agents;
#        ours: repetitions, steps per repetition)
FULL = {40: (10, 5, 10, 5, 500), 100: (6, 5, 1, 5, 200), 400: (1, 1, 1, 3, 20), 1000: (0, 1, None, 3, 10)}
QUICK = {40: (5, 2, 5, 2, 200), 100: (2, 1, 1, 2, 50), 400: (0, 0, 0, 2, 10), 1000: (0, 0, 0, 2, 5)}
MESA_SAMPLE = 40_000  # agent-steps timed at 1000x1000


def _mesa_model(size: int):
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence, EpsteinScenario

    t0 = time.perf_counter()
    model = EpsteinCivilViolence(width=size, height=size, scenario=EpsteinScenario(rng=1))
    return model, time.perf_counter() - t0


def _mesa_sampled(model) -> float:
    """Agent-steps per second of Mesa's own agent steps, on a random sample of its agents."""
    agents = list(model.agents)
    random.Random(1).shuffle(agents)
    t0 = time.perf_counter()
    for agent in agents[:MESA_SAMPLE]:
        agent.step()
    return MESA_SAMPLE / (time.perf_counter() - t0)


def _ours_model(size: int) -> EpsteinModel:
    scenario = load_scenario(MESA_FILE).with_values({"grid.width": size, "grid.height": size})
    model = EpsteinModel(scenario, seed=1, steps=10**9, agent_views=False)
    model.run_for(1)  # loads the compiled kernels
    len(model.world)  # before timing: reading the world writes the agents' arrays (see Kernels.sync)
    return model


def _rate(model, agents: int, steps: int) -> float:
    """Agent-steps per second of Mesa's ``run_for(steps)``: Mesa's example steps one at a time
    through it; ours runs the steps in one call of its engine, with the same DataCollector rows."""
    t0 = time.perf_counter()
    model.run_for(steps)
    return agents * steps / (time.perf_counter() - t0)


def _compare(size: int, warm: int, mesa_reps: int, mesa_steps: int | None, reps: int, steps: int) -> dict:
    """Both models at one size. Where Mesa steps whole, the two take turns (a Mesa repetition, then
    one of ours), each pair gives a ratio and the figure is their median: a slow moment of the
    machine lands on a pair, not on one model's every repetition."""
    mesa, setup = _mesa_model(size)
    n_mesa = len(mesa.agents)
    ours = _ours_model(size)
    n_ours = len(ours.world)
    threads = numba.get_num_threads()  # small grids too: their runs go on two workers (sim.core.epstein.duo)
    row = {"agents": n_mesa, "mesa_setup_s": setup, "numba_threads": threads,
           "numba_timed": f"median of {reps} x {steps} steps"}
    if mesa_steps is None:
        row["mesa_agent_steps_per_s"] = _mesa_sampled(mesa)
        row["mesa_timed"] = f"{MESA_SAMPLE:,} agents stepped (of {n_mesa:,}), no DataCollector"
        row["numba_agent_steps_per_s"] = float(np.median([_rate(ours, n_ours, steps) for _ in range(reps)]))
        row["ratio"] = row["numba_agent_steps_per_s"] / row["mesa_agent_steps_per_s"]
    else:
        for _ in range(warm):
            mesa.step()
        mesa_rates, our_rates, ratios = [], [], []
        for k in range(max(reps, mesa_reps)):
            if k < mesa_reps:
                mesa_rates.append(_rate(mesa, n_mesa, mesa_steps))
            our_rates.append(_rate(ours, n_ours, steps))
            if k < mesa_reps:
                ratios.append(our_rates[-1] / mesa_rates[-1])
        row["mesa_agent_steps_per_s"] = float(np.median(mesa_rates))
        row["mesa_timed"] = f"median of {mesa_reps} x {mesa_steps} full steps after {warm}, taking turns with ours"
        row["numba_agent_steps_per_s"] = float(np.median(our_rates))
        row["ratio"] = float(np.median(ratios))
        row["ratio_by_pair"] = ratios
    del mesa
    if threads > 1:  # on a shared machine one thread can be faster: say so
        numba.set_num_threads(1)
        try:
            row["numba_1_thread_agent_steps_per_s"] = float(np.median([_rate(ours, n_ours, steps)
                                                                       for _ in range(reps)]))
        finally:
            numba.set_num_threads(threads)
    return row


def _ours_only(size: int, reps: int, steps: int) -> dict:
    ours = _ours_model(size)
    n = len(ours.world)
    return {"mesa_timed": "not in quick mode", "numba_threads": numba.get_num_threads(),
            "numba_agent_steps_per_s": float(np.median([_rate(ours, n, steps) for _ in range(reps)])),
            "numba_timed": f"median of {reps} x {steps} steps"}


def run(quick: bool) -> dict:
    plan = QUICK if quick else FULL
    sizes = {}
    for size in SIZES:
        warm, mesa_reps, mesa_steps, reps, steps = plan[size]
        row = _compare(size, *plan[size]) if mesa_reps else _ours_only(size, reps, steps)
        sizes[f"{size}x{size}"] = row
        print(f"  {size}x{size}: {row}", flush=True)
    return {"rules": "Mesa example defaults (round, von Neumann, jailed keep their cell)", "sizes": sizes}
