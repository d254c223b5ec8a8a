"""``protest-sim``: run, validate, batch, watch, verify and draw scenarios; screen and calibrate them; analyse runs.

User mistakes (a bad scenario, an unknown map) print one line and exit with status 2; only
bugs give a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time
from pathlib import Path

from . import cli_analysis, gc_pause
from .core import ENGINES
from .cli_map import cmd_map
from .errors import ScenarioError

EXIT_USAGE = 2
MAX_DURATION = 1e7  # seconds (115 days) or steps: beyond any run anyone means


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number: {text!r}")
    return value


def _duration(text: str) -> float:
    value = _positive_float(text)
    if value > MAX_DURATION:
        raise argparse.ArgumentTypeError(f"at most {MAX_DURATION:g}, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"seeds go from 0 to 2^63 - 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
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
    run.add_argument("--seed", type=_seed, help="override the scenario's seed")
    run.add_argument("--duration", type=_duration, metavar="SECONDS",
                     help="simulate only this many seconds from the start (steps for Epstein scenarios)")
    run.add_argument("--engine", choices=ENGINES, default="numba",
                     help="numba (fast) or the plain-Python reference engine")
    run.add_argument("--out", type=Path, help="run folder (default results/runs/<scenario>-seed<seed>); "
                     "it must not exist yet, or be empty")
    run.add_argument("--force", action="store_true",
                     help="replace an earlier run in that folder (a folder holding anything else is never replaced)")
    run.add_argument("--quiet", action="store_true", help="print nothing: no progress bar, no headline at the end")
    run.add_argument("--trajectories", type=_positive_float, nargs="?", const=1.0, metavar="EVERY_S",
                     help="also write trajectories.parquet: everyone's position every EVERY_S seconds (default 1; "
                          "the scenario's [output] trajectories_every_s)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                     help="set a scenario key for this run, a TOML value at a dotted key path "
                          "(e.g. walking.model=continuous, protest.k=2.0); repeatable")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+", help="scenario, sweep, sensitivity or calibration files")

    batch = sub.add_parser("batch", help="run or complete a sweep: every point and replicate, resumable")
    batch.add_argument("sweep", type=Path, help="sweep TOML file")
    batch.add_argument("--workers", type=_positive_int, help="worker processes (default: one per CPU)")
    batch.add_argument("--scheduler", help="a dask.distributed scheduler address (tcp://host:8786), or local[:N]; "
                       "default $PROTEST_SIM_SCHEDULER, else a local process pool")
    batch.add_argument("--scheduler-from-file", action="store_true",
                       help="connect to the scheduler the sweep file's [batch] scheduler names (off by default: a "
                            "shared file must not choose which host your machine talks to)")
    batch.add_argument("--out", type=Path, help="batch folder (default results/batches/<sweep file>)")
    batch.add_argument("--retry-failed", action="store_true", help="run the runs that failed again")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, text in (("sensitivity", "global sensitivity analysis (SALib: Morris, Sobol') of a spec's parameters"),
                       ("calibrate", "calibrate a spec's parameters against reported figures (pyabc: ABC-SMC)")):
        cmd = sub.add_parser(name, help=text + "; resumable")
        cmd.add_argument("spec", type=Path, help=f"{name} spec TOML file")
        cmd.add_argument("--workers", type=_positive_int, help="worker processes (default: one per CPU)")
        cmd.add_argument("--scheduler", help="a dask.distributed scheduler address (tcp://host:8786), or local[:N]; "
                         "default $PROTEST_SIM_SCHEDULER, else a local process pool")
        cmd.add_argument("--scheduler-from-file", action="store_true",
                         help="connect to a remote scheduler named in the spec's [batch] scheduler")
        cmd.add_argument("--out", type=Path, help=f"output folder (default results/{name}/<spec file>[-quick])")
        cmd.add_argument("--quick", action="store_true", help="the spec's [quick] budget (tests, CI, a first look)")
        cmd.add_argument("--quiet", action="store_true", help="no progress bar")

    viz = sub.add_parser("viz", help="watch a scenario, or replay a recorded run, in the browser (Mesa's SolaraViz, "
                         "works offline)")
    viz.add_argument("scenario", type=Path, nargs="?", metavar="SCENARIO | RUN_DIR",
                     help="scenario TOML file (default: the 5 October evening), or a run folder written by "
                          "protest-sim run SCENARIO --trajectories, to replay")
    viz.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    viz.add_argument("--port", type=_port, default=8765, help="port (default 8765)")

    verify = sub.add_parser("verify", help="the crowd-physics validation suite: RiMEA tests, fundamental diagram, "
                            "door flow, counterflow, crossing, against published bands (verify extra)")
    verify.add_argument("--quick", action="store_true", help="fewer densities and door widths")
    verify.add_argument("--case", nargs="+", action="extend", metavar="NAME",
                        help="run only these cases (e.g. rimea_1 fundamental_diagram bottleneck counterflow)")
    verify.add_argument("--model", nargs="+", action="extend", metavar="NAME",
                        help="only these walking models (grid, continuous; default both)")
    verify.add_argument("--out", type=Path, help="a new or empty folder (default results/verify/verify-<time>)")
    verify.add_argument("--seeds", type=_positive_int, default=1,
                        help="seeds per case (default 1): quantities are averaged, 'everybody through' must hold for each")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")

    draw = sub.add_parser(
        "map", help="draw a map with its places labelled, or import one from OpenStreetMap or plain geometry",
        usage="protest-sim map NAME --png FILE [--cell-size M]\n"
              "       protest-sim map import FILE [--bbox W,S,E,N] --name NAME [--out DIR] [--title T] [--cell-size M]",
        description="Draw a built-in map (NAME, e.g. bishkek_center) or an imported map file (NAME.json) to a PNG "
                    "with its places labelled; or import a map: with --bbox, OpenStreetMap data (.osm.pbf, .osm, "
                    ".osm.gz/.bz2, or .geojson in degrees with OSM tags) inside the box; without it, plain geometry "
                    "in metres (.geojson or .wkt: walkable areas, obstacles and exits, named polygons as places). "
                    "An import writes DIR/NAME.json (use it as [map] file = \"...\" in a scenario) and DIR/NAME.png.")
    draw.add_argument("target", nargs="+", metavar="NAME | import FILE",
                      help="a built-in map's name or a map file to draw; or 'import' and the file to import")
    draw.add_argument("--png", type=Path, help="output PNG file (drawing)")
    draw.add_argument("--bbox", metavar="W,S,E,N",
                      help="import: the box in degrees (west, south, east, north longitude/latitude)")
    draw.add_argument("--name", help="import: the new map's name (lower-case letters, digits, _ and -)")
    draw.add_argument("--out", type=Path, help="import: folder for NAME.json and NAME.png (default: maps)")
    draw.add_argument("--title", help="import: the map's title, on its picture (default: NAME and the file's name)")
    draw.add_argument("--cell-size", type=_positive_float, default=0.5, help="metres per cell (default 0.5)")
    cli_analysis.add_commands(sub, _positive_float, _positive_int)
    return parser


def _override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` of ``--set``: the value read as TOML (``2``, ``true``, ``"x"``), else as a bare string."""
    import tomllib

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set wants KEY=VALUE, got {text!r}")
    try:
        return key.strip(), tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key.strip(), value.strip()


