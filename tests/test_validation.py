"""The checks a scenario gets before anything runs: clock order, physical bounds with units, memory, the
walking engine's limits, goals people can reach; each a ScenarioError naming the key path."""

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.kinds import kind_of, load_scenario, parse_scenario
from sim.run.runner import run

ROOT = Path(__file__).resolve().parent.parent
BISHKEK = ROOT / "scenarios" / "bishkek_2020_10_05.toml"
CORRIDOR = ROOT / "scenarios" / "examples" / "corridor.toml"


def _check(scenario):
    kind_of(scenario).check(scenario)


def _text_map(drawing: str, *, behaviour="leave", target=None) -> dict:
    crowd = {"count": 2, "place": "room", "behaviour": behaviour}
    if target:
        crowd["target"] = target
    places = {"R": "room", **({"S": "stage"} if "S" in drawing else {})}
    return {"scenario": {"name": "t", "seed": 1, "start": "12:00", "end": "12:01"},
            "map": {"ascii": drawing, "places": places, "exits": {"E": "door"} if "E" in drawing else {}},
            "crowds": {"people": crowd}}


@pytest.mark.parametrize("end, message", [("19:00", "not after start"), ("19:30", "not after start")])
def test_an_end_at_or_before_the_start_is_refused(end, message):
    with pytest.raises(ScenarioError, match=message) as err:
        load_scenario(BISHKEK).with_values({"scenario.end": end})
    assert err.value.path == "scenario.end"


def test_a_run_past_midnight_says_so():
    with pytest.raises(ScenarioError, match=r'"03:30\+1"'):
        load_scenario(BISHKEK).with_values({"scenario.end": "03:30"})
    assert load_scenario(BISHKEK).with_values({"scenario.end": "03:30+1"}).duration_s == 8 * 3600


@pytest.mark.parametrize("path, value, unit", [
    ("tear_gas.rate_per_min", 1e9, "per min"), ("water_cannon.trucks", 1_000_000, ""), ("tear_gas.wind_east", 1e6, "m/s"),
    ("tear_gas.diffusivity", 1e9, "m2/s"), ("protest.vision_m", 1e9, "m"), ("walking.speed_max", 1e300, "m/s"),
    ("scenario.record_every", 1e6, "s"), ("scenario.dt", 1e-6, "s"), ("map.cell_size", 1e-3, "m"),
])
def test_values_beyond_their_physical_bounds_are_refused_with_their_unit(path, value, unit):
    with pytest.raises(ScenarioError) as err:
        load_scenario(BISHKEK).with_values({path: value})
    assert err.value.path == path and unit in err.value.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("path", ["scenario.dt", "protest.legitimacy", "protest.k", "tear_gas.diffusivity",
                                  "gate.strength", "walking.speed_mean"])
def test_non_finite_numbers_are_refused(path, value):
    with pytest.raises(ScenarioError, match="finite"):
        load_scenario(BISHKEK).with_values({path: value})


def test_a_map_too_large_for_the_machine_is_refused_before_it_is_built():
    small = load_scenario(BISHKEK).with_values({"map.cell_size": 0.05})
    with pytest.raises(ScenarioError, match=r"needs about [\d,.]+ GiB of memory") as err:
        _check(small)
    assert err.value.path == "map.cell_size"


def test_a_step_too_long_for_the_engine_is_refused():
    with pytest.raises(ScenarioError, match="shorter dt or larger cells") as err:
        _check(load_scenario(BISHKEK).with_values({"scenario.dt": 4.0}))
    assert err.value.path == "scenario.dt"


def test_leaving_a_map_without_exits_is_refused():
    data = _text_map("######\n#RRRR#\n######")
    with pytest.raises(ScenarioError, match="no exit") as err:
        _check(parse_scenario(data))
    assert err.value.path == "crowds.people.behaviour"


def test_a_room_walled_off_from_its_exit_is_refused_by_validate_and_by_run(tmp_path):
    data = _text_map("########\n#RR#...E\n########")
    with pytest.raises(ScenarioError, match="cannot reach any exit"):
        _check(parse_scenario(data))
    with pytest.raises(ScenarioError, match="cannot reach any exit"):
        run(parse_scenario(data), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_march_to_a_place_behind_walls_is_refused():
    data = _text_map("#########\n#RR.#SSS#\n#...#...E\n#########", behaviour="march", target="stage")
    with pytest.raises(ScenarioError, match="cannot reach 'stage'") as err:
        _check(parse_scenario(data))
    assert err.value.path == "crowds.people.target"
    reachable = _text_map("#########\n#RR..SSS#\n#.......E\n#########", behaviour="march", target="stage")
    _check(parse_scenario(reachable))


def test_an_epstein_torus_too_large_for_the_machine_is_refused():
    scenario = load_scenario(ROOT / "scenarios" / "epstein_2002.toml").with_values(
        {"grid.width": 20000, "grid.height": 20000})
    with pytest.raises(ScenarioError, match="torus: a run needs about"):
        _check(scenario)


@pytest.mark.parametrize("text", ["[a]\n" * 1 + "x = " + "[" * 2000 + "]" * 2000, "a = " + "{b = " * 500 + "1" + "}" * 500])
def test_toml_nested_absurdly_deep_is_one_error(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="nested too deeply|malformed TOML"):
        load_scenario(path)


@pytest.mark.parametrize("value", ["/dev/zero", "/dev/urandom", ".", 7, ["a.txt"], "a\x00b"])
def test_a_text_map_file_that_is_no_text_file_is_one_error(tmp_path, value):
    data = {"scenario": {"name": "t", "seed": 1, "start": "12:00", "end": "12:01"},
            "map": {"ascii_file": value, "places": {"A": "a"}}, "crowds": {"c": {"count": 1, "place": "a"}}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, base_dir=tmp_path)
    assert err.value.path == "map.ascii_file"


def test_an_epstein_scenario_in_a_sweep_runs(tmp_path):
    from sim.run.batch import run_batch

    sweep = tmp_path / "s.toml"
    sweep.write_text(f'[sweep]\nscenario = "{(ROOT / "scenarios" / "epstein_2002.toml").as_posix()}"\n'
                     'duration_s = 20\nreplicates = 2\nmetrics = ["peak_active", "final_counts.jailed"]\n'
                     '[parameters]\n"rules.legitimacy" = [0.5, 0.9]\n')
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(2) as pool:
        out = run_batch(sweep, executor=pool, out=tmp_path / "b", progress=False, figures=False)
    import pandas as pd

    df = pd.read_parquet(out / "runs.parquet")
    assert len(df) == 4 and set(df["status"]) == {"complete"} and df["peak_active"].notna().all()
