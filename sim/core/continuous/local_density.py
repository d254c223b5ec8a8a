"""Each agent's local density: people within a radius (itself included) per m2 of that circle.

Counted from the positions through square bins one radius wide: the agents sorted by bin, each
reads the 3 x 3 bins around it (three runs of the sorted keys, found by pointers walked once over
them), so a pass costs O(n log n) whatever the size of the map, not O(n^2). Used by the protest on the continuous model
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


@njit(cache=True)
def _runs(keys, bins_y):
    """Per agent in sorted order: where the three columns of 3 bins around its bin begin and end in
    ``keys``; worked out once per occupied bin with pointers that only move forward (the bins
    asked about grow with the key), so without a binary search."""
    m_all = keys.shape[0]
    lo = np.empty((m_all, 3), dtype=np.int64)
    hi = np.empty((m_all, 3), dtype=np.int64)
    p_lo = np.zeros(3, dtype=np.int64)
    p_hi = np.zeros(3, dtype=np.int64)
    for q in range(m_all):
        if q > 0 and keys[q] == keys[q - 1]:
            lo[q] = lo[q - 1]
            hi[q] = hi[q - 1]
            continue
        for d in range(3):
            first = keys[q] + (d - 1) * bins_y - 1
            last = keys[q] + (d - 1) * bins_y + 1
            p = p_lo[d]
            while p < m_all and keys[p] < first:
                p += 1
            p_lo[d] = p
            lo[q, d] = p
            p = max(p_hi[d], p)
            while p < m_all and keys[p] <= last:
                p += 1
            p_hi[d] = p
            hi[q, d] = p
    return lo, hi


@njit(cache=True, parallel=True)
def _densities(x, y, ask, radius_m, bins_y, keys, members, key_self, key_other, out):
    r2 = radius_m * radius_m
    area = math.pi * r2
    m_all = members.shape[0]
    sx = np.empty(m_all)  # the bins' agents in a row in memory: a search reads them in order
    sy = np.empty(m_all)
    sk = np.empty(m_all, dtype=np.int64)
    for m in range(m_all):
        sx[m] = x[members[m]]
        sy[m] = y[members[m]]
        sk[m] = key_other[members[m]]
    out[:] = 0.0
    lo, hi = _runs(keys, bins_y)
    for q in prange(m_all):
        i = members[q]
        if ask[i] == 0:
            continue
        xi = sx[q]
        yi = sy[q]
        ki = key_self[i]
        near = 1  # itself
        for d in range(3):
            for m in range(lo[q, d], hi[q, d]):
                dx = sx[m] - xi
                dy = sy[m] - yi
                near += (sk[m] == ki) & (dx * dx + dy * dy <= r2) & (m != q)
        out[i] = near / area


def local_density(x: np.ndarray, y: np.ndarray, active: np.ndarray, extent_m: tuple[float, float],
                  radius_m: float = 1.0, out: np.ndarray | None = None, key_self: np.ndarray | None = None,
                  key_other: np.ndarray | None = None, ask: np.ndarray | None = None) -> np.ndarray:
    """Persons per m2 within ``radius_m`` of each active agent (itself included; 0 for the inactive).
    ``extent_m``: the floor's size (m); active agents must be on it (x, y >= 0). With the int64
    keys, agent i counts only the others j with ``key_other[j] == key_self[i]`` (and itself).
    ``ask`` (uint8, a subset of the active): only these get a density (the others 0), all active
    agents are still counted; a pass then costs little more than the sort when few ask."""
    if key_self is None:
        key_self = key_other = np.zeros(x.shape[0], dtype=np.int64)
    bins_y = max(1, int(math.ceil(extent_m[1] / radius_m))) + 2  # a margin: by - 1 and by + 1 never wrap
    out = np.empty(x.shape[0]) if out is None else out
    keys, members = _sorted_bins(x, y, active, float(radius_m), bins_y)
    _densities(x, y, active if ask is None else ask, float(radius_m), bins_y, keys, members, key_self, key_other, out)
    return out