def cmd_run(args) -> int:
    """Run, then (unless ``--quiet``) a headline of the run and the files worth opening."""
    from .kinds import kind_of, load_scenario
    from .run.runner import run_to_folder

    started = time.perf_counter()
    scenario = load_scenario(args.scenario)
    if args.overrides:
        scenario = scenario.with_values(dict(_override(text) for text in args.overrides))
    outcome = run_to_folder(scenario, seed=args.seed, duration_s=args.duration, engine=args.engine, out=args.out,
                            progress=not args.quiet, force=args.force, trajectories_every_s=args.trajectories)
    if not args.quiet:
        print(kind_of(scenario).headline(outcome, time.perf_counter() - started))
    return 0


def cmd_validate(args) -> int:
    from .config import load_toml
    from .kinds import kind_of, parse_scenario
    from .run.sweep import parse_sweep

    failed = 0
    for path in args.scenarios:
        try:
            data = load_toml(path, what="scenario or sweep file")
            if "sensitivity" in data or "calibration" in data:
                from .run.calibrate import parse_spec as parse_calibration
                from .run.sensitivity import parse_spec as parse_sensitivity

                try:
                    spec = (parse_sensitivity if "sensitivity" in data else parse_calibration)(data, path, False)
                except ScenarioError as err:
                    raise err.with_file(str(path)) if not err.file else err
                print(f"{path}: ok ({'sensitivity' if 'sensitivity' in data else 'calibration'} spec over "
                      f"{', '.join(spec.design.names)})")
                continue
            if "sweep" in data:
                sweep = parse_sweep(data, path)
                print(f"{path}: ok (sweep of {len(sweep.points)} points x {sweep.replicates} replicates over "
                      f"{', '.join(sweep.parameters) or 'no parameters'})")
                continue
            scenario = parse_scenario(data, file=str(path), base_dir=path.parent)
            kind = kind_of(scenario)
            kind.check(scenario)
            print(f"{path}: ok ({kind.describe(scenario)})")
        except ScenarioError as err:
            print(err if err.file else err.with_file(str(path)), file=sys.stderr)
            failed += 1
    return EXIT_USAGE if failed else 0


