"""The numba kernels (no Mesa here).

Waiting OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=passive``, unless the user
set it): a spinning thread holds a core that another program may need, and while it spins the
thread that still has work waits for that core, which made a step up to ten times slower on a
busy two-core machine. Set before numba starts its thread pool, i.e. before any kernel runs.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

ENGINES = ("numba", "python")  # the fast kernels, or the plain-Python reference that proves them right
