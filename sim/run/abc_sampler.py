"""A pyabc sampler that runs ABC-SMC's simulations as batch runs, reproducibly and resumably.

pyabc's own samplers draw each proposal in whichever worker is free, seeded from the operating
system, and keep the first ``n`` accepted in the order they were started; its database holds only
finished generations. A run killed mid-generation loses that generation's simulations, and two
runs (or the same run on 2 workers and on a Dask cluster) accept different particles.

Here every proposal has a slot ``j`` within generation ``t``, and the global random state is
seeded from (base seed, t, j) before pyabc draws it, so a slot's proposal depends on nothing but
the previous population. A round of slots goes in three passes, all through pyabc's own
``simulate_one`` (its proposal, prior check, distance, acceptance and weights):

1. propose: ``simulate_one`` for each slot, stopped at the simulation (the model raises
   :class:`Unknown` carrying the parameters) unless that simulation is already known;
2. run the new proposals on the batch engine (``sim.run.evaluate``), all at once;
3. replay: seed and call ``simulate_one`` again for each slot, now with known results.

Particles are taken in slot order up to the ``n``-th accepted, as pyabc's own samplers do by
start order, so the population depends only on the seed: not on the number of workers, on the
executor, or on how often the process was killed and restarted. The round size only decides how
many slots past the ``n``-th acceptance are run for nothing (at most a round's worth).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pyabc
from pyabc.sampler import Sampler


class Unknown(Exception):
    """Raised by :class:`RunModel` in the propose pass: these parameters have not been run yet."""

    def __init__(self, pars: dict):
        super().__init__("not run yet")
        self.pars = dict(pars)


class RunModel(pyabc.Model):
    """A pyabc model whose simulations are looked up in ``results`` (filled by :class:`RunSampler`)."""

    def __init__(self, key):
        super().__init__(name="protest-sim")
        self.key = key  # pars -> the hashable key of the run that simulates them
        self.results: dict = {}

    def sample(self, pars):
        k = self.key(pars)
        if k not in self.results:
            raise Unknown(pars)
        return self.results[k]


class Distance(pyabc.PNormDistance):
    """pyabc's p-norm distance, infinite where a statistic is NaN (a failed run; a share of no
    injuries): such a particle is accepted only while the tolerance is infinite (generation 0,
    the prior's sample) and never after. pyabc's own distance is NaN there, which no tolerance
    accepts, so a prior whose runs all gave NaN would be proposed from without end."""

    def __call__(self, x, x_0, t=None, par=None) -> float:
        d = super().__call__(x, x_0, t, par)
        return math.inf if math.isnan(d) else d


class RunSampler(Sampler):
    """Deterministic ABC-SMC sampling on the batch engine (see the module docstring).

    ``run(list of pars) -> list of summary-statistic dicts`` runs the proposals (``RunModel.key``
    names them). ``round_size`` slots are proposed at a time (at least the number of workers).
    ``budget`` caps the simulations of all generations together: pyabc checks its
    ``max_total_nr_simulations`` only between generations, so a generation that accepts little
    would otherwise run on past it; here it stops there, unfinished, and pyabc ends the run with
    the generations before it.
    """

    def __init__(self, model: RunModel, run, base_seed: int, round_size: int, on_generation=None,
                 budget: float = math.inf):
        super().__init__()
        self.model, self.run, self.base_seed = model, run, int(base_seed)
        self.round_size = max(1, int(round_size))
        self.budget = budget
        self.on_generation = on_generation
        self.evaluations_by_generation: dict[int, int] = {}

    def _seed(self, t: int, j: int) -> None:
        state = np.random.SeedSequence(self.base_seed, spawn_key=(t + 2, j)).generate_state(4)
        np.random.seed(state)
        random.seed(int(state[0]))

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                ana_vars=None):
        sample = self._create_empty_sample()
        spent = sum(v for k, v in self.evaluations_by_generation.items() if k != t)
        max_eval = min(max_eval, max(self.budget - spent, 0))
        accepted, slot, rate = 0, 0, 1.0
        while accepted < n:
            if slot >= max_eval:
                sample.ok = False
                break
            need = n - accepted
            size = max(self.round_size, math.ceil(need / max(rate, 0.05)))
            size = int(min(size, 4 * n, max(max_eval - slot, 1) if math.isfinite(max_eval) else 4 * n))
            slots = range(slot, slot + size)
            proposals = []
            for j in slots:  # pass 1
                self._seed(t, j)
                try:
                    simulate_one()
                except Unknown as unknown:
                    proposals.append(unknown.pars)
            if proposals:  # pass 2
                results = self.run(proposals, t)
                for pars, res in zip(proposals, results):
                    self.model.results[self.model.key(pars)] = res
            taken = 0
            for j in slots:  # pass 3
                self._seed(t, j)
                particle = simulate_one()
                sample.append(particle)
                slot, taken = j + 1, taken + 1
                if particle.accepted:
                    accepted += 1
                    if accepted == n:
                        break
            rate = max(accepted / max(slot, 1), 1.0 / (slot + 1))
        self.nr_evaluations_ = slot
        self.evaluations_by_generation[t] = slot
        if self.on_generation is not None:
            self.on_generation(t, slot, accepted)
        return sample
