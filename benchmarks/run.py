"""Benchmarks of the core: ``python benchmarks/run.py [--quick]``.

Each case reports medians over repetitions after a warm-up, and ratios measured side by side
in the same process; results go to results/benchmarks/latest.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import batch_throughput, core_walking, full_scenario, gas_diffusion, startup, viz_frames  # noqa: E402
from benchmarks import analysis_throughput, continuous_vs_jupedsim, epstein_vs_mesa, map_import, trajectories  # noqa: E402
from benchmarks import continuous_protest, viz_jump  # noqa: E402
from benchmarks.report import scaling_figure, update_readme  # noqa: E402

CASES = {"core_walking": core_walking.run, "gas_diffusion": gas_diffusion.run, "full_scenario": full_scenario.run,
         "startup": startup.run, "batch_throughput": batch_throughput.run, "viz_frames": viz_frames.run,
         "epstein_vs_mesa": epstein_vs_mesa.run, "map_import": map_import.run, "trajectories": trajectories.run,
         "analysis_throughput": analysis_throughput.run, "calibration_quick": analysis_throughput.run_quick_calibration,
         "continuous_vs_jupedsim": continuous_vs_jupedsim.run, "viz_jump": viz_jump.run,
         "continuous_protest": continuous_protest.run}
TARGETS = {
    "core_walking": "numba >= 200x the Python reference; >= 5e6 agent-steps/s at 10k, >= 1e7 at 100k agents",
    "gas_diffusion": "a small share of a 0.5 s step",
    "full_scenario": "the 5 October scenario, 3.5 h simulated, in under 60 s",
    "startup": "cached start-up (launch to first step done) under 3 s; 1 million agents within 2 GiB",
    "batch_throughput": "2 workers >= 1.7x one worker; scheduling overhead < 5% of a 2 s run",
    "viz_frames": ">= 5 frames/s of map drawing with 5,000 protesters",
    "epstein_vs_mesa": ">= 1000x Mesa's Epstein example at every size; >= 2e7 agent-steps/s at 1000x1000",
    "map_import": "a 2 km x 2 km city box imported from OpenStreetMap in under 30 s, then loaded from the cache",
    "trajectories": "trajectories every second cost <= 15% of the 5 October run's wall time; analyze under 60 s",
    "analysis_throughput": "evaluations/s of sensitivity and calibration on 2 workers >= 1.7x one",
    "calibration_quick": "the shipped 5 October calibration's --quick budget under an hour on 2 cores",
    "continuous_vs_jupedsim": ">= 20x JuPedSim's agent updates/s (1k, 10k); room evacuation time and door flow "
                              "within 10 % of JuPedSim's",
    "continuous_protest": "the 5 October scenario on the continuous walking model in under 10x the grid model's "
                          "wall time (side by side)",
    "viz_jump": "the browser view's jump 19:30 -> 20:10 in under 10 s (playing there took 57 s); replay look-ups "
                "well under a frame",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke test, not a measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks")
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="run only these cases")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's performance table")
    args = parser.parse_args(argv)
    report = {"quick": args.quick, "machine": platform.platform(), "python": platform.python_version(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cases": {}}
    for name in args.case or sorted(CASES):
        t0 = time.perf_counter()
        print(f"[{name}] running...", flush=True)
        result = CASES[name](args.quick)
        result.setdefault("target", TARGETS[name])
        result["wall_seconds"] = time.perf_counter() - t0
        report["cases"][name] = result
        print(json.dumps(result, indent=2), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "latest.json.tmp"
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(args.out / "latest.json")
    print(f"written {args.out / 'latest.json'}")
    if {"core_walking", "epstein_vs_mesa"} & report["cases"].keys():
        print(f"written {scaling_figure(report, args.out / 'scaling.png')}")
    if args.readme:
        update_readme(report, ROOT / "README.md")
        if (args.out / "scaling.png").is_file():
            shutil.copyfile(args.out / "scaling.png", ROOT / "results" / "reference" / "scaling.png")
        print("README performance table and results/reference/scaling.png updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
