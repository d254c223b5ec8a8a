"""Tear gas: advection-diffusion with decay on a coarse copy of the walkable grid (numba).

The gas grid is the walking grid coarsened by an integer factor (2 m cells by default), so a
3.5-hour run of the whole map stays cheap. Concentration lives only on coarse cells that hold
some floor; faces between a floor cell and a building cell carry no flux, so gas never passes
through buildings. At the map's edge gas flows out freely.

The explicit scheme (upwind advection, five-point diffusion, exact exponential decay) is
monotone when ``dt * (4 D / h^2 + (|u| + |v|) / h) <= 1``; ``gas_substeps`` picks enough
sub-steps for that, so concentrations never go negative or blow up.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..parallel import PRANGE_ONLY


@njit(cache=True)
def coarse_floor(walkable, factor):
    """uint8 mask of coarse cells holding at least one floor cell. In numba, a band of ``factor``
    rows at a time, with no padded copy of the map: every run's start waits for it."""
    nx, ny = walkable.shape
    cx, cy = -(-nx // factor), -(-ny // factor)
    out = np.zeros((cx, cy), dtype=np.uint8)
    band = np.empty(ny, dtype=np.uint8)  # 1 where any row of the band has floor
    for c in range(cx):
        band[:] = 0
        for x in range(c * factor, min(c * factor + factor, nx)):
            for y in range(ny):
                band[y] |= walkable[x, y] == 1
        for y in range(ny):
            out[c, y // factor] |= band[y]
    return out


def gas_substeps(dt: float, h: float, diffusivity: float, wind_u: float, wind_v: float) -> int:
    """Sub-steps per model step that keep the explicit scheme monotone (with a 10% margin)."""
    rate = 4.0 * diffusivity / (h * h) + (abs(wind_u) + abs(wind_v)) / h
    return max(1, int(math.ceil(dt * rate / 0.9)))


@njit(cache=True, inline="always")
def _face_flux(conc, floor, c, qx, qy, kd, w):
    """Change of a cell's concentration through one face; ``w > 0``: the wind blows out of it."""
    nx, ny = conc.shape
    if qx < 0 or qy < 0 or qx >= nx or qy >= ny:
        # open edge: gas leaves by diffusion into clean air and with an outward wind
        return -kd * c - (w * c if w > 0.0 else 0.0)
    if floor[qx, qy] == 0:
        return 0.0  # a building face: no flux
    cq = np.float64(conc[qx, qy])
    return kd * (cq - c) - (w * c if w > 0.0 else w * cq)


@njit(cache=True, parallel=PRANGE_ONLY)
def _gas_substep(conc, floor, out, diffusivity, wind_u, wind_v, h, dt, decay_factor):
    """One explicit step from ``conc`` into ``out``; each cell is written by one thread only."""
    nx, ny = conc.shape
    kd = diffusivity * dt / (h * h)
    ku = wind_u * dt / h
    kv = wind_v * dt / h
    for x in prange(nx):
        for y in range(ny):
            if floor[x, y] == 0:
                out[x, y] = 0.0
                continue
            c = np.float64(conc[x, y])
            change = (_face_flux(conc, floor, c, x + 1, y, kd, ku)
                      + _face_flux(conc, floor, c, x - 1, y, kd, -ku)
                      + _face_flux(conc, floor, c, x, y + 1, kd, kv)
                      + _face_flux(conc, floor, c, x, y - 1, kd, -kv))
            out[x, y] = (c + change) * decay_factor


class GasField:
    """The gas concentration (g per m^2 of ground) on the coarse grid.

    ``cell_size``: m, of the walking grid; ``factor``: walking cells per side of a gas cell;
    ``diffusivity``: m^2/s; ``wind_u``, ``wind_v``: m/s along +x (east) and +y (north);
    ``half_life_s``: s, 0 for gas that never fades.
    """

    def __init__(self, walkable: np.ndarray, cell_size: float, *, factor: int, diffusivity: float,
                 wind_u: float, wind_v: float, half_life_s: float):
        self.factor = int(factor)
        self.h = cell_size * self.factor
        self.floor = coarse_floor(walkable, self.factor)
        self.conc = np.zeros(self.floor.shape, dtype=np.float64)
        self._scratch = np.zeros_like(self.conc)
        self.diffusivity = float(diffusivity)
        self.wind_u = float(wind_u)
        self.wind_v = float(wind_v)
        self.decay_rate = math.log(2.0) / half_life_s if half_life_s > 0 else 0.0

    def emit(self, fine_x: int, fine_y: int, mass: float) -> None:
        """Add ``mass`` grams at the coarse cell over a fine cell (a canister lying there)."""
        cx, cy = fine_x // self.factor, fine_y // self.factor
        if self.floor[cx, cy]:
            self.conc[cx, cy] += mass / (self.h * self.h)

    def step(self, dt: float) -> None:
        """Spread, carry and fade the gas over ``dt`` seconds, in as many sub-steps as keep the scheme monotone."""
        if not self.conc.any():
            return
        n = gas_substeps(dt, self.h, self.diffusivity, self.wind_u, self.wind_v)
        sub = dt / n
        decay = math.exp(-self.decay_rate * sub)
        for _ in range(n):
            _gas_substep(self.conc, self.floor, self._scratch, self.diffusivity, self.wind_u, self.wind_v,
                         self.h, sub, decay)
            self.conc, self._scratch = self._scratch, self.conc

    def mass(self) -> float:
        """Grams of gas on the map."""
        return float(self.conc.sum() * self.h * self.h)
