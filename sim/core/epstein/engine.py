"""The fast Epstein engine: :class:`Kernels` steps a :class:`~sim.core.epstein.world.World` under
its :class:`~sim.core.epstein.world.Rules` on the numba kernels, choosing their serial or
parallel build (``sim.core.epstein.kernels``) by grid size, and two workers
(``sim.core.epstein.duo``) for runs of small grids. Same interface as the plain-Python
``sim.core.epstein.reference.Reference``, with which it agrees bit for bit.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from .. import spin
from .bundles import Agents, Geometry, Grid, KernelRules, Scratch, plain
from .cells import cell_counts
from .duo import duo_run_kernel
from .kernels import PARALLEL, SERIAL
from .phases import BLOCK
from .world import CITIZEN, Rules, World, move_bands

PARALLEL_CELLS = 500 * 500  # smaller grids step on the serial twins of the kernels (see Kernels.step)
BUSY_RUNS, BUSY_BACKOFF_S = 5, 0.5  # after so many busy two-worker runs in a row, one worker so long (s; run)


class Kernels:
    """The fast engine: ``step`` advances a :class:`World` under :class:`Rules`.

    The steps work on cells: what is on each (``cells``), who (``world.occ``) and their hardship
    and risk aversion (``traits``, as float32 when that holds them exactly, which halves what a
    move copies), built from the world once. The agents' ``x, y`` and ``state``
    in the world are brought up to date by :meth:`sync` (cheap when nothing changed), not by
    every step. To change a world between steps: :meth:`sync`, change it, :meth:`refresh`.

    The kernels take their arguments as five bundles (``sim.core.epstein.bundles``): the
    geometry, the rules and the scratch arrays are made here once, the agents and the grid by
    :meth:`refresh` from the world stepped, all five passed as one argument (``bundles.plain``)."""

    def __init__(self, rules: Rules, world: World) -> None:
        self.rules = rules
        w, h = rules.width, rules.height
        cdx, cdy = rules.offsets(rules.citizen_vision)
        pdx, pdy = rules.offsets(rules.cop_vision)
        vision = max(rules.citizen_vision, rules.cop_vision)
        bands, colours = move_bands(rules.width, vision)
        pad = vision + 1  # the diamond's running sums read one cell beyond the window
        self.geometry = Geometry(
            citizen_vision=rules.citizen_vision, cop_vision=rules.cop_vision, neighbourhood=rules.neighbourhood,
            pad=pad, cdx=cdx, cdy=cdy, coff=(cdx.astype(np.int64) * h + cdy).astype(np.int64), pdx=pdx, pdy=pdy,
            poff=(pdx.astype(np.int64) * h + pdy).astype(np.int64), bands=bands, colours=colours)
        self.kernel_rules = KernelRules(p_grid=rules.arrest_grid(), threshold=rules.threshold,
                                        max_jail_term=rules.max_jail_term, jail_mode=rules.jail_mode,
                                        movement=rules.movement)
        padded = (w + 2 * pad, h + 2 * pad)
        blocks = ((w + BLOCK - 1) // BLOCK, (h + BLOCK - 1) // BLOCK)
        self.scratch = Scratch(
            padded=np.empty(padded, np.uint32), rows_a=np.empty(padded, np.uint32), rows_b=np.empty(padded, np.uint32),
            counts=np.empty((w, h), np.uint32), blocks=np.empty(blocks, np.uint8), near=np.empty(blocks, np.uint8),
            marks=np.zeros((w, h), np.uint8), todo=np.empty((len(bands) - 1, h), np.int32))
        self.cells = np.empty((w, h), dtype=np.uint8)
        self.citizens = int(np.count_nonzero(world.kind == CITIZEN))
        self.kernels = SERIAL if w * h < PARALLEL_CELLS else PARALLEL
        self.duo = None  # run() on two workers (see run); None: on SERIAL, with two threads, on x86
        self._one_worker_until, self._busy_runs, self._best_duo_step = 0.0, 0, float("inf")
        self._world, self._synced = None, True
        self.refresh(world)

    def refresh(self, world: World) -> None:
        """Rebuild what is on each cell from ``world`` (its arrays as they are now)."""
        self.sync(world)  # the arrays this world has not been given yet, if it is the one stepped
        self.kernels["build_cells"](world.x, world.y, world.kind, world.state, self.cells, self.rules.jail_mode)
        narrow = all(np.array_equal(v.astype(np.float32), v) for v in (world.hardship, world.risk))
        self.traits = np.zeros(self.cells.shape + (2,), dtype=np.float32 if narrow else np.float64)
        on = world.occ >= 0
        self.traits[on, 0] = world.hardship[world.occ[on]]
        self.traits[on, 1] = world.risk[world.occ[on]]
        agents = Agents(x=world.x, y=world.y, state=world.state, hardship=world.hardship, risk=world.risk,
                        jail=world.jail)
        grid = Grid(occ=world.occ, cells=self.cells, traits=self.traits)
        self._args = plain(agents, grid, self.scratch, self.geometry, self.kernel_rules)  # the kernels' first argument
        self._world, self._synced = world, True

    def sync(self, world: World) -> None:
        """Bring the agents' ``x, y`` and ``state`` in ``world`` up to date with the cells."""
        if world is self._world and not self._synced:
            self.kernels["sync_agents"](world.x, world.y, world.state, world.occ, self.cells)
            self._synced = True

    def state_counts(self, world: World) -> tuple[int, int, int]:
        """Citizens quiet, active and jailed, counted on the cells (no :meth:`sync` needed)."""
        if world is not self._world:
            self.refresh(world)
        quiet, active = cell_counts(self.cells)
        return int(quiet), int(active), self.citizens - int(quiet) - int(active)

    def step(self, world: World, legitimacy: float, keys: tuple[int, int, int]) -> None:
        """One step; ``keys`` are the counter-RNG keys of the jail, arrest and movement phases.

        Grids under ``PARALLEL_CELLS`` run the serial twins of the kernels (``kernels.SERIAL``): a
        step has a dozen parallel loops, each launching the thread pool (1.6 us even on one
        thread), and on a busy machine waiting a scheduler time slice for its second thread
        (measured: 100 ms a step at 100x100 on two shared cores, 1.6 ms on one)."""
        if world is not self._world:
            self.refresh(world)
        self._synced = False
        self.kernels["step_kernel"](self._args, legitimacy, keys[0], keys[1], keys[2])

    def run(self, world: World, legitimacies: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """``len(legitimacies)`` steps in one call (step ``s`` as ``step(world, legitimacies[s],
        keys[s])``); returns the citizens quiet, active and jailed after each, ``int64[steps, 3]``.
        Grids under ``PARALLEL_CELLS`` run on two workers in one parallel region when numba has two
        threads (``sim.core.epstein.duo``; ``duo`` True or False forces it either way where the two
        workers can run at all, ``spin.AVAILABLE``: x86), except for
        ``BUSY_BACKOFF_S`` after ``BUSY_RUNS`` runs in a row found the machine busy: they ended on
        one worker (one run in fifty does so on a quiet machine here, after a hiccup of the
        system), or took over three times the best time a step of this engine's two-worker runs.
        (Seen with two processes running two workers each on two cores: each run's parallel
        region waits for a time slice to start and end, too short for ``spin.alone`` to notice.)"""
        if world is not self._world:
            self.refresh(world)
        self._synced = False
        steps = len(legitimacies)
        tally = np.zeros((steps, 3), dtype=np.int64)
        duo = spin.AVAILABLE and (self.duo or (self.duo is None and self.kernels is SERIAL
                                               and numba.get_num_threads() >= 2
                                               and time.monotonic() >= self._one_worker_until))
        run = duo_run_kernel if duo else self.kernels["run_kernel"]
        start = time.perf_counter()
        alone = run(self._args, np.ascontiguousarray(legitimacies, dtype=np.float64),
                    np.ascontiguousarray(keys, dtype=np.int64).reshape(steps, 3), tally)
        if duo and steps:  # runs that ended alone, or took 3x the best time, one after another: busy
            per_step = (time.perf_counter() - start) / steps
            self._best_duo_step = min(self._best_duo_step, per_step)
            busy = alone or per_step > 3 * self._best_duo_step
            self._busy_runs = self._busy_runs + 1 if busy else 0
            if self._busy_runs >= BUSY_RUNS:
                self._one_worker_until, self._busy_runs = time.monotonic() + BUSY_BACKOFF_S, 0
        tally[:, 2] = self.citizens - tally[:, 0] - tally[:, 1]
        return tally
