"""Counter-based random numbers: draw ``k`` of agent ``i`` in a step is a hash of (step key, i, k).

Kernels that run agents on several threads cannot share one generator, and drawing every
number a step might need into arrays beforehand costs more than the step itself. Instead each
step takes one 64-bit key from the model's ``numpy.random.Generator`` and any draw is
``mix64(key + (i * STRIDE + k + 1) * GOLDEN)``: SplitMix64's output function over a counter
(Steele, Lea & Flood 2014), the same numbers in any order, on any thread, in either engine.

``draw64``/``draw16``/``uniform`` are numba functions; ``*_py`` are their plain-Python twins
for the reference engine (tests prove them identical).
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
STRIDE = 64  # draws per agent per key: the counter of draw k of agent i is i * STRIDE + k


def new_key(rng: np.random.Generator) -> int:
    """A fresh step key from the model's generator."""
    return int(rng.integers(0, 1 << 63, dtype=np.int64))


def new_keys(rng: np.random.Generator, n: int) -> tuple[int, ...]:
    """``n`` fresh keys in one draw (a step with several phases takes one key per phase)."""
    return tuple(int(k) for k in rng.integers(0, 1 << 63, size=n, dtype=np.int64))


def new_key_rows(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """``int64[rows, n]``: the keys of ``rows`` calls of :func:`new_keys` (same draws, one call)."""
    return rng.integers(0, 1 << 63, size=(rows, n), dtype=np.int64)


@njit(cache=True, inline="always")
def mix64(z):
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def draw64(key, i, k):
    """The 64-bit draw ``k`` of agent ``i`` under ``key``."""
    counter = np.uint64(i) * np.uint64(STRIDE) + np.uint64(k) + np.uint64(1)
    return mix64(np.uint64(key) + counter * np.uint64(GOLDEN))


@njit(cache=True, inline="always")
def draw16(key, i, k):
    """The top 16 bits of :func:`draw64`, as an int in [0, 65536)."""
    return np.int64(draw64(key, i, k) >> np.uint64(48))


@njit(cache=True, inline="always")
def uniform(key, i, k):
    """A float64 in [0, 1) from the top 53 bits of :func:`draw64`."""
    return np.float64(draw64(key, i, k) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def mix64_py(z: int) -> int:
    z &= MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


def draw64_py(key: int, i: int, k: int) -> int:
    return mix64_py(int(key) + (int(i) * STRIDE + int(k) + 1) * GOLDEN)


def draw16_py(key: int, i: int, k: int) -> int:
    return draw64_py(key, i, k) >> 48


def uniform_py(key: int, i: int, k: int) -> float:
    return (draw64_py(key, i, k) >> 11) * (1.0 / 9007199254740992.0)
