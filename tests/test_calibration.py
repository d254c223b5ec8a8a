"""A tiny ABC-SMC calibration on the pursuit example against a target the model can hit: the
posterior moves toward it, the outputs are complete, the best-supported settings form a scenario
file that runs, and the same command again repeats no simulation and gives the same posterior."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.kinds import load_scenario
from sim.run.calibrate import run_calibration
from sim.run.runner import run_to_folder

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
# with the scenario's rules, 60 s of pursuit see a dozen arrests; the target asks for 2-4
SPEC = f"""
[calibration]
name = "pursuit calibration"
scenario = "{PURSUIT}"
duration_s = 60
base_seed = 5
population = 10
generations = 3
max_evaluations = 200
predictive = 4

[parameters."protest.arrest_per_s"]
low = 0.005
high = 0.5
distribution = "loguniform"

[parameters."police.unit.count"]
low = 4
high = 14

[[targets]]
metric = "arrested"
label = "people arrested"
low = 2
high = 4
"""


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cal") / "pursuit_cal.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def calibrated(spec_file, tmp_path_factory):
    return run_calibration(spec_file, workers=2, out=tmp_path_factory.mktemp("ref") / "cal", progress=False)


def test_the_posterior_moves_toward_the_target(calibrated):
    post = pd.read_parquet(calibrated / "posterior.parquet")
    info = json.loads((calibrated / "calibration.json").read_text())
    gens = sorted(post["generation"].unique())
    assert gens == [0, 1, 2] and (post.groupby("generation").size() == 10).all()
    eps = [g["epsilon"] for g in info["generations"]]
    assert np.isinf(post.loc[post["generation"] == 0, "epsilon"]).all() and eps[1] > eps[2]
    first, last = (post[post["generation"] == g] for g in (0, gens[-1]))

    def mean(df, col):
        return float(np.sum(df[col] * df["weight"]))

    # the prior draws arrest too many; the posterior lowers the arrest rate and comes close to the band
    assert mean(last, "arrested") < mean(first, "arrested")
    assert mean(last, "protest.arrest_per_s") < mean(first, "protest.arrest_per_s")
    assert abs(mean(last, "arrested") - 3) < abs(mean(first, "arrested") - 3)
    check = info["predictive_check"]["arrested"]
    assert abs(check["predictive_median"] - 3) < abs(check["prior_median"] - 3)
    assert info["reached_bands"] and info["best"]["distance"] <= eps[-1]


def test_outputs_and_the_best_supported_scenario_runs(calibrated, tmp_path):
    for name in ("posterior.parquet", "predictive.parquet", "evaluations.parquet", "abc.db", "calibration.json",
                 "best_scenario.toml", "figures/marginals.png", "figures/pairs.png", "figures/predictive_check.png"):
        assert (calibrated / name).is_file(), name
    assert not [p.name for p in calibrated.iterdir() if p.name.startswith(".")]  # no temporary files left
    info = json.loads((calibrated / "calibration.json").read_text())
    assert set(info["posterior"]) == {"protest.arrest_per_s", "police.unit.count"}
    p = info["posterior"]["protest.arrest_per_s"]
    assert 0.005 <= p["q2.5"] <= p["median"] <= p["q97.5"] <= 0.5
    pred = pd.read_parquet(calibrated / "predictive.parquet")
    assert len(pred) == 4 and pred["arrested"].notna().all()
    best = load_scenario(calibrated / "best_scenario.toml")
    assert best.protest.arrest_per_s == info["best"]["params"]["protest.arrest_per_s"]
    assert best.police[0].count == info["best"]["params"]["police.unit.count"]
    outcome = run_to_folder(best, duration_s=60, out=tmp_path / "best", progress=False)
    assert outcome.summary["status"] == "complete"


def test_the_same_command_again_repeats_nothing(calibrated, spec_file):
    before = pd.read_parquet(calibrated / "posterior.parquet")
    run_calibration(spec_file, workers=2, out=calibrated, progress=False)
    info = json.loads((calibrated / "calibration.json").read_text())
    assert info["session"]["executed"] == 0 and info["session"]["reused"] > 0
    pd.testing.assert_frame_equal(pd.read_parquet(calibrated / "posterior.parquet"), before)


def test_a_nan_statistic_is_infinitely_far():
    from sim.run.abc_sampler import Distance

    d = Distance(p=np.inf, fixed_weights={"s0": 1.0, "s1": 0.5})
    x0 = {"s0": 1.0, "s1": 1.0}
    d.initialize(0, None, x0, 0)
    assert d({"s0": 3.0, "s1": 2.0}, x0, 0, {}) == 2.0  # pyabc's weighted p-norm, p = inf
    assert d({"s0": float("nan"), "s1": 1.0}, x0, 0, {}) == np.inf


RATES = """
[parameters."protest.baton_per_s"]
low = 0.001
high = 0.05
distribution = "loguniform"

