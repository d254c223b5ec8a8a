"""Sensitivity and calibration specs: checked whole before anything runs; every mistake is one line
naming the file and key path, and the command exits with status 2."""

from pathlib import Path

import pytest

from sim.cli import main
from sim.run.calibrate import load_calibration
from sim.run.sensitivity import load_sensitivity

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
SHIPPED = [ROOT / "scenarios" / "sensitivity" / "bishkek_2020_10_05.toml",
           ROOT / "scenarios" / "calibration" / "bishkek_2020_10_05.toml"]

SENSITIVITY = f"""
[sensitivity]
scenario = "{PURSUIT}"
duration_s = 60
metrics = ["arrested", "max:timeseries.protesters_active"]
[parameters."protest.arrest_per_s"]
low = 0.01
high = 0.5
distribution = "loguniform"
[parameters."police.unit.count"]
low = 4
high = 12
"""
CALIBRATION = f"""
[calibration]
scenario = "{PURSUIT}"
duration_s = 60
[parameters."protest.arrest_per_s"]
low = 0.01
high = 0.5
[[targets]]
metric = "arrested"
low = 2
high = 4
"""


def _write(tmp_path, text, name="spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_specs_parse(tmp_path):
    spec = load_sensitivity(_write(tmp_path, SENSITIVITY))
    assert spec.design.names == ["protest.arrest_per_s", "police.unit.count"]
    assert [p.integer for p in spec.design.parameters] == [False, True]  # a head count is rounded
    assert spec.budget() == {"morris": {"points": 30, "runs": 30}, "sobol": {"points": 256, "runs": 256}}
    cal = load_calibration(_write(tmp_path, CALIBRATION, "c.toml"))
    assert cal.targets[0].centre == 3 and cal.targets[0].tolerance == 1


@pytest.mark.parametrize("old, new, where, words", [
    ('"protest.arrest_per_s"]', '"protest.arest_per_s"]', "parameters.protest.arest_per_s",
     ["unknown key path"]),                                                          # unknown key path
    ("low = 4\nhigh = 12", "low = 12\nhigh = 4", "parameters.police.unit.count.high", ["empty range"]),
    ("low = 4\nhigh = 12", "low = 0\nhigh = 12", "parameters.police.unit.count.low",
     ["outside what the scenario accepts", ">= 1"]),                               # prior outside valid values
    ("low = 0.01\nhigh = 0.5", "low = 0.01\nhigh = 1.5", "parameters.protest.arrest_per_s.high",
     ["outside what the scenario accepts", "<= 1"]),
    ('"arrested",', '"arrests",', "sensitivity.metrics.0", ["unknown metric 'arrests'"]),   # unknown metric
    ('"arrested",', '"timeseries.protesters_active@13:00",', "sensitivity.metrics.0", ["after the end of the run"]),
    ('"max:timeseries.protesters_active"', '"max:timeseries.protesters_actve"', "sensitivity.metrics.1",
     ["no time-series column", "protesters_active"]),
    ("duration_s = 60", "duration_s = 60\nmorris_levls = 4", "sensitivity.morris_levls", ["unknown key"]),
    ("duration_s = 60", "duration_s = 60\nsobol_samples = 48", "sensitivity.sobol_samples", ["power of 2"]),
    ("duration_s = 60", "duration_s = 60\nmethods = [\"fast\"]", "sensitivity.methods.0", ["morris, sobol"]),
    ('distribution = "loguniform"', 'distribution = "lognormal"', "parameters.protest.arrest_per_s.distribution",
     ["uniform, loguniform, truncnorm"]),
    ("duration_s = 60", "duration_s = 9000", "sensitivity.duration_s", ["longer than the scenario"]),
])
def test_bad_sensitivity_specs_exit_2_with_one_line(tmp_path, capsys, old, new, where, words):
    assert old in SENSITIVITY
    path = _write(tmp_path, SENSITIVITY.replace(old, new, 1))
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: {where}: "), err
    assert all(w in err for w in words), err
    assert not (tmp_path / "out").exists()  # refused before anything ran or was written


@pytest.mark.parametrize("old, new, where, words", [
    ('"protest.arrest_per_s"]', '"protest.arest_per_s"]', "parameters.protest.arest_per_s",
     ["unknown key path"]),                                                          # unknown key path
    ("low = 0.01\nhigh = 0.5", "low = 0.5\nhigh = 0.5", "parameters.protest.arrest_per_s.high",
     ["empty range"]),                                                               # empty prior range
    ("low = 2\nhigh = 4", "low = 4\nhigh = 2", "targets.0.high", ["empty band"]),
    ("low = 2\nhigh = 4", "value = 3", "targets.0", ["low and high, or as value and tolerance"]),
    ('metric = "arrested"', 'metric = "cleared:the_moon"', "targets.0.metric", ["needs a place"]),
    ("high = 0.5", "high = 0.5\nmean = 0.1", "parameters.protest.arrest_per_s", ["truncnorm"]),
    ("duration_s = 60", "duration_s = 60\npopulaton = 10", "calibration.populaton", ["did you mean 'population'"]),
    ("duration_s = 60", "duration_s = 60\npopulation = 10\nmax_evaluations = 5", "calibration.max_evaluations",
     ["at least the population (10)"]),
    ("low = 0.01\nhigh = 0.5", "low = -0.1\nhigh = 0.5", "parameters.protest.arrest_per_s.low",
     ["outside what the scenario accepts"]),
])
def test_bad_calibration_specs_exit_2_with_one_line(tmp_path, capsys, old, new, where, words):
    assert old in CALIBRATION
    path = _write(tmp_path, CALIBRATION.replace(old, new, 1))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: {where}: "), err
    assert all(w in err for w in words), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, old, new, where", [
    (SENSITIVITY, "low = 4\nhigh = 12", "low = 12\nhigh = 4", "parameters.police.unit.count.high"),
    (CALIBRATION, '"protest.arrest_per_s"]', '"protest.arest_per_s"]', "parameters.protest.arest_per_s"),
])
def test_validate_rejects_bad_specs_with_one_line(tmp_path, capsys, text, old, new, where):
    path = _write(tmp_path, text.replace(old, new, 1))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"{path}: {where}: "), err
    assert "ok (" not in captured.out


def test_quick_overrides_are_checked_too(tmp_path):
    path = _write(tmp_path, CALIBRATION + "[quick]\npopulation = 1\n")
    load_calibration(path)  # the full budget is fine
    with pytest.raises(Exception) as err:
        load_calibration(path, quick=True)
    assert "quick.population" in str(err.value) and ">= 2" in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_shipped_specs_validate(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert "ok (" in capsys.readouterr().out
