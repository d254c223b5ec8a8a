"""Careless input, mutated from every shipped scenario and sweep file and every command's arguments, and
damaged map files and boxes for ``map import``: each case ends with exit code 0 and a sensible result, or
exit code 2 and exactly one line naming the file and key path (an import: one line, no warning, nothing
written); never a traceback, never a hang, never an accepted NaN or infinity.

A sample runs with the suite (it changes every day: its seed is the date, printed with any failure, and
``PROTEST_SIM_FUZZ_SEED`` replays one); the whole corpus runs under the ``slow`` marker.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import random
import re
import signal
import time
import warnings
from pathlib import Path

import pytest

from sim.cli import main
from sim.config import dumps_toml, load_toml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "scenarios" / "examples").glob("*.toml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
SMALL = [p for p in SCENARIOS if "examples" in p.parts or "epstein" in p.name]  # quick to run for real
DELETE, UNKNOWN = object(), object()
VALUES = (math.nan, math.inf, -math.inf, 0, -1, -0.5, 1e308, 1e-300, 10**29, 2**63, "", "../../outside/x", "nope",
          [], [1, 2], {}, {"x": 1}, True, 0.5, 3, 10**6, "20:10", "25:99", DELETE, UNKNOWN)
NON_FINITE = (math.nan, math.inf, -math.inf)
TIME_LIMIT_S = 90
SAMPLE = 40


def _seed() -> int:
    return int(os.environ.get("PROTEST_SIM_FUZZ_SEED") or time.strftime("%Y%m%d"))


def _leaves(node, path=()):
    """Every key path of a TOML document down to its values (lists of tables are walked too)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for k, value in enumerate(node):
            yield from _leaves(value, path + (k,))
    else:
        yield path


def _document(path: Path) -> dict:
    """The file's TOML with its relative file references made absolute, so a copy elsewhere reads them."""
    data = load_toml(path)
    sweep = data.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("scenario"), str):
        sweep["scenario"] = str((path.parent / sweep["scenario"]).resolve())
    m = data.get("map")
    for key in ("ascii_file", "file"):
        if isinstance(m, dict) and isinstance(m.get(key), str):
            m[key] = str((path.parent / m[key]).resolve())
    return data


