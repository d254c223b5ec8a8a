"""The 5 October story on the continuous walking model (scenarios/bishkek_2020_10_05_continuous.toml):
the same checks as tests/test_bishkek_dispersal.py, 19:30-20:50 (force comes at about 20:10, the square
empties within half an hour). Slow: ~30 minutes of wall time on a 2-core machine."""

import pytest

from sim.results import read_run
from sim.run.runner import run

from tests.test_bishkek_dispersal import SPLINTER_LEAVES_S, STREETS

VARIANT = "scenarios/bishkek_2020_10_05_continuous.toml"
SPAN_S = 4800.0  # to 20:50

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def continuous_run(tmp_path_factory):
    return read_run(run(VARIANT, duration_s=SPAN_S, out=tmp_path_factory.mktemp("runs") / "cont", progress=False))


def test_peaceful_and_uncrushed_until_the_splinter_group_is_at_the_gate(continuous_run):
    s, ts, ev = continuous_run.summary, continuous_run.timeseries, continuous_run.events
    gate_trigger = ev[ev["kind"] == "trigger"].iloc[0]
    first_at_gate = ts.loc[ts["protesters_in_white_house_gate"] > 0, "time_s"].iloc[0]
    record_every = ts["time_s"].diff().median()
    assert gate_trigger["time_s"] >= first_at_gate - record_every, "police reacted before anyone reached the gate"
    assert gate_trigger["time_s"] > SPLINTER_LEAVES_S
    assert s["first_force_s"] > SPLINTER_LEAVES_S and s["first_force_s"] >= gate_trigger["time_s"]
    before = ts[ts["time_s"] < s["first_force_s"]]
    assert (before["protesters_injured"] == 0).all(), "injured (a crush?) in the peaceful rally"
    assert (before["protesters_arrested"] == 0).all()
    assert (ts.loc[ts["time_s"] < gate_trigger["time_s"], "police_injured"] == 0).all()


def test_the_square_empties_into_the_side_streets(continuous_run):
    s, ts = continuous_run.summary, continuous_run.timeseries
    t0 = s["first_force_s"]
    at_force = ts.loc[ts["time_s"] <= t0, "protesters_in_ala_too_square"].iloc[-1]
    window = ts[(ts["time_s"] > t0) & (ts["time_s"] <= t0 + 1800)]
    assert window["protesters_in_ala_too_square"].min() <= at_force / 2, "the square did not empty by half in 30 minutes"
    before = ts.loc[ts["time_s"] <= t0, [f"protesters_in_{p}" for p in STREETS]].iloc[-1]
    peak = window[[f"protesters_in_{p}" for p in STREETS]].max()
    risen = [p for p in STREETS if peak[f"protesters_in_{p}"] >= before[f"protesters_in_{p}"] + 20]
    assert len(risen) >= 3, f"only {risen} filled up"


def test_injuries_on_both_sides_and_arrests(continuous_run):
    s = continuous_run.summary
    assert s["injured_protesters"] > 0 and s["injured_police"] > 0 and s["arrested"] > 0
    assert sum(s["injuries_by_cause"]["protesters"].values()) == s["injured_protesters"]
    assert s["means_used"]["tear_gas"] > 0
    assert sum(s["final_counts"]["protesters"].values()) == s["protesters"]
    assert sum(s["final_counts"]["police"].values()) == s["police"]
