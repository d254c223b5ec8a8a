"""A whole Epstein step, and a run of steps, each in one call of compiled code; and the kernels
in two builds, :data:`PARALLEL` (with ``prange`` loops) and :data:`SERIAL` (without).

The phase order is written here once (:func:`step_kernel`; the two-worker run of
``sim.core.epstein.duo`` shares the same phases out by rows). Arguments come as the bundles of
``sim.core.epstein.bundles``. Which build runs, and when two workers do, is
``sim.core.epstein.engine``'s choice.
"""

from __future__ import annotations

from numba import njit

from ..parallel import serial_twins
from . import cells, counts, phases
from .bundles import named
from .cells import cell_counts
from .counts import window_counts
from .phases import arrest_phase, decide_phase, jail_phase, move_phase
from .world import LEAVE_GRID


@njit(cache=True)
def step_kernel(args, legitimacy, jail_key, arrest_key, move_key):
    """The phases of a step (``sim.core.epstein.phases``), in one call: one dispatch from Python,
    not a dozen. ``args``: the bundles, as ``bundles.plain`` passes them; ``legitimacy`` in
    [0, 1]; the keys are the counter-RNG keys of the phases."""
    agents, grid, scratch, geometry, rules = named(args)
    if rules.jail_mode == LEAVE_GRID:  # releases look for free cells: in agent order
        jail_phase(agents, grid, geometry, jail_key)
    window_counts(grid.cells, geometry.pad, geometry.citizen_vision, geometry.neighbourhood, scratch.padded,
                  scratch.rows_a, scratch.rows_b, scratch.counts)
    decide_phase(agents, grid, scratch, rules, legitimacy)
    arrest_phase(agents, grid, scratch, geometry, rules, arrest_key)
    if rules.movement:
        move_phase(grid, scratch, geometry, move_key)


@njit(cache=True)
def run_kernel(args, legitimacies, keys, tally):
    """``len(legitimacies)`` steps in one call, step ``s`` under ``legitimacies[s]`` and the keys
    ``keys[s]`` (jail, arrest, movement), writing after it the cells with a quiet and with an
    active citizen to ``tally[s]``: a run with no Python between steps (which costs about as
    much as a small grid's step)."""
    grid = named(args)[1]
    for s in range(legitimacies.shape[0]):
        step_kernel(args, legitimacies[s], keys[s, 0], keys[s, 1], keys[s, 2])
        tally[s, 0], tally[s, 1] = cell_counts(grid.cells)


# The serial build: each module's twins of its parallel kernels (cells.SERIAL, ...), and twins of
# the two above compiled in a namespace where the phases they call are those twins.
_PARTS = (cells, counts, phases)
_TWINS = {name: twin for part in _PARTS for name, twin in part.SERIAL.items()}
SERIAL = {**_TWINS, **serial_twins({**globals(), **_TWINS}, ["step_kernel", "run_kernel"])}
PARALLEL = {name: getattr(part, name) for part in _PARTS for name in part.SERIAL} | {
    "step_kernel": step_kernel, "run_kernel": run_kernel}
