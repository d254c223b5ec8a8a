"""Epstein's civil-violence model (Epstein 2002, model 1): what a world is, and its rules.

Plain numpy, no kernels: the citizen states and the other codes both engines share, the rules
as the kernels need them (:class:`Rules`), the agents' arrays (:class:`World`), a random world
(:func:`populate`), the cells an agent sees (:func:`window_offsets`) and the bands of columns
the movement phase walks (:func:`move_bands`). The engines are ``sim.core.epstein.engine``
(numba kernels) and ``sim.core.epstein.reference`` (plain Python); they agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..activation import arrest_probability_grid, arrest_probability_table


class CitizenState(IntEnum):
    """What a citizen is doing, as stored in ``World.state`` (uint8). Cops stay ``QUIET``.

    An ``IntEnum``: numba compiles its members as integer constants, and numpy stores them as
    the integers they are."""

    QUIET = 0
    ACTIVE = 1
    JAILED = 2


CITIZEN_STATE_NAMES = ("quiet", "active", "jailed")  # indexed by CitizenState
CITIZEN, COP = 0, 1  # World.kind
VON_NEUMANN, MOORE = 0, 1  # Rules.neighbourhood
NEIGHBOURHOODS = {"von_neumann": VON_NEUMANN, "moore": MOORE}
KEEP_CELL, LEAVE_GRID = 0, 1  # Rules.jail_mode: jailed citizens keep their cell, or leave the grid
JAIL_MODES = {"keep_cell": KEEP_CELL, "leave_grid": LEAVE_GRID}
EMPTY = -1  # World.occ of a cell with no agent on it
MAX_VISION = 127  # cells: windows stay under 2^16 cells, so the kernels' packed counts never carry


@dataclass(frozen=True)
class Rules:
    """The model's settings as the kernels need them (ints and floats only). Visions in cells;
    ``max_jail_term`` in steps (terms are U{0..max_jail_term})."""

    width: int
    height: int
    citizen_vision: int
    cop_vision: int
    neighbourhood: int  # VON_NEUMANN or MOORE
    rounding: int  # activation.FLOOR or activation.ROUND_HALF_EVEN
    jail_mode: int  # KEEP_CELL or LEAVE_GRID
    k: float
    threshold: float
    max_jail_term: int
    movement: bool

    def offsets(self, vision: int) -> tuple[np.ndarray, np.ndarray]:
        return window_offsets(vision, self.neighbourhood)

    def arrest_table(self) -> np.ndarray:
        """P(ratio) for every ratio a citizen can see (at most one cop per cell of its window)."""
        return arrest_probability_table(self.k, len(self.offsets(self.citizen_vision)[0]))

    def arrest_grid(self) -> np.ndarray:
        """P(C / A) for every count of cops C and of actives A (counting oneself) a citizen can see."""
        return arrest_probability_grid(self.arrest_table(), len(self.offsets(self.citizen_vision)[0]), self.rounding)


@dataclass
class World:
    """Struct of arrays: agents ``x, y, kind, state, hardship, risk, jail`` and the grid ``occ``
    (agent index per cell, ``EMPTY`` if none; jailed agents are on it only with KEEP_CELL)."""

    x: np.ndarray  # int32
    y: np.ndarray  # int32
    kind: np.ndarray  # uint8: CITIZEN or COP
    state: np.ndarray  # uint8: a CitizenState (cops stay QUIET)
    hardship: np.ndarray  # float64, U(0, 1)
    risk: np.ndarray  # float64, U(0, 1)
    jail: np.ndarray  # int32, steps left in jail
    occ: np.ndarray  # int32 [width, height]

    def copy(self) -> "World":
        return World(**{name: getattr(self, name).copy() for name in self.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.x)


def populate(width: int, height: int, citizen_density: float, cop_density: float,
             rng: np.random.Generator) -> World:
    """Each cell holds a citizen, a cop or nothing with the given probabilities (as Mesa's example);
    agents are numbered in cell order; hardship and risk aversion are U(0, 1) (24-bit)."""
    u = rng.random((width, height))
    kind_grid = np.where(u < citizen_density, CITIZEN, np.where(u < citizen_density + cop_density, COP, 2))
    xs, ys = np.nonzero(kind_grid != 2)
    n = len(xs)
    occ = np.full((width, height), EMPTY, dtype=np.int32)
    occ[xs, ys] = np.arange(n, dtype=np.int32)
    return World(x=xs.astype(np.int32), y=ys.astype(np.int32), kind=kind_grid[xs, ys].astype(np.uint8),
                 state=np.zeros(n, np.uint8), hardship=_uniform32(rng, n), risk=_uniform32(rng, n),
                 jail=np.zeros(n, np.int32), occ=occ)


def _uniform32(rng: np.random.Generator, n: int) -> np.ndarray:
    """U(0, 1) with float32's 24 bits, as float64: the kernels can keep such values in half the
    memory and compute with them exactly as the float64 arrays say."""
    return rng.random(n, dtype=np.float32).astype(np.float64)


def window_offsets(vision: int, neighbourhood: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells an agent sees, relative to its own (which is left out), in a fixed order:
    dx ascending, then dy ascending. Both engines scan windows in this order."""
    d = np.arange(-vision, vision + 1)
    dx, dy = np.meshgrid(d, d, indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    keep = (dx != 0) | (dy != 0)
    if neighbourhood == VON_NEUMANN:
        keep &= np.abs(dx) + np.abs(dy) <= vision
    return dx[keep].astype(np.int32), dy[keep].astype(np.int32)


def move_bands(width: int, vision: int) -> tuple[np.ndarray, int]:
    """Column ranges ``[b[i], b[i+1])`` for the movement phase, and their number of colours ``k``:
    band ``i`` has colour ``i % k``, and bands of one colour are more than ``2 * vision`` columns
    apart (also across the torus seam), so their agents see no cell in common and can move at the
    same time. Three colours of bands at least ``vision`` wide where that makes two bands a colour
    or more; else the fewest colours that do, with narrower bands (``k`` colours: at least
    ``2 * vision / (k - 1)`` wide; 40 columns of vision 7: 8 bands of 5, 4 colours), so that two
    threads can share each colour; else three bands, or one when the grid is too narrow."""
    v = max(vision, 1)
    for k in range(3, 2 * v + 2):
        per_colour = width // (k * -(-2 * v // (k - 1)))
        if per_colour >= 2:
            n = k * per_colour
            break
    else:
        k = n = 3 if width >= 3 * v else 1
    return np.array([b * width // n for b in range(n + 1)], dtype=np.int64), k
