"""A tiny sensitivity analysis on the pursuit example: SALib's indices make sense (a setting the model
never reads scores exactly zero, the arrest rate drives arrests), outputs are complete, and a second
run of the same command repeats nothing."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.kinds import load_scenario
from sim.run.sensitivity import load_sensitivity, run_sensitivity

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
SPEC = f"""
[sensitivity]
name = "pursuit sensitivity"
scenario = "{PURSUIT}"
duration_s = 60
base_seed = 3
methods = ["morris", "sobol"]
metrics = ["arrested", "max:timeseries.protesters_fleeing", "timeseries.protesters_arrested@12:00:45"]
morris_trajectories = 3
sobol_samples = 4
bootstrap = 100

[parameters."protest.arrest_per_s"]     # enters: arrests per second
low = 0.01
high = 0.5
distribution = "loguniform"

[parameters."police.unit.count"]
low = 4
high = 12

[parameters."tear_gas.grams"]           # does not enter: no unit of the pursuit example uses gas
low = 10
high = 100
"""


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sa") / "pursuit_sa.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def reference(spec_file, tmp_path_factory):
    out = run_sensitivity(spec_file, workers=2, out=tmp_path_factory.mktemp("ref") / "sa", progress=False)
    return out, pd.read_parquet(out / "indices.parquet")


def test_indices_make_sense(reference):
    out, idx = reference
    assert set(idx["method"]) == {"morris", "sobol"} and idx["value"].notna().all()

    def value(method, metric, parameter, index):
        sel = (idx["method"] == method) & (idx["metric"] == metric) & (idx["parameter"] == parameter) & \
              (idx["index"] == index)
        return float(idx.loc[sel, "value"].iloc[0])

    for metric in ("arrested", "max:timeseries.protesters_fleeing", "timeseries.protesters_arrested@12:00:45"):
        # common random numbers: a setting the model never reads changes no run at all
        assert value("morris", metric, "tear_gas.grams", "mu_star") == 0.0
        assert value("sobol", metric, "tear_gas.grams", "ST") == 0.0
    mu = {p: value("morris", "arrested", p, "mu_star") for p in ("protest.arrest_per_s", "police.unit.count")}
    assert mu["protest.arrest_per_s"] > 1.0 and mu["protest.arrest_per_s"] > mu["police.unit.count"]
    assert value("sobol", "arrested", "protest.arrest_per_s", "ST") > 0.3
    # intervals bracket the estimates
    ci = idx.dropna(subset=["conf"])
    assert ((ci["conf_low"] <= ci["value"]) & (ci["value"] <= ci["conf_high"])).all()


def test_outputs(reference, spec_file):
    out, idx = reference
    info = json.loads((out / "sensitivity.json").read_text())
    assert info["status"] == "complete" and info["budget"]["morris"]["runs"] == 12
    assert info["ranking"]["morris"]["arrested"][0][0] == "protest.arrest_per_s"
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 12 + 4 * 5
    assert samples["police.unit.count"].map(type).eq(int).all() or samples["police.unit.count"].dtype.kind == "i"
    evaluations = pd.read_parquet(out / "evaluations.parquet")
    assert (evaluations["status"] == "complete").all() and evaluations["run_id"].is_unique
    assert info["session"]["executed"] == len(evaluations)
    pngs = sorted(p.name for p in (out / "figures").iterdir())
    assert len(pngs) == 3 and all((out / "figures" / p).stat().st_size > 10_000 for p in pngs)
    # every evaluation is an ordinary run folder: its scenario carries the design's values
    row = evaluations.iloc[0]
    scenario = load_scenario(out / "runs" / row["run_id"] / "scenario.toml")
    assert scenario.police[0].count == row["police.unit.count"]
    # the same command again: nothing is run, the same indices come out
    again = run_sensitivity(spec_file, workers=2, out=out, progress=False)
    assert json.loads((again / "sensitivity.json").read_text())["session"]["executed"] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again / "indices.parquet"), idx)


def test_quick_budget(spec_file, tmp_path):
    path = tmp_path / "q.toml"
    path.write_text(spec_file.read_text() + "\n[quick]\nmethods = [\"morris\"]\nmorris_trajectories = 2\n")
    spec = load_sensitivity(path, quick=True)
    assert spec.methods == ("morris",) and spec.budget() == {"morris": {"points": 8, "runs": 8}}
