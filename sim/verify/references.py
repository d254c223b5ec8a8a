"""What the measurements are held against: published speed-density relations and empirical data.

* Weidmann (1993), "Transporttechnik der Fussgaenger", ETH Zuerich, Schriftenreihe IVT 90:
  v(rho) = v0 (1 - exp(-gamma (1/rho - 1/rho_max))), v0 = 1.34 m/s, gamma = 1.913 /m2,
  rho_max = 5.4 /m2 (the walking model's own target, ../shared/research/calibration.md).
* SFPE Handbook (Nelson & Mowrer 2002, "Emergency movement", 3rd ed., sec. 3-14), corridors:
  v = k (1 - a rho), k = 1.40 m/s, a = 0.266 m2, at most 0.85 k below 0.54 /m2, no movement
  above 3.8 /m2 (one of the handbook relations Seyfried et al. 2009 compare; they differ widely).
* Zhang, Klingsch, Schadschneider & Seyfried (2011), J. Stat. Mech. P06004: the unidirectional
  experiments in a 1.8 m corridor, measured like the suite measures the models; the 10-90th
  percentile band of the speed at each density (``data/zhang2011_uo_180.csv``, made by
  ``scripts/verify_empirical_band.py`` from the trajectories that ship with PedPy).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

WEIDMANN_V0 = 1.34  # m/s
WEIDMANN_GAMMA = 1.913  # 1/m2
WEIDMANN_RHO_MAX = 5.4  # 1/m2
SFPE_K = 1.40  # m/s
SFPE_A = 0.266  # m2
EMPIRICAL_FILE = Path(__file__).resolve().parent / "data" / "zhang2011_uo_180.csv"

WEIDMANN_SOURCE = "Weidmann 1993 (v0 1.34 m/s, gamma 1.913, rho_max 5.4 /m2)"
SFPE_SOURCE = "SFPE Handbook (Nelson & Mowrer 2002), corridors: k 1.40 m/s, a 0.266 m2"
ZHANG_SOURCE = "Zhang et al. 2011, J. Stat. Mech. P06004 (unidirectional, 1.8 m corridor; 10-90th percentile)"


def weidmann_speed(rho) -> np.ndarray:
    """Weidmann's walking speed (m/s) at density ``rho`` (persons/m2); 0 at and above rho_max."""
    rho = np.asarray(rho, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore"):
        v = WEIDMANN_V0 * (1.0 - np.exp(-WEIDMANN_GAMMA * (1.0 / rho - 1.0 / WEIDMANN_RHO_MAX)))
    return np.where(rho <= 0, WEIDMANN_V0, np.clip(v, 0.0, None))


def weidmann_peak_flow() -> tuple[float, float]:
    """(density, specific flow) at the maximum of Weidmann's rho v(rho)."""
    rho = np.linspace(0.05, WEIDMANN_RHO_MAX, 20001)
    flow = rho * weidmann_speed(rho)
    k = int(np.argmax(flow))
    return float(rho[k]), float(flow[k])


def sfpe_speed(rho) -> np.ndarray:
    """The SFPE Handbook's corridor speed (m/s) at density ``rho`` (persons/m2)."""
    rho = np.asarray(rho, dtype=np.float64)
    v = SFPE_K * (1.0 - SFPE_A * rho)
    v = np.minimum(v, 0.85 * SFPE_K)
    return np.where(rho > 3.8, 0.0, np.clip(v, 0.0, None))


@lru_cache(maxsize=1)
def empirical_band() -> pd.DataFrame:
    """Zhang et al. (2011): density, frames, runs, speed_p10, speed_p50, speed_p90."""
    return pd.read_csv(EMPIRICAL_FILE, comment="#")