def cmd_batch(args) -> int:
    from .run.batch import SCHEDULER_ENV, check_batch_out, default_out, run_batch
    from .run.executors import local_scheduler
    from .run.sweep import load_sweep

    sweep = load_sweep(args.sweep)
    out = check_batch_out(args.out if args.out is not None else default_out(sweep))
    if sweep.scheduler and not local_scheduler(sweep.scheduler) and not args.scheduler_from_file \
            and not (args.scheduler or os.environ.get(SCHEDULER_ENV)):
        print(f"note: not connecting to [batch] scheduler = {sweep.scheduler!r} of {args.sweep} (pass "
              "--scheduler-from-file to use it); running on local processes", file=sys.stderr)
    try:
        out = run_batch(sweep, workers=args.workers, scheduler=args.scheduler, out=out, progress=not args.quiet,
                        retry_failed=args.retry_failed, scheduler_from_file=args.scheduler_from_file)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to complete the batch", file=sys.stderr)
        return 130
    info = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    print(f"batch folder: {out} ({info['complete']} complete, {info['failed']} failed, {info['pending']} pending)")
    return 0 if info["pending"] == 0 and info["failed"] == 0 else 1


def cmd_sensitivity_or_calibrate(args) -> int:
    """``sensitivity`` and ``calibrate``: the spec checked whole, then run (or completed)."""
    from .run.executors import local_scheduler

    if args.command == "sensitivity":
        from .run.sensitivity import load_sensitivity as load, run_sensitivity as run
    else:
        from .run.calibrate import load_calibration as load, run_calibration as run
    spec = load(args.spec, quick=args.quick)
    scheduler = spec.design.scheduler
    if scheduler and not local_scheduler(scheduler) and not args.scheduler_from_file:
        if not args.scheduler:
            print(f"note: not connecting to [batch] scheduler = {scheduler!r} of {args.spec} (pass "
                  "--scheduler-from-file to use it); running on local processes", file=sys.stderr)
        scheduler = None
    try:
        out = run(spec, workers=args.workers, scheduler=args.scheduler or scheduler, out=args.out,
                  progress=not args.quiet)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to go on where it stopped", file=sys.stderr)
        return 130
    marker = "sensitivity.json" if args.command == "sensitivity" else "calibration.json"
    info = json.loads((out / marker).read_text(encoding="utf-8"))
    print(f"{args.command} folder: {out} ({info['session']['executed']} runs executed, "
          f"{info['session']['reused']} reused)")
    return 0


def cmd_viz(args) -> int:
    try:
        from .viz.app import serve
    except ImportError as err:
        raise ScenarioError(f"the browser view needs the viz extra ({err.name} is missing): "
                            'python -m pip install -e ".[viz]"') from None
    if args.scenario is not None and args.scenario.is_dir():
        return serve(None, args.host, args.port, run_dir=str(args.scenario))
    if args.scenario is not None and not args.scenario.is_file():
        raise ScenarioError(f"no such scenario file or run folder: {args.scenario}")
    return serve(None if args.scenario is None else str(args.scenario), args.host, args.port)


def cmd_verify(args) -> int:
    """Exit 0 when every band is met, 1 when any is not; 2 for a usage mistake (unknown case, a
    folder that is not new or empty, the verify extra missing)."""
    from importlib.util import find_spec

    if find_spec("pedpy") is None:  # not imported here: sim.verify.measure imports it with care for logging
        raise ScenarioError('the validation suite needs the verify extra (PedPy is missing): '
                            'python -m pip install -e ".[verify]"')
    from .verify.cases import get
    from .verify.report import all_pass
    from .verify.suite import check_out, default_out, run_suite

    from .verify.models import WALKING_MODELS, walking_model

    for name in args.case or []:
        get(name)
    models = tuple(walking_model(m) for m in dict.fromkeys(args.model)) if args.model else WALKING_MODELS
    out = check_out(args.out if args.out is not None else default_out())
    out, table = run_suite(out, quick=args.quick, cases=args.case, seeds=args.seeds, models=models,
                           progress=not args.quiet)
    counts = table["status"].value_counts()
    print(f"verify folder: {out} ({int(counts.get('pass', 0))} pass, {int(counts.get('FAIL', 0))} fail, "
          f"{int(counts.get('n/a', 0))} not applicable; see report.md)")
    return 0 if all_pass(table) else 1


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "batch": cmd_batch, "sensitivity": cmd_sensitivity_or_calibrate,
            "calibrate": cmd_sensitivity_or_calibrate, "viz": cmd_viz, "verify": cmd_verify, "map": cmd_map, **cli_analysis.COMMANDS}


def _glue_box(argv: list[str]) -> list[str]:
    """``--bbox -70.7,-33.5,-70.6,-33.4`` as ``--bbox=...``: argparse takes a value starting with '-' for an option."""
    out = []
    for arg in argv:
        if out and out[-1] == "--bbox" and arg.startswith("-") and "," in arg:
            out[-1] = f"--bbox={arg}"
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_glue_box(argv))
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
