"""Case: JIT compile time (cold numba cache vs warm) and peak memory with many agents, each in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from benchmarks.core_walking import bishkek_world, crowd
from sim.core.engine import Core, WalkParams
import numpy as np
world = bishkek_world()
t1 = time.perf_counter()
core = Core(world, WalkParams(dt=0.5, max_speed=2.2), crowd(world, {n}), "numba")
rng = np.random.default_rng(0)
core.step(rng)
t2 = time.perf_counter()
for _ in range(2):
    core.step(rng)
try:  # this process's own high-water mark: ru_maxrss keeps the parent's across fork and exec
    peak_kib = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"map_and_fields_s": t1 - t0, "first_step_s": t2 - t1, "peak_rss_mib": peak_kib / 1024}}))
"""


def _probe(n: int, env: dict) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PROBE.format(root=str(ROOT), n=n)], capture_output=True,
                         text=True, env=env, timeout=900, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    return result


def run(quick: bool) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cold_cache:
        cached = {**env, "NUMBA_CACHE_DIR": cold_cache}
        cold = _probe(1_000, cached)
        warm = _probe(1_000, cached)
        out = {"first_step_cold_jit_s": cold["first_step_s"], "first_step_cached_jit_s": warm["first_step_s"],
               "start_up_cached_s": warm["process_s"]}
        if not quick:
            # kernels from the cache just filled: compiling would count LLVM's memory, not the agents'
            out["peak_rss_mib_1M_agents"] = _probe(1_000_000, cached)["peak_rss_mib"]
    return out
