"""Case: cost of one tear-gas step on the whole Bishkek map (the gas grid at its default 4 m cells)."""

from __future__ import annotations

import time

import numpy as np

from sim.core.walk.hazards import GasField
from sim.geo.raster import load_builtin_map
from sim.protest.police import TearGas


def run(quick: bool) -> dict:
    gm = load_builtin_map("bishkek_center", 0.5)
    spec = TearGas()
    out = {}
    for cell_m in (2.0, spec.cell_m):
        gas = GasField(gm.walkable, 0.5, factor=int(cell_m / 0.5), diffusivity=spec.diffusivity,
                       wind_u=spec.wind_east, wind_v=spec.wind_north, half_life_s=spec.half_life_s)
        floor = np.argwhere(gas.floor)
        for cx, cy in floor[:: max(1, len(floor) // 20)]:
            gas.emit(int(cx) * gas.factor, int(cy) * gas.factor, 50.0)
        gas.step(0.5)  # compile / load from cache
        steps = 20 if quick else 200
        times = []
        for _ in range(3 if quick else 5):
            t0 = time.perf_counter()
            for _ in range(steps):
                gas.step(0.5)
            times.append((time.perf_counter() - t0) / steps)
        out[f"{cell_m:g}m"] = {"grid": list(gas.floor.shape), "ms_per_step_dt_0.5s": 1e3 * float(np.median(times))}
    return out
