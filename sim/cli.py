"""``protest-sim``: run, validate, batch, watch and draw scenarios from the shell.

User mistakes (a bad scenario, an unknown map) print one line and exit with status 2; only
bugs give a traceback.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tomllib
from pathlib import Path

from . import gc_pause
from .errors import ScenarioError

EXIT_USAGE = 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"ports go from 1 to 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="protest-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write its run folder")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--duration", type=_positive_float, metavar="SECONDS",
                     help="simulate only this many seconds from the start (steps for Epstein scenarios)")
    run.add_argument("--engine", choices=("numba", "python"), default="numba",
                     help="numba (fast) or the plain-Python reference engine")
    run.add_argument("--out", type=Path, help="run folder (default results/runs/<scenario>-seed<seed>); "
                     "it must not exist yet, or be empty")
    run.add_argument("--force", action="store_true",
                     help="replace an earlier run in that folder (a folder holding anything else is never replaced)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+")

    sub.add_parser("batch", help="run or complete a sweep: SWEEP [--workers N] [--scheduler ADDRESS] [--out DIR]")

    viz = sub.add_parser("viz", help="watch a scenario in the browser (Mesa's SolaraViz, works offline)")
    viz.add_argument("scenario", type=Path, nargs="?", help="scenario TOML file (default: the 5 October evening)")
    viz.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    viz.add_argument("--port", type=_port, default=8765, help="port (default 8765)")

    draw = sub.add_parser("map", help="draw a built-in map with its places labelled")
    draw.add_argument("name", help="built-in map name, e.g. bishkek_center")
    draw.add_argument("--png", type=Path, required=True, help="output PNG file")
    draw.add_argument("--cell-size", type=_positive_float, default=0.5, help="metres per cell (default 0.5)")
    return parser


def cmd_run(args) -> int:
    from .run.runner import run

    out = run(args.scenario, seed=args.seed, duration_s=args.duration, engine=args.engine, out=args.out,
              progress=not args.quiet, force=args.force)
    print(f"run folder: {out}")
    return 0


def cmd_validate(args) -> int:
    from .geo.loader import load_map
    from .protest.scenario import check_capacity, load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            if _is_sweep(path):
                from .run.batch import load_sweep

                sweep = load_sweep(path)
                print(f"{path}: ok (sweep of {len(sweep.points)} points x {sweep.replicates} replicates over "
                      f"{', '.join(sweep.parameters) or 'no parameters'})")
                continue
            scenario = load_scenario(path)
            if getattr(scenario, "model", None) == "epstein_2002":
                print(f"{path}: ok ({scenario.describe()})")
                continue
            check_capacity(scenario, load_map(scenario.map))
        except ScenarioError as err:
            print(err if err.file else err.with_file(str(path)), file=sys.stderr)
            failed += 1
        else:
            agents = sum(c.count for c in scenario.crowds) + sum(u.count for u in scenario.police)
            print(f"{path}: ok ({agents} agents, {scenario.start}-{scenario.end}, {len(scenario.events)} events)")
    return EXIT_USAGE if failed else 0


def _is_sweep(path: Path) -> bool:
    """A sweep file has a top-level ``[sweep]`` table (unreadable files are left to the scenario loader)."""
    try:
        return "sweep" in tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def cmd_viz(args) -> int:
    try:
        from .viz.app import serve
    except ImportError as err:
        raise ScenarioError(f"the browser view needs the viz extra ({err.name} is missing): "
                            'python -m pip install -e ".[viz]"') from None
    if args.scenario is not None and not args.scenario.is_file():
        raise ScenarioError(f"no such scenario file: {args.scenario}")
    return serve(None if args.scenario is None else str(args.scenario), args.host, args.port)


def cmd_map(args) -> int:
    from .geo.catalog import builtin_map_names
    from .geo.raster import load_builtin_map
    from .geo.render import save_map_png

    if args.name not in builtin_map_names():
        raise ScenarioError(f"unknown built-in map {args.name!r}; known: {', '.join(builtin_map_names())}")
    save_map_png(load_builtin_map(args.name, args.cell_size), args.png)
    print(f"map written to {args.png}")
    return 0


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "viz": cmd_viz, "map": cmd_map}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["batch"]:  # its own parser (sim.batch), options and --help included
        from .run.batch import main as batch_main

        return batch_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; what was computed is in the .partial folder", file=sys.stderr)
        return 130
    except OSError as err:  # unwritable output folder, missing file passed on the command line...
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


def console_main() -> int:
    """The ``protest-sim`` command: :func:`main`, started without the garbage collector for a run
    (:mod:`sim.gc_pause`), then a quick exit: numba, Mesa and pandas leave about a million objects
    to the interpreter's last collection (0.6 s at every exit); frozen, they are skipped. Not in
    :func:`main`, which tests call many times in one process.

    A run imports Mesa first, from here: Mesa's method loggers look up the module of every frame
    on the call stack as it imports (``inspect.getouterframes``), each lookup a scan of every
    module loaded so far. Imported before numba and our modules, at the top of the stack, it
    makes 105 lookups over 1.3 k modules instead of 171 over 1.5 k: about 0.1 s of a run's start."""
    try:
        if sys.argv[1:2] == ["run"]:
            gc_pause.pause()
            import mesa  # noqa: F401
        code = main()
    except KeyboardInterrupt:  # before main's own handler is in place (Ctrl-C during the imports)
        print("interrupted", file=sys.stderr)
        code = 130
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(console_main())
