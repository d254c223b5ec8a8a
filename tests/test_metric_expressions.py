"""Metric expressions (values at clock times, peaks, the time a place is cleared, sums and shares):
parsed and checked before anything runs, computed from a run's time series, usable in sweeps."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.kinds import load_scenario
from sim.protest import kind as protest_kind
from sim.run.batch import run_batch
from sim.run.metrics import metric_label, parse_metric, parse_metrics
from sim.run.series import cleared_at, place_column

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"


def _frame():
    t = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    return pd.DataFrame({"time_s": t, "injured_protesters": [0, 0, 1, 3, 3, 4, 6],
                         "protesters_active": [0, 5, 9, 9, 2, 1, 0],
                         "police_in_square": [100, 100, 60, 8, 5, 12, 4],
                         "protesters_in_square": [90, 90, 50, 5, 3, 9, 2]})


def _m(name, **kw):
    return parse_metric(name, protest_kind, **kw)


def test_values_at_times_peaks_and_combinations():
    frame, summary = _frame(), {"injured_protesters": 6, "injured_police": 2, "first_force_s": 10.0}
    assert _m("timeseries.injured_protesters@+25").value(summary, frame) == 1  # the last row at or before
    assert _m("timeseries.injured_protesters@+30").value(summary, frame) == 3
    assert math.isnan(_m("timeseries.injured_protesters@+500").value(summary, frame))  # after the run's end
    assert _m("max:timeseries.protesters_active").value(summary, frame) == 9
    assert _m("time_of_max:timeseries.protesters_active").value(summary, frame) == 20.0  # the first maximum
    assert _m("final:timeseries.protesters_active").value(summary, frame) == 0
    assert _m("sum:injured_protesters,injured_police").value(summary, frame) == 8
    assert _m("share:injured_police,injured_protesters").value(summary, frame) == 0.25
    assert math.isnan(_m("share:injured_police,arrested").value({"injured_police": 0, "arrested": 0}, frame))
    # a clock time is an offset from the scenario's start: pursuit starts at 12:00
    scenario = load_scenario(PURSUIT)
    assert _m("timeseries.injured_protesters@12:00:30", scenario=scenario, duration=240).at == 30.0


def test_the_time_a_place_is_cleared():
    frame = _frame()
    # protesters in the place if the run counts them, else anyone counted in it
    assert place_column(frame.columns, "square") == "protesters_in_square"
    assert place_column(["time_s", "police_in_square"], "square") == "police_in_square"
    assert place_column(["time_s", "police_in_gate"], "square") is None
    # force at 10 s with 90 there: cleared when at most 9 remain and stay so for 5 minutes (here: the run's end)
    assert cleared_at(frame, "square", {"first_force_s": 10.0}) == 30.0
    # no force: censored at the run's end; someone coming back above 10% postpones it
    assert cleared_at(frame, "square", {"first_force_s": None}) == 60.0
    assert cleared_at(frame.drop(columns="protesters_in_square"), "square", {"first_force_s": 0.0}) == 60.0


@pytest.mark.parametrize("name, words", [
    ("injured", ["unknown metric 'injured'", "did you mean"]),
    ("timeseries.injured_protesters", ["needs a time"]),
    ("timeseries.injured_protesters@25:00", ["clock time"]),
    ("timeseries.injured_protesters@13:00", ["after the end of the run", "12:04"]),
    ("median:timeseries.protesters_active", ["'median' is not one of"]),
    ("cleared:nowhere", ["needs a place", "west_street"]),
    ("share:injured_police", ["two or more metrics"]),
    ("max:timeseries.no_such_column", ["no time-series column 'no_such_column'"]),
])
def test_bad_metrics_are_refused_before_anything_runs(name, words):
    with pytest.raises(ScenarioError) as err:
        parse_metrics([name], protest_kind, scenario=load_scenario(PURSUIT), duration=240, path="m")
    assert err.value.path == "m.0" and all(w in err.value.message for w in words), err.value.message


def test_labels_are_readable():
    assert metric_label(protest_kind, "timeseries.injured_protesters@21:00") == "injured protesters at 21:00"
    assert metric_label(protest_kind, "max:timeseries.protesters_active") == "max of protesters active"
    assert "cleared" in metric_label(protest_kind, "cleared:ala_too_square")
    assert metric_label(protest_kind, "share:injured_police,injured_protesters").startswith("share of police")


def test_a_sweep_keeps_time_series_metrics_computed_by_its_workers(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f"""
[sweep]
scenario = "{PURSUIT}"
duration_s = 60
metrics = ["arrested", "max:timeseries.protesters_active", "timeseries.protesters_arrested@12:00:40",
           "cleared:west_street", "share:arrested,injured_protesters"]
[parameters]
police.unit.count = [4, 12]
""")
    out = run_batch(sweep, workers=1, out=tmp_path / "b", progress=False, figures=False)
    df = pd.read_parquet(out / "runs.parquet")
    assert len(df) == 2 and (df["status"] == "complete").all()
    for row in df.itertuples():
        ts = pd.read_parquet(out / row.run_dir / "timeseries.parquet")
        assert df.loc[row.Index, "max:timeseries.protesters_active"] == ts["protesters_active"].max()
        assert df.loc[row.Index, "timeseries.protesters_arrested@12:00:40"] == ts.loc[ts["time_s"] <= 40, "protesters_arrested"].iloc[-1]
    # resumed, the values come from runs.parquet; the folders' time series are not read again
    for p in (out / "runs").glob("*/timeseries.parquet"):
        p.write_bytes(b"not parquet")
    again = run_batch(sweep, workers=1, out=out, progress=False, figures=False)
    assert json.loads((again / "batch.json").read_text())["session"]["executed"] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet").drop(columns="wall_seconds"),
                                  df.drop(columns="wall_seconds"))