def _mutate(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    elif value is UNKNOWN:
        node[f"{path[-1]}_typo"] = 1
    else:
        node[path[-1]] = value
    return data


def _write(data: dict, folder: Path, name: str) -> Path:
    out = folder / name
    try:
        out.write_text(dumps_toml(data).lstrip("\n"), encoding="utf-8")
    except TypeError:  # a value TOML cannot hold
        out.write_text("[broken\n", encoding="utf-8")
    return out


class _Timeout(Exception):
    pass


def _cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stderr of ``protest-sim ARGS`` in this process, killed (as a failure) after a limit."""
    def alarm(signum, frame):
        raise _Timeout(f"still running after {TIME_LIMIT_S} s: {args}")

    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(args)
            except SystemExit as stop:  # argparse: a mistake on the command line
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def _check_refusal(code: int, stderr: str, file: Path | None, *, key_path: bool) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, f"exit {code}: {stderr}"
    assert len(lines) == 1, f"not one line: {stderr!r}"
    if file is not None:
        assert str(file) in lines[0], f"the file is not named: {lines[0]}"
        if key_path:
            assert re.search(rf"{re.escape(str(file))}: [A-Za-z_][\w.-]*: ", lines[0]), \
                f"no key path named: {lines[0]}"


def _file_level(stderr: str) -> bool:
    return any(s in stderr for s in ("malformed TOML", "not UTF-8", "nested too deeply"))


def _cases():
    corpus = []
    for path in SCENARIOS + SWEEPS:
        data = _document(path)
        for leaf in _leaves(data):
            for value in VALUES:
                corpus.append((path, leaf, value))
    return corpus


CASES = _cases()


def _run_case(path: Path, leaf: tuple, value, tmp_path: Path) -> None:
    mutated = _write(_mutate(_document(path), leaf, value), tmp_path, path.name)
    code, stderr = _cli(["validate", str(mutated)])
    what = f"{path.name}: {'.'.join(map(str, leaf))} = {value if value not in (DELETE, UNKNOWN) else 'deleted' if value is DELETE else 'unknown key'}"
    assert "Traceback" not in stderr, what
    if code == 0:
        assert not (isinstance(value, float) and value in NON_FINITE) and not (
            isinstance(value, float) and math.isnan(value)), f"accepted a non-finite number: {what}"
        if path in SMALL:  # accepted: it must also run, and write numbers that mean something
            out = tmp_path / "run"
            code, stderr = _cli(["run", str(mutated), "--duration", "3", "--quiet", "--out", str(out)])
            if code == 0:
                summary = json.loads((out / "summary.json").read_text())
                assert summary["status"] == "complete", what
                text = (out / "summary.json").read_text()
                assert "NaN" not in text and "Infinity" not in text, what
            else:
                _check_refusal(code, stderr, mutated, key_path=not _file_level(stderr))
    else:
        _check_refusal(code, stderr, mutated, key_path=not _file_level(stderr))


def test_a_daily_sample_of_mutated_files(tmp_path):
    rng = random.Random(_seed())
    for path, leaf, value in rng.sample(CASES, SAMPLE):
        case = tmp_path / f"case{rng.randrange(10**9)}"
        case.mkdir()
        try:
            _run_case(path, leaf, value, case)
        except AssertionError as err:
            raise AssertionError(f"{err} (replay: PROTEST_SIM_FUZZ_SEED={_seed()})") from None


@pytest.mark.slow
@pytest.mark.parametrize("case", range(0, len(CASES), 25))
def test_the_whole_corpus_of_mutated_files(case, tmp_path):
    for k in range(case, min(case + 25, len(CASES))):
        folder = tmp_path / str(k)
        folder.mkdir()
        _run_case(*CASES[k], folder)


# --- command lines ------------------------------------------------------------------------------------
CORRIDOR = str(ROOT / "scenarios" / "examples" / "corridor.toml")
SWEEP = str(ROOT / "scenarios" / "sweeps" / "splinter_size.toml")
BAD_ARGS = [
    ["run", CORRIDOR, "--duration", d] for d in ("nan", "inf", "-inf", "1e308", "-1", "0", "abc", "")
] + [
    ["run", CORRIDOR, "--seed", s] for s in ("-1", str(10**29), "1.5", "abc")
] + [
    ["run", CORRIDOR, "--engine", "warp"], ["run", CORRIDOR, "--out", ""], ["run", CORRIDOR, "--out", "."],
    ["run", str(ROOT / "scenarios")], ["run", "/dev/zero"], ["validate", "/dev/urandom"], ["validate", "\x01"],
    ["batch", SWEEP, "--workers", "0"], ["batch", SWEEP, "--workers", "-3"], ["batch", SWEEP, "--workers", "x"],
    ["batch", SWEEP, "--out", ""], ["batch", str(ROOT / "README.md")],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "nan"],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "0.001"],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "-1"], ["map", "atlantis", "--png", "x.png"],
    ["viz", "--port", "0"], ["viz", "--port", "99999"], ["viz", "--port", "http"], ["viz", "no_such.toml"],
    ["nonsense"], [],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=lambda a: " ".join(x.replace(str(ROOT), "") for x in a)[:60])
def test_a_mistake_on_the_command_line_is_one_line_and_exit_2(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stderr = _cli(args)
    assert "Traceback" not in stderr
    assert code == 2, f"exit {code}: {stderr}"
    assert stderr.strip(), "nothing said"
    if not stderr.startswith("usage:"):  # argparse's own: usage line and error line
        assert len(stderr.strip().splitlines()) == 1, stderr
    assert not list(tmp_path.iterdir()), "a refused command wrote something"


# --- map imports ----------------------------------------------------------------------------------------
# Damaged map files and careless boxes: each import ends with exit 0 and both files (the map reads back),
# or exit 2, one line, and nothing written at all. The inputs are tiny hand-written files (tests/osm_scene.py).
MAP_INPUTS = ("scene.osm", "scene.osm.pbf", "scene.geojson", "hall.wkt", "hall.geojson")
MUTATIONS = ("truncate", "flip bytes", "drop a line", "repeat a line", "garble a number", "empty")
BOXES = ("24.940,60.170,24.944,60.172", "24.944,60.170,24.940,60.172", "24.940,60.172,24.944,60.170",
         "24.94,60.17,24.944", "24.94,60.17,24.944,60.172,1", "w,s,e,n", "24.94;60.17;24.944;60.172", "",
         "nan,60.17,24.944,60.172", "24.94,60.17,inf,60.172", "24.94,-91,24.944,60.172", "181,60.17,182,60.172",
         "24.941,60.171,24.9410001,60.1710001", "-180,-80,180,84", "25.5,60.0,25.51,60.01",
         "24.9427,60.1706,24.9433,60.1708", "1e308,60.17,1e309,60.172", "24.94,60.17,24.944,60.172 junk")
MAP_CASES = [(f, m, k) for f in MAP_INPUTS for m in MUTATIONS for k in range(3 if m not in ("empty",) else 1)] + \
    [("scene.osm", "box", box) for box in BOXES]
MAP_SAMPLE = 6


def _map_inputs(folder: Path) -> dict[str, bytes]:
    """The undamaged inputs: the scene as XML, PBF and GeoJSON (OSM tags as properties); a plan as WKT, GeoJSON."""
    import geopandas
    import shapely

    from tests.osm_scene import scene_xml, to_pbf
    from tests.test_map_import import HALL_WKT

    (folder / "scene.osm").write_text(scene_xml())
    to_pbf(folder / "scene.osm", folder / "scene.osm.pbf")
    features = [{"type": "Feature", "properties": {"highway": "residential", "name": "Testikatu"},
                 "geometry": {"type": "LineString", "coordinates": [[24.939, 60.171], [24.945, 60.171]]}},
                {"type": "Feature", "properties": {"place": "square", "name": "Koetori"},
                 "geometry": {"type": "Polygon", "coordinates": [[[24.9405, 60.17075], [24.9415, 60.17075],
                                                                  [24.9415, 60.17098], [24.9405, 60.17075]]]}}]
    (folder / "scene.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}, indent=1))
    (folder / "hall.wkt").write_text(HALL_WKT)
    rows = [line.split("|") for line in HALL_WKT.splitlines() if line and not line.startswith("#")]
    geopandas.GeoDataFrame({"kind": [r[0].strip() for r in rows], "name": [r[1].strip() or None for r in rows]},
                           geometry=[shapely.from_wkt(r[2]) for r in rows], crs="EPSG:3067") \
        .to_file(folder / "hall.geojson", driver="GeoJSON")
    return {name: (folder / name).read_bytes() for name in MAP_INPUTS}


def _damage(data: bytes, how: str, rng: random.Random) -> bytes:
    if how == "empty":
        return b""
    if how == "truncate":
        return data[:rng.randrange(len(data))]
    if how == "flip bytes":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    lines = data.split(b"\n")
    k = rng.randrange(len(lines))
    if how == "drop a line":
        return b"\n".join(lines[:k] + lines[k + 1:])
    if how == "repeat a line":
        return b"\n".join(lines[:k + 1] + lines[k:])
    numbers = list(re.finditer(rb"-?\d+\.?\d*", data))  # garble a number
    if not numbers:
        return data
    m = rng.choice(numbers)
    return data[:m.start()] + rng.choice([b"nan", b"1e999", b"-0", b"99999999", b"", b"x"]) + data[m.end():]


def _run_map_case(name: str, how: str, k, folder: Path) -> None:
    from sim.geo.mapfile import read_map_file

    inputs = _map_inputs(folder)
    path = folder / f"damaged_{name}"
    box = "24.940,60.170,24.944,60.172"
    if how == "box":
        path.write_bytes(inputs[name])
        box = k
    else:
        path.write_bytes(_damage(inputs[name], how, random.Random(f"{name} {how} {k}")))
    out = folder / "out"
    args = ["map", "import", str(path), "--name", "fuzzed", "--out", str(out)]
    if not name.startswith("hall"):
        args += [f"--bbox={box}"]
    with warnings.catch_warnings(record=True) as caught:  # a warning would be a second line on a user's screen
        warnings.simplefilter("always")
        code, stderr = _cli(args)
    what = f"{name}, {how} {k}"
    assert "Traceback" not in stderr, what
    assert not caught, f"{what}: warned {[str(w.message) for w in caught]}"
    if code == 0:
        assert sorted(p.name for p in out.iterdir()) == ["fuzzed.json", "fuzzed.png"], what
        assert read_map_file(out / "fuzzed.json")["name"] == "fuzzed", what
    else:
        _check_refusal(code, stderr, None, key_path=False)
        assert not out.exists() or not list(out.iterdir()), f"a refused import left files behind: {what}"


def test_a_daily_sample_of_damaged_map_files_and_boxes(tmp_path, monkeypatch):
    pytest.importorskip("osmium")
    pytest.importorskip("rasterio")
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path / "cache"))
    rng = random.Random(_seed())
    for n, case in enumerate(rng.sample(MAP_CASES, MAP_SAMPLE)):
        folder = tmp_path / str(n)
        folder.mkdir()
        try:
            _run_map_case(*case, folder)
        except AssertionError as err:
            raise AssertionError(f"{err} (replay: PROTEST_SIM_FUZZ_SEED={_seed()})") from None


@pytest.mark.slow
@pytest.mark.parametrize("case", MAP_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_every_damaged_map_file_and_box(case, tmp_path, monkeypatch):
    pytest.importorskip("osmium")
    pytest.importorskip("rasterio")
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path / "cache"))
    _run_map_case(*case, tmp_path)
