"""``protest-sim map import`` and ``[map] file``: what a user sees. Mistakes are one line and exit code 2,
and a failed import leaves nothing behind (not even half a file); plain geometry in metres imports too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("osmium")
pytest.importorskip("rasterio")

from sim.cli import main  # noqa: E402
from tests.osm_scene import BBOX_TEXT, scene_xml, to_pbf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HALL_WKT = """\
# kind | name | geometry in metres (an architect's plan, say)
walkable | main hall | POLYGON ((100 100, 140 100, 140 120, 100 120, 100 100))
walkable | foyer     | POLYGON ((140 106, 150 106, 150 114, 140 114, 140 106))
walkable |           | LINESTRING (120 120, 120 130)
obstacle |           | POLYGON ((118 108, 122 108, 122 112, 118 112, 118 108))
exit     | east door | POLYGON ((149 106, 150 106, 150 114, 149 114, 149 106))
exit     |           | POLYGON ((119 129, 121 129, 121 130, 119 130, 119 129))
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def scene(tmp_path):
    path = tmp_path / "scene.osm"
    path.write_text(scene_xml())
    return path


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_osm_import_writes_the_map_file_and_its_picture(scene, tmp_path, capsys):
    code, out, err = _cli(capsys, "map", "import", scene, "--bbox", BBOX_TEXT, "--name", "scene", "--out", tmp_path / "m")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["scene.json", "scene.png"]
    assert "koetori" in out and "exit_testikatu_west" in out
    data = json.loads((tmp_path / "m" / "scene.json").read_text())
    assert data["crs"] == "EPSG:32635" and data["source"]["file"] == "scene.osm" and "OpenStreetMap" in data["attribution"]
    code, out, err = _cli(capsys, "map", tmp_path / "m" / "scene.json", "--png", tmp_path / "again.png")
    assert code == 0 and (tmp_path / "again.png").stat().st_size > 10_000


@pytest.mark.parametrize("case, args, words", [
    ("missing", ["map", "import", "{dir}/nothing.osm.pbf", "--bbox", BBOX_TEXT, "--name", "x"], "no such file"),
    ("garbage", ["map", "import", "{dir}/garbage.osm.pbf", "--bbox", BBOX_TEXT, "--name", "x"], "cannot read it"),
    ("truncated", ["map", "import", "{dir}/truncated.osm", "--bbox", BBOX_TEXT, "--name", "x"], "cannot read it"),
    ("truncated pbf", ["map", "import", "{dir}/truncated.osm.pbf", "--bbox", BBOX_TEXT, "--name", "x"],
     "cannot read it"),
    ("malformed GeoJSON", ["map", "import", "{dir}/broken.geojson", "--bbox", BBOX_TEXT, "--name", "x"],
     "cannot read it"),
    ("malformed plain GeoJSON", ["map", "import", "{dir}/broken.geojson", "--name", "x"], "cannot read it as GeoJSON"),
    ("malformed WKT", ["map", "import", "{dir}/broken.wkt", "--name", "x"], "line 2: not WKT"),
    ("metres as degrees", ["map", "import", "{dir}/metres.geojson", "--bbox", BBOX_TEXT, "--name", "x"],
     "not degrees"),
    ("empty box", ["map", "import", "{dir}/scene.osm", "--bbox", "25.5,60.0,25.51,60.01", "--name", "x"],
     "no streets, buildings or other map features in the box"),
    ("nothing walkable", ["map", "import", "{dir}/scene.osm", "--bbox", "24.9427,60.1706,24.9433,60.1708", "--name",
                          "x"], "nothing walkable"),
    ("bad box", ["map", "import", "{dir}/scene.osm", "--bbox", "24.94,60.17,24.93", "--name", "x"], "W,S,E,N"),
    ("words in the box", ["map", "import", "{dir}/scene.osm", "--bbox", "west,60.17,24.944,60.172", "--name", "x"],
     "W,S,E,N"),
    ("empty box text", ["map", "import", "{dir}/scene.osm", "--bbox", "", "--name", "x"], "W,S,E,N"),
    ("tiny box", ["map", "import", "{dir}/scene.osm", "--bbox", "24.941,60.171,24.9410001,60.1710001", "--name", "x"],
     "10 m to 50 km a side"),
    ("the world as a box", ["map", "import", "{dir}/scene.osm", "--bbox", "-180,-80,180,84", "--name", "x"],
     "10 m to 50 km a side"),
    ("infinite box", ["map", "import", "{dir}/scene.osm", "--bbox", "24.94,60.17,inf,60.172", "--name", "x"],
     "finite"),
    ("upside-down box", ["map", "import", "{dir}/scene.osm", "--bbox", "24.944,60.17,24.94,60.172", "--name", "x"],
     "W < E"),
    ("bad name", ["map", "import", "{dir}/scene.osm", "--bbox", BBOX_TEXT, "--name", "../x"], "--name"),
    ("no box", ["map", "import", "{dir}/scene.osm", "--name", "x"], "--bbox"),
    ("no name", ["map", "import", "{dir}/scene.osm", "--bbox", BBOX_TEXT], "--name"),
    ("png", ["map", "import", "{dir}/scene.osm", "--bbox", BBOX_TEXT, "--name", "x", "--png", "x.png"], "--png"),
    ("unknown suffix", ["map", "import", "{dir}/scene.shp", "--name", "x"], "geojson or .wkt"),
    ("degrees as plain", ["map", "import", "{dir}/degrees.geojson", "--name", "x"], "degrees"),
])
def test_import_mistakes_are_one_line_exit_2_and_leave_nothing(case, args, words, scene, tmp_path, capsys):
    (tmp_path / "garbage.osm.pbf").write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 50)
    (tmp_path / "truncated.osm").write_text(scene_xml()[:2000])
    to_pbf(scene, tmp_path / "whole.osm.pbf")
    (tmp_path / "truncated.osm.pbf").write_bytes((tmp_path / "whole.osm.pbf").read_bytes()[:-40])
    (tmp_path / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "pro')
    (tmp_path / "broken.wkt").write_text("walkable | hall | POLYGON ((0 0, 40 0, 40 20, 0 20, 0 0))\n"
                                         "walkable | foyer | POLYGON ((40 0, 50 0, 50 10\n")
    (tmp_path / "metres.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "footway"},
         "geometry": {"type": "LineString", "coordinates": [[385000, 6671000], [385100, 6671000]]}}]}))
    (tmp_path / "scene.shp").write_text("x")
    (tmp_path / "degrees.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "walkable"},
         "geometry": {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.941, 60.17], [24.941, 60.171],
                                                          [24.94, 60.17]]]}}]}))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "x.json").write_text("an earlier map")  # a failed import must not touch it
    code, _, err = _cli(capsys, *[a.format(dir=tmp_path) for a in args], *(["--out", out_dir] if "--png" not in args
                                                                          else []))
    assert code == 2
    assert words in _one_line(err)
    assert sorted(p.name for p in out_dir.iterdir()) == ["x.json"] and (out_dir / "x.json").read_text() == \
        "an earlier map"


