"""The commands on what runs wrote: ``analyze`` (a run's trajectories through PedPy), ``export`` (to
JuPedSim's SQLite file or PedPy's text format) and ``harm`` (a batch's harm maps). Part of the
``protest-sim`` tree (``sim.cli``); every user mistake is a ScenarioError: one line, exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import ScenarioError


def _point(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a point number: {text!r} (see runs.parquet's point column)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"points are numbered from 0, got {value}")
    return value


def add_commands(sub, positive_float, positive_int) -> None:
    analyze = sub.add_parser("analyze", help="measure a run's trajectories with PedPy: density, speed and flow in "
                             "areas, the fundamental diagram, density maps (analysis extra)")
    analyze.add_argument("run_dir", type=Path, help="a run folder written with --trajectories")
    analyze.add_argument("--area", action="append", metavar="NAME|POLYGON",
                         help="a place of the map, or corners in metres \"x,y;x,y;x,y\" (or WKT), optionally "
                              "NAME=...; repeatable (default: the places the scenario names)")
    analyze.add_argument("--stride", type=positive_int, metavar="FRAMES",
                         help="trajectory frames per analysis frame (default: at most 720 analysis frames)")
    analyze.add_argument("--grid", type=positive_float, default=2.0, metavar="M",
                         help="side of a density-map cell in metres (default 2)")

    export = sub.add_parser("export", help="a run's trajectories for other tools: JuPedSim's SQLite file (its "
                            "viewers open it) or PedPy's text format")
    export.add_argument("run_dir", type=Path, help="a run folder written with --trajectories")
    export.add_argument("--to", choices=("jupedsim", "pedpy"), required=True, help="the format")
    export.add_argument("--out", type=Path, help="the file (default RUN_DIR/trajectories.sqlite or "
                        "RUN_DIR/trajectories.txt)")
    export.add_argument("--kinds", nargs="+", choices=("protester", "police", "vehicle"),
                        help="whose rows (default: jupedsim everyone, pedpy the protesters)")

    harm = sub.add_parser("harm", help="harm maps of a batch: per map cell the chance of being injured there, by "
                          "cause, with bootstrap 95%% intervals over replicates")
    harm.add_argument("batch_dir", type=Path, help="a batch folder whose runs wrote harm cells or trajectories")
    harm.add_argument("--compare", nargs=2, type=_point, metavar=("A", "B"),
                      help="also draw point B against point A (numbers of runs.parquet's point column)")
    harm.add_argument("--cell", type=positive_float, default=5.0, metavar="M",
                      help="cell side in metres when computed from trajectories (default 5)")
    harm.add_argument("--bootstrap", type=positive_int, default=1000, metavar="N", help="resamples (default 1000)")


def cmd_analyze(args) -> int:
    from .analysis.analyze import analyze

    out, about = analyze(args.run_dir, areas=args.area, stride=args.stride, grid_m=args.grid)
    print(f"analysis: {out} in {about['seconds']['total']:.1f} s (PedPy {about['pedpy_version']}): "
          f"{len(about['areas'])} areas ({', '.join(about['areas'])}), every {about['analysis_interval_s']:g} s of "
          f"the run; Voronoi density on {about['voronoi_frames_per_area']} frames per area")
    return 0


def cmd_export(args) -> int:
    from .analysis.run_folder import open_run

    run = open_run(args.run_dir)
    if args.to == "jupedsim":
        from .traj.jupedsim import write_sqlite
        from .traj.walkable import mask_polygon

        out = args.out or run.path / "trajectories.sqlite"
        floor = mask_polygon(run.gridmap.walkable == 1, run.gridmap.cell_size)
        write_sqlite(run.trajectories, out, floor_wkt=floor.wkt, kinds=tuple(args.kinds or ("protester", "police",
                                                                                            "vehicle")))
    else:
        from .traj.pedpy import write_txt

        out = args.out or run.path / "trajectories.txt"
        write_txt(run.trajectories, out, kinds=tuple(args.kinds or ("protester",)))
    print(f"exported: {out}")
    return 0


def cmd_harm(args) -> int:
    from .analysis.harm_plots import write_harm

    if args.compare is not None and args.compare[0] == args.compare[1]:
        raise ScenarioError("--compare needs two different points")
    out, about = write_harm(args.batch_dir, compare=tuple(args.compare) if args.compare else None, cell_m=args.cell,
                            boot=args.bootstrap)
    print(f"harm maps: {out} ({len(about['points'])} points, {about['cell_m']:g} m cells, "
          f"{about['bootstrap_resamples']} bootstrap resamples)")
    return 0


COMMANDS = {"analyze": cmd_analyze, "export": cmd_export, "harm": cmd_harm}
