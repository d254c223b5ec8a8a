"""Each agent's local density: people within a radius (itself included) per m2 of that circle.

Counted from the positions through square bins one radius wide: the agents sorted by bin, each
reads the 3 x 3 bins around it (found by binary search in the sorted keys), so a pass costs
O(n log n) whatever the size of the map, not O(n^2). Used by the protest on the continuous model
(``sim.protest.continuous_core``): its crush rule and its stop-walking-in rule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _sorted_bins(x, y, active, bin_m, bins_y):
    """(keys, members): the active agents' bin keys (bx * bins_y + by), sorted, and who they are."""
    n = x.shape[0]
    key = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if active[i] != 0:
            key[m] = int(x[i] / bin_m) * bins_y + int(y[i] / bin_m)
            m += 1
    members = np.empty(m, dtype=np.int64)
    m = 0
    for i in range(n):
        if active[i] != 0:
            members[m] = i
            m += 1
    keys = key[:m]
    order = np.argsort(keys, kind="mergesort")
    return keys[order], members[order]


@njit(cache=True, parallel=True)
def _densities(x, y, active, radius_m, bins_y, keys, members, key_self, key_other, out):
    r2 = radius_m * radius_m
    area = math.pi * r2
    for i in prange(x.shape[0]):
        if active[i] == 0:
            out[i] = 0.0
            continue
        bx = int(x[i] / radius_m)
        by = int(y[i] / radius_m)
        near = 0
        for cx in range(bx - 1, bx + 2):
            lo = np.searchsorted(keys, cx * bins_y + by - 1)
            hi = np.searchsorted(keys, cx * bins_y + by + 1, side="right")
            for m in range(lo, hi):
                j = members[m]
                if j != i and key_other[j] != key_self[i]:
                    continue
                dx = x[j] - x[i]
                dy = y[j] - y[i]
                if dx * dx + dy * dy <= r2:
                    near += 1
        out[i] = near / area


def local_density(x: np.ndarray, y: np.ndarray, active: np.ndarray, extent_m: tuple[float, float],
                  radius_m: float = 1.0, out: np.ndarray | None = None, key_self: np.ndarray | None = None,
                  key_other: np.ndarray | None = None) -> np.ndarray:
    """Persons per m2 within ``radius_m`` of each active agent (itself included; 0 for the inactive).
    ``extent_m``: the floor's size (m); active agents must be on it (x, y >= 0). With the int64
    keys, agent i counts only the others j with ``key_other[j] == key_self[i]`` (and itself)."""
    if key_self is None:
        key_self = key_other = np.zeros(x.shape[0], dtype=np.int64)
    bins_y = max(1, int(math.ceil(extent_m[1] / radius_m))) + 2  # a margin: by - 1 and by + 1 never wrap
    out = np.empty(x.shape[0]) if out is None else out
    keys, members = _sorted_bins(x, y, active, float(radius_m), bins_y)
    _densities(x, y, active, float(radius_m), bins_y, keys, members, key_self, key_other, out)
    return out
