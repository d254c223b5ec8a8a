"""Epstein's activation rule (Epstein 2002, model 1), one numba function for every model that uses it.

A citizen with grievance ``G`` and risk aversion ``R`` who sees ``C`` cops and ``A`` actives
within its vision, ``A`` counting itself, estimates its arrest probability as

    P = 1 - exp(-k * ratio),   ratio = floor(C / A)            ("floor": NetLogo Rebellion, Epstein)
                               ratio = round_half_even(C / A)  ("round": Mesa's example, Python's round())

and is active iff ``G - R * P > T``. ``P`` comes from a table indexed by the integer ratio
(:func:`arrest_probability_table`), so both engines read the same float and agree bit for bit.
Counting oneself among the actives gives ``A = 1 + (other actives in vision)``: the
``floor(C / (1 + A_others))`` of NetLogo and the ``round(C / A)`` with ``A`` starting at one of
Mesa's example are the same ratio, rounded two ways.

``is_active`` is ``inline="always"`` so that a kernel calling it pays nothing for the call; the
Bishkek decision kernel (``sim.core.behaviour``, with ``FLOOR``) uses it. ``sim.core.epstein``,
where every citizen decides every step, reads ``P`` from :func:`arrest_probability_grid`
instead (the same floats, indexed by C and A: no division). The reference twins of both use
``is_active_py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FLOOR = 0
ROUND_HALF_EVEN = 1
RATIO_ROUNDING = {"floor": FLOOR, "round": ROUND_HALF_EVEN}


def arrest_probability_table(k: float, max_ratio: int) -> np.ndarray:
    """``table[r] = 1 - exp(-k r)`` for the integer ratios r = 0 .. max_ratio."""
    return 1.0 - np.exp(-k * np.arange(max_ratio + 1, dtype=np.float64))


@njit(cache=True, inline="always")
def cop_ratio(cops, actives, rounding):
    """The integer ratio C / A (``actives`` >= 1, counting oneself), floored or rounded half to even."""
    ratio = cops // actives
    if rounding == ROUND_HALF_EVEN:
        twice_rest = 2 * (cops - ratio * actives)
        if twice_rest > actives or (twice_rest == actives and ratio % 2 == 1):
            ratio += 1
    return ratio


def arrest_probability_grid(table: np.ndarray, max_cops: int, rounding: int) -> np.ndarray:
    """``grid[C, A]`` = ``table[cop_ratio(C, A)]`` (the last entry beyond the table's end) for C = 0 ..
    max_cops cops and A = 1 .. max_cops + 1 actives counting oneself (column 0 unused): the rule
    becomes one lookup, the same float ``is_active`` reads."""
    grid = np.zeros((max_cops + 1, max_cops + 2))
    for cops in range(max_cops + 1):
        for actives in range(1, max_cops + 2):
            grid[cops, actives] = table[min(cop_ratio(cops, actives, rounding), len(table) - 1)]
    return grid


@njit(cache=True, inline="always")
def is_active(grievance, risk, cops, actives, arrest_p_table, threshold, rounding):
    """Epstein's rule: ``G - R * P(C / A) > T``, with ``A`` counting the deciding citizen itself.

    Ratios beyond the table's end read its last entry (size the table to the largest possible
    cop count to make that exact)."""
    ratio = cop_ratio(cops, actives, rounding)
    if ratio >= arrest_p_table.shape[0]:
        ratio = arrest_p_table.shape[0] - 1
    return grievance - risk * arrest_p_table[ratio] > threshold


def cop_ratio_py(cops: int, actives: int, rounding: int) -> int:
    """Plain-Python twin of :func:`cop_ratio` (the reference engine and the tests use it)."""
    if rounding == ROUND_HALF_EVEN:
        return round(cops / actives)  # Python's round(): half to even, as in Mesa's example
    return cops // actives


def is_active_py(grievance: float, risk: float, cops: int, actives: int, arrest_p_table, threshold: float,
                 rounding: int) -> bool:
    ratio = min(cop_ratio_py(cops, actives, rounding), len(arrest_p_table) - 1)
    return grievance - risk * float(arrest_p_table[ratio]) > threshold
