"""``protest-sim map``: draw a built-in map or a map file, or import one from OpenStreetMap or a plan.

Kept apart from ``sim.cli`` (the parser and the other commands) because the map commands are a
tool of their own; the same rule holds: user mistakes raise ScenarioError, printed in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ScenarioError


def cmd_map(args) -> int:
    if args.target[0] == "import":
        return _map_import(args)
    if len(args.target) != 1:
        raise ScenarioError(f"draw one map at a time, got {' '.join(args.target)}")
    for option in ("bbox", "name", "out", "title"):
        if getattr(args, option) is not None:
            raise ScenarioError(f"--{option} is for 'protest-sim map import'")
    if args.png is None:
        raise ScenarioError("give --png FILE: where to draw the map")
    from .geo.catalog import builtin_map_names
    from .geo.render import save_map_png
    from .resources import check_memory

    name = args.target[0]
    if name in builtin_map_names():
        from .geo.raster import builtin_shape, load_builtin_map

        shape, load = builtin_shape(name, args.cell_size), lambda: load_builtin_map(name, args.cell_size)
    elif name.endswith(".json") or os.sep in name:
        from .geo.map_raster import load_map_file
        from .geo.mapfile import map_shape, read_map_file

        shape, load = map_shape(read_map_file(name), args.cell_size), lambda: load_map_file(name, args.cell_size)
    else:
        raise ScenarioError(f"unknown built-in map {name!r}; known: {', '.join(builtin_map_names())} (or give a "
                            "map file, NAME.json)")
    nx, ny = shape
    check_memory(nx * ny * 24.0, f"at {args.cell_size:g} m cells the map is {nx:,} x {ny:,} cells",
                 hint="a larger --cell-size")
    save_map_png(load(), args.png)
    print(f"map written to {args.png}")
    return 0


def _map_import(args) -> int:
    from .geo.importer import import_osm, import_plain

    if len(args.target) != 2:
        raise ScenarioError("usage: protest-sim map import FILE [--bbox W,S,E,N] --name NAME [--out DIR]")
    if args.png is not None:
        raise ScenarioError("--png is for drawing a map; an import writes its picture to DIR/NAME.png")
    if not args.name:
        raise ScenarioError("give --name NAME: the new map's name (its files are NAME.json and NAME.png)")
    file, out = Path(args.target[1]), args.out if args.out is not None else Path("maps")
    osm_file = file.suffix.lower() in (".pbf", ".osm", ".gz", ".bz2", ".opl", ".xml")
    if args.bbox is None and osm_file:
        raise ScenarioError(f"{file}: OpenStreetMap data needs --bbox W,S,E,N (the box to import, in degrees)")
    if args.bbox is not None:
        done = import_osm(file, args.bbox, args.name, out, cell_size=args.cell_size, title=args.title)
    else:
        done = import_plain(file, args.name, out, cell_size=args.cell_size, title=args.title)
    gm = done.gridmap
    nx, ny = gm.shape
    kinds = gm.features.get("place_kinds", {})
    named = [p for p in gm.places if p not in gm.exits and kinds.get(p) != "street"]
    streets = [p for p in gm.places if kinds.get(p) == "street"]
    print(f"map written to {done.map_file} ({gm.size_m[0]:,.0f} x {gm.size_m[1]:,.0f} m, {nx:,} x {ny:,} cells of "
          f"{gm.cell_size:g} m, {100 * gm.walkable.mean():.0f}% walkable) in {done.seconds:.1f} s")
    print(f"picture: {done.png}")
    print(f"places ({len(named)}): {', '.join(named) or '-'}")
    if streets:
        print(f"streets ({len(streets)}): {', '.join(streets)}")
    print(f"exits ({len(gm.exits)}): {', '.join(gm.exits) or '-'}")
    if done.dropped:
        print(f"left out (no walkable cell at {gm.cell_size:g} m): {', '.join(done.dropped)}")
    return 0