def test_a_damaged_file_gives_no_traceback_from_the_installed_command(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(bytes(range(256)) * 40)
    out = subprocess.run([sys.executable, "-m", "sim", "map", "import", str(bad), "--bbox", BBOX_TEXT, "--name", "x",
                          "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "Traceback" not in out.stderr and str(bad) in out.stderr
    assert not (tmp_path / "o" / "x.json").exists()


def test_plain_geometry_in_metres_becomes_a_map_with_named_places(tmp_path, capsys):
    plan = tmp_path / "hall.wkt"
    plan.write_text(HALL_WKT)
    code, out, err = _cli(capsys, "map", "import", plan, "--name", "hall", "--out", tmp_path)
    assert code == 0, err
    from sim.geo.map_raster import load_map_file

    gm = load_map_file(tmp_path / "hall.json", 0.5)
    assert gm.size_m == (50.0, 30.0)  # the plan's bounding box, moved to (0, 0)
    assert set(gm.places) == {"main_hall", "foyer", "east_door", "exit_north"} and set(gm.exits) == {"east_door",
                                                                                                   "exit_north"}
    counts = gm.place_cell_counts()
    assert counts["main_hall"] == 40 * 20 * 4 - 4 * 4 * 4  # the pillar is a wall
    assert counts["east_door"] == 1 * 8 * 4 and counts["foyer"] == 9 * 8 * 4
    assert gm.features["exit_sides"] == {"east_door": "east", "exit_north": "north"}
    assert gm.walkable[int(20 / 0.5), int(10 / 0.5)] == 0 and gm.walkable[int(20.5 / 0.5), int(25 / 0.5)] == 1
    # the same plan as GeoJSON, in a projected CRS (metres)
    import geopandas
    import shapely

    rows = [line.split("|") for line in HALL_WKT.splitlines() if line and not line.startswith("#")]
    frame = geopandas.GeoDataFrame({"kind": [r[0].strip() for r in rows], "name": [r[1].strip() or None for r in rows]},
                                   geometry=[shapely.from_wkt(r[2]) for r in rows], crs="EPSG:3067")
    frame.to_file(tmp_path / "hall.geojson", driver="GeoJSON")
    code, out, err = _cli(capsys, "map", "import", tmp_path / "hall.geojson", "--name", "hall_geojson", "--out",
                          tmp_path)
    assert code == 0, err
    again = load_map_file(tmp_path / "hall_geojson.json", 0.5)
    assert again.place_cell_counts() == counts


@pytest.fixture
def imported(scene, tmp_path, capsys):
    assert _cli(capsys, "map", "import", scene, "--bbox", BBOX_TEXT, "--name", "scene", "--out", tmp_path)[0] == 0
    return tmp_path / "scene.json"


SCENARIO = """
[scenario]
name = "on an imported map"
seed = 1
start = "12:00"
end = "12:02"
[map]
file = "{map}"
cell_size = 0.5
[crowds.rally]
count = 50
place = "{place}"
behaviour = "rally"
[[events]]
at = "12:01"
crowd = "rally"
count = 10
behaviour = "march"
target = "testitalo"
"""


def _scenario(tmp_path, map_file, place="koetori") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.format(map=map_file, place=place))
    return path


def test_a_scenario_runs_on_an_imported_map(imported, tmp_path, capsys):
    scenario = _scenario(tmp_path, imported.name)  # relative to the scenario's folder
    assert _cli(capsys, "validate", scenario)[0] == 0
    code, out, err = _cli(capsys, "run", scenario, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["map"] == "scene"
    resolved = (tmp_path / "run" / "scenario.toml").read_text()
    assert f'file = "{imported.resolve().as_posix()}"' in resolved  # runs from the run folder too


@pytest.mark.parametrize("how, words", [
    ("unknown place", "did you mean 'koetori'"),
    ("missing map", "map.file: no such file"),
    ("not a map", "not a protest-sim map file"),
    ("not json", "not JSON"),
    ("a path as a place", "not a usable place id"),
])
def test_scenario_mistakes_on_imported_maps_are_one_line_exit_2(how, words, imported, tmp_path, capsys):
    data = json.loads(imported.read_text())
    target, place = imported, "koetori"
    if how == "unknown place":
        place = "Koetorii"
    elif how == "missing map":
        target = tmp_path / "elsewhere.json"
    elif how == "not a map":
        target = tmp_path / "other.json"
        target.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    elif how == "not json":
        target = tmp_path / "broken.json"
        target.write_text(imported.read_text()[:5000])
    else:
        data["places"][0]["id"] = "../../x"
        target = tmp_path / "edited.json"
        target.write_text(json.dumps(data))
    scenario = _scenario(tmp_path, target.as_posix(), place)
    for command in ("validate", "run"):
        code, _, err = _cli(capsys, command, scenario, *(["--out", tmp_path / "run"] if command == "run" else []))
        assert code == 2 and words in _one_line(err)
    assert not (tmp_path / "run").exists()


def test_names_from_a_file_are_drawn_as_they_are(tmp_path, capsys):
    """A '$' in a place name or title is text, not matplotlib's maths; the id is a safe slug."""
    plan = tmp_path / "odd.wkt"
    plan.write_text("walkable | Ke$ha $quare | POLYGON ((0 0, 20 0, 20 20, 0 20, 0 0))\n"
                    "exit | | POLYGON ((19 5, 20 5, 20 8, 19 8, 19 5))\n")
    code, out, err = _cli(capsys, "map", "import", plan, "--name", "odd", "--out", tmp_path, "--title", "$5 $ map")
    assert code == 0, err
    assert "ke_ha_quare" in out and (tmp_path / "odd.png").stat().st_size > 10_000
    code, _, err = _cli(capsys, "map", "import", plan, "--name", "odd2", "--out", tmp_path, "--title", "x" * 201)
    assert code == 2 and "--title" in _one_line(err)


def test_a_batch_runs_on_an_imported_map(imported, tmp_path, capsys):
    scenario = _scenario(tmp_path, imported.name)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nscenario = "{scenario.name}"\nreplicates = 1\nduration_s = 20\n'
                     'metrics = ["left_the_area"]\n[parameters]\n"crowds.rally.count" = [20, 40]\n')
    code, out, err = _cli(capsys, "batch", sweep, "--workers", "1", "--out", tmp_path / "batch", "--quiet")
    assert code == 0, err
    assert "2 complete, 0 failed" in out


def test_the_browser_view_draws_an_imported_map(imported, tmp_path):
    from sim.kinds import load_scenario
    from sim.protest.model import ProtestModel
    from sim.viz.frame import renderer_for

    model = ProtestModel(load_scenario(_scenario(tmp_path, imported.name)), seed=1)
    model.step()
    png = renderer_for(model.gridmap).png(model)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