[parameters."protest.crush_per_s"]
low = 0.00001
high = 0.0005
distribution = "loguniform"

[parameters."protest.projectile_per_s"]
low = 0.000001
high = 0.00005
distribution = "loguniform"
"""


def test_a_target_no_run_can_compute_ends_instead_of_proposing_forever(tmp_path):
    """20 s of pursuit injure nobody, so the police share of the injured is NaN in every run:
    the prior's sample is kept (at infinite distance) and the calibration ends within its budget.
    Five rates from 1e-6 to 0.5 and six particles: pyabc's kernel density estimate over the
    rates themselves was numerically singular (proposals of density zero, weights NaN)."""
    from concurrent.futures import ThreadPoolExecutor

    spec = tmp_path / "nan.toml"
    spec.write_text(SPEC.replace("duration_s = 60", "duration_s = 20").replace("generations = 3", "generations = 2")
                    .replace("population = 10", "population = 6")
                    .replace("max_evaluations = 200", "max_evaluations = 40").replace("predictive = 4", "predictive = 1")
                    .replace("[[targets]]", RATES + "\n[[targets]]")
                    .replace('metric = "arrested"', 'metric = "share:injured_police,injured_protesters"')
                    .replace("low = 2\nhigh = 4", "low = 0.25\nhigh = 0.55"))
    with ThreadPoolExecutor(2) as pool:
        out = run_calibration(spec, executor=pool, out=tmp_path / "out", progress=False)
    info = json.loads((out / "calibration.json").read_text())
    post = pd.read_parquet(out / "posterior.parquet")
    assert info["status"] == "complete" and sorted(post["generation"].unique()) == [0, 1]
    assert np.isinf(post["distance"]).all() and post["share:injured_police,injured_protesters"].isna().all()
    assert info["session"]["executed"] < 40 and not info["reached_bands"]
    assert np.isclose(post.groupby("generation")["weight"].sum(), 1.0).all()


def test_max_evaluations_holds_within_a_generation(tmp_path):
    """pyabc checks its total budget only between generations; the sampler stops a generation at it."""
    from concurrent.futures import ThreadPoolExecutor

    spec = tmp_path / "budget.toml"
    spec.write_text(SPEC.replace("duration_s = 60", "duration_s = 20").replace("population = 10", "population = 6")
                    .replace("max_evaluations = 200", "max_evaluations = 9").replace("predictive = 4", "predictive = 1"))
    with ThreadPoolExecutor(2) as pool:
        out = run_calibration(spec, executor=pool, out=tmp_path / "out", progress=False)
    info = json.loads((out / "calibration.json").read_text())
    # generation 0 takes 6 of the 9; generation 1 stops unfinished after the other 3 and is dropped
    assert [g["generation"] for g in info["generations"]] == [0]
    assert info["session"]["executed"] == 9 + 1  # and the posterior-predictive run
    assert sorted(pd.read_parquet(out / "posterior.parquet")["generation"].unique()) == [0]
