"""Two checkouts' walking cores side by side in one process: is a change to the core faster?

    python benchmarks/walking_ab.py OLD_CHECKOUT NEW_CHECKOUT [--agents 100000] [--steps 12]

Runs in separate processes, even in turns, disagree by 10-50 % on this shared 2-core machine
(A against itself: 0.5-1.5 a pair). Here both cores walk in one process: each checkout's ``sim``
package is copied under its own name (``sim_a``, ``sim_b``: ``sim/core`` and ``sim/geo`` import
nothing absolute), both get the same crowd on the Bishkek map, and they take steps in turns
(A B, B A, ...), each timed (process CPU time, or with ``--wall`` the clock's), so a slow moment
of the machine lands on both. CPU time counts numba's threads waiting for each other too: with two
threads it is the cost of the step, not its wall time.

Which copy is loaded and built second matters, by itself, by up to 15 % at 10,000 walkers (A
against itself: 0.93; the cause is not known), so the comparison is made both ways, each in a
fresh process (old as A, then new as A), and the figure is the geometric mean of the two ratios,
in which that bias cancels. It also says whether both walked the
same (positions and budgets): a change meant to keep the results must print ``same: true``.

Numba's cache goes to a folder named by a hash of both copies: numba keys a cached kernel by the
file that defines it, and a kernel's helpers from other files (inlined into it) would otherwise
be the old ones after only their file changed. The first run of a pair of sources compiles both.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = ("ala_too_square", "white_house_gate", "oak_park", "panfilov_park")
ROOT = Path(tempfile.gettempdir()) / "protest-sim-walking-ab"


def copy_package(checkout: Path, name: str) -> None:
    """``checkout``/sim copied to ROOT/``name`` (replaced only if its sources changed: keeps numba's cache)."""
    dst = ROOT / name
    src = checkout / "sim"
    if not (src / "core" / "walk" / "engine.py").is_file():
        raise SystemExit(f"{checkout} is not a protest-sim checkout (no sim/core/walk/engine.py)")
    if dst.is_dir() and sources(src) == sources(dst):
        return
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))


def sources(package: Path) -> dict[str, bytes]:
    return {str(p.relative_to(package)): p.read_bytes() for p in sorted(package.rglob("*.py"))}


def cores(agents: int, anticipation_m: float | None):
    """One walking core per copy, on the same map and crowd (seed 0, every street)."""
    raster = importlib.import_module("sim_a.geo.raster")
    gm = raster.load_builtin_map("bishkek_center", 0.5)
    fields = importlib.import_module("sim_a.geo.fields").field_stack(gm, list(TARGETS))
    field_place = np.array([gm.place_index(t) for t in TARGETS], dtype=np.int16)
    rng = np.random.default_rng(0)
    floor = np.flatnonzero((gm.walkable == 1).ravel() & (gm.exit_mask().ravel() == 0))
    cells = rng.choice(floor, size=agents, replace=False)
    target = rng.integers(0, len(TARGETS), agents)
    speed = np.clip(rng.normal(1.34, 0.26, agents), 0.5, 2.2)
    out = {}
    for name in ("sim_a", "sim_b"):
        engine = importlib.import_module(name + ".core.walk.engine")
        state = importlib.import_module(name + ".core.walk.state")
        crowd = state.AgentArrays.empty(agents)
        crowd.x[:], crowd.y[:] = np.unravel_index(cells, gm.walkable.shape)
        crowd.behaviour[:] = state.MARCH
        crowd.target[:] = target
        crowd.speed[:] = speed
        terrain = engine.Terrain(gm.walkable.copy(), gm.place_id, gm.exit_mask().astype(np.uint8), fields,
                                 field_place, 0.5)
        # a checkout from before anticipation has no such parameter (and walks as with 0)
        looks = "anticipation_m" in engine.WalkParams.__dataclass_fields__
        extra = {"anticipation_m": anticipation_m} if anticipation_m is not None and looks else {}
        out[name] = engine.Core(terrain, engine.WalkParams(dt=0.5, max_speed=2.2, **extra), crowd, "numba")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=12, help="timed steps of each core (after one untimed)")
    parser.add_argument("--wall", action="store_true", help="time steps by the clock, not by process CPU time")
    parser.add_argument("--anticipation-m", type=float, default=None, help="both cores' [walking] anticipation_m")
    parser.add_argument("--one-way", action="store_true", help="one process, old as A (what each way runs)")
    args = parser.parse_args(argv)
    if not args.one_way:
        return both_ways(argv if argv is not None else sys.argv[1:], args)
    ROOT.mkdir(parents=True, exist_ok=True)
    copy_package(args.old.resolve(), "sim_a")
    copy_package(args.new.resolve(), "sim_b")
    digest = hashlib.sha1(b"".join(b for name in ("sim_a", "sim_b") for b in sources(ROOT / name).values()))
    os.environ["NUMBA_CACHE_DIR"] = str(ROOT / "numba" / digest.hexdigest()[:16])
    sys.path.insert(0, str(ROOT))
    walkers = cores(args.agents, args.anticipation_m)
    rngs = {name: np.random.default_rng(0) for name in walkers}
    for name, core in walkers.items():
        core.step(rngs[name])  # compiles or loads the kernels; first touches of the arrays
    times: dict[str, list[float]] = {"sim_a": [], "sim_b": []}
    clock = time.perf_counter if args.wall else time.process_time
    for s in range(args.steps):
        for name in ("sim_a", "sim_b") if s % 2 == 0 else ("sim_b", "sim_a"):
            t0 = clock()
            walkers[name].step(rngs[name])
            times[name].append(clock() - t0)
    a, b = (walkers[n].agents for n in ("sim_a", "sim_b"))
    same = bool(np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(a.budget, b.budget))
    ta, tb = np.array(times["sim_a"]), np.array(times["sim_b"])
    print(json.dumps({
        "agents": args.agents, "steps": args.steps,
        "clock": "wall" if args.wall else "cpu",
        "old_agent_steps_per_s": round(args.agents * args.steps / ta.sum()),
        "new_agent_steps_per_s": round(args.agents * args.steps / tb.sum()),
        "new_over_old": round(float(ta.sum() / tb.sum()), 3),
        "new_over_old_by_step": [round(float(x), 3) for x in ta / tb],
        "same": same}))
    return 0


def both_ways(argv: list[str], args: argparse.Namespace) -> int:
    """The comparison made old-as-A and new-as-A, each in its own process; the geometric mean of the ratios."""
    rest = [a for a in argv if a not in (str(args.old), str(args.new))]
    runs = []
    for first, second in ((args.old, args.new), (args.new, args.old)):
        out = subprocess.run([sys.executable, __file__, str(first), str(second), "--one-way", *rest],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    forward, backward = runs[0]["new_over_old"], runs[1]["new_over_old"]
    print(json.dumps({"agents": args.agents, "steps": args.steps, "clock": runs[0]["clock"],
                      "new_over_old": round(math.sqrt(forward / backward), 3),
                      "new_over_old_with_new_second": forward, "old_over_new_with_old_second": backward,
                      "same": runs[0]["same"] and runs[1]["same"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
