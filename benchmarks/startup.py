"""Case: start-up (process launch to the first step done, cold numba cache vs warm) and peak memory
with many agents, each in a fresh process.

Start-up ends when the first step has been taken: the probes print the wall clock then, and the
parent subtracts the moment it launched them. The process's own exit (the interpreter's last
garbage collection, 0.6 s here; ``protest-sim`` skips it) is no part of starting up, so it is
reported apart, as the whole process's time.

"Cached" means every cache a second run finds on a default Python: numba's kernels, the map and
fields, and the compiled bytecode of our modules. This machine sets ``PYTHONDONTWRITEBYTECODE``,
which would leave our modules compiled from source in every process (0.2 s), so the probe that
fills the caches runs without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "bishkek_2020_10_05.toml"

_PEAK = r"""
try:  # this process's own high-water mark: ru_maxrss keeps the parent's across fork and exec
    peak_kib = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    import resource
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

# the walking core alone on the Bishkek map: the benchmarks' crowd of n marchers
_CORE_PROBE = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from benchmarks.core_walking import bishkek_terrain, crowd
from sim.core.walk.engine import Core, WalkParams
import numpy as np
terrain = bishkek_terrain()
t1 = time.perf_counter()
core = Core(terrain, WalkParams(dt=0.5, max_speed=2.2), crowd(terrain, {n}), "numba")
rng = np.random.default_rng(0)
core.step(rng)
t2 = time.perf_counter()
ready = time.time()
for _ in range(2):
    core.step(rng)
""" + _PEAK + r"""
print(json.dumps({{"ready": ready, "first_step_s": t2 - t1, "peak_rss_mib": peak_kib / 1024}}))
"""

# a run of the 5 October scenario as ``protest-sim run`` starts it (sim.cli.console_main): the
# garbage collector paused (sim.gc_pause), Mesa imported first, the runner's modules, scenario
# file, Mesa model, collector resumed, first step
_RUN_PROBE = r"""
import json, time
from sim import gc_pause
gc_pause.pause()
import mesa
from sim.run import runner
from sim.protest.model import ProtestModel
from sim.kinds import load_scenario
model = ProtestModel(load_scenario({scenario!r}))
gc_pause.resume()
model.step()
print(json.dumps({{"ready": time.time()}}))
"""


def _probe(code: str, env: dict) -> dict:
    launched = time.time()
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900,
                         check=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    result["start_up_s"] = result.pop("ready") - launched
    return result


def _median_by_start_up(results: list[dict]) -> dict:
    return sorted(results, key=lambda r: r["start_up_s"])[len(results) // 2]


def run(quick: bool) -> dict:
    env = dict(os.environ)
    filling = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as cold_cache:
        cached = {**env, "NUMBA_CACHE_DIR": cold_cache}
        core = _CORE_PROBE.format(root=str(ROOT), n=1_000)
        cold = _probe(core, {**filling, "NUMBA_CACHE_DIR": cold_cache})
        warm = [_probe(core, cached) for _ in range(repeats)]
        mid = _median_by_start_up(warm)
        out = {"first_step_cold_jit_s": cold["first_step_s"], "first_step_cached_jit_s": mid["first_step_s"],
               "start_up_cached_s": mid["start_up_s"], "process_cached_s": mid["process_s"],
               "start_up_cached_all_s": [r["start_up_s"] for r in warm]}
        if not quick:
            # kernels from the cache just filled: compiling would count LLVM's memory, not the agents'
            out["peak_rss_mib_1M_agents"] = _probe(_CORE_PROBE.format(root=str(ROOT), n=1_000_000),
                                                   cached)["peak_rss_mib"]
    # the scenario with the user's numba cache: the first probe fills it if the scenario never ran
    flagship = _RUN_PROBE.format(scenario=str(FLAGSHIP))
    _probe(flagship, filling)
    runs = [_probe(flagship, env) for _ in range(repeats)]
    out["run_start_up_cached_s"] = _median_by_start_up(runs)["start_up_s"]
    out["run_start_up_cached_all_s"] = [r["start_up_s"] for r in runs]
    return out
