"""The 5 October 2020 evening as the mission describes it, and the two variants people ask about.

Each scenario runs once, whole (19:30-23:00, numba engine): about a minute each.
"""

import pytest

from sim.run.runner import run
from sim.results import read_run

BASE = "scenarios/bishkek_2020_10_05.toml"
STREETS = ("chuy_west", "chuy_east", "kievskaya_west", "kievskaya_east", "erkindik", "erkindik_north", "toktogul",
           "frunze", "abdrakhmanov", "togolok_moldo", "panfilov", "razzakov", "orozbekov", "logvinenko",
           "tynystanov", "pushkin", "abdymomunov")
SPLINTER_LEAVES_S = 2400.0  # 20:10


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return read_run(run(BASE, out=tmp_path_factory.mktemp("runs") / "default", progress=False))


def test_peaceful_until_the_splinter_group_is_at_the_gate(default_run):
    s, ts, ev = default_run.summary, default_run.timeseries, default_run.events
    gate_trigger = ev[ev["kind"] == "trigger"].iloc[0]
    first_at_gate = ts.loc[ts["protesters_in_white_house_gate"] > 0, "time_s"].iloc[0]
    record_every = ts["time_s"].diff().median()
    assert gate_trigger["time_s"] >= first_at_gate - record_every, "police reacted before anyone reached the gate"
    assert gate_trigger["time_s"] > SPLINTER_LEAVES_S
    assert s["first_force_s"] > SPLINTER_LEAVES_S and s["first_force_s"] >= gate_trigger["time_s"]
    assert s["first_force_clock"] > "20:10"
    before = ts[ts["time_s"] < s["first_force_s"]]
    assert (before["protesters_injured"] == 0).all() and (before["protesters_arrested"] == 0).all()
    before_trigger = ts[ts["time_s"] < gate_trigger["time_s"]]
    assert (before_trigger["police_injured"] == 0).all()


def test_the_square_empties_into_the_side_streets(default_run):
    s, ts = default_run.summary, default_run.timeseries
    t0 = s["first_force_s"]
    at_force = ts.loc[ts["time_s"] <= t0, "protesters_in_ala_too_square"].iloc[-1]
    window = ts[(ts["time_s"] > t0) & (ts["time_s"] <= t0 + 1800)]
    assert window["protesters_in_ala_too_square"].min() <= at_force / 2, "the square did not empty by half in 30 minutes"
    before = ts.loc[ts["time_s"] <= t0, [f"protesters_in_{p}" for p in STREETS]].iloc[-1]
    peak = window[[f"protesters_in_{p}" for p in STREETS]].max()
    risen = [p for p in STREETS if peak[f"protesters_in_{p}"] >= before[f"protesters_in_{p}"] + 20]
    assert len(risen) >= 3, f"only {risen} filled up"


def test_injuries_on_both_sides_and_arrests(default_run):
    s = default_run.summary
    assert s["injured_protesters"] > 0 and s["injured_police"] > 0 and s["arrested"] > 0
    assert sum(s["injuries_by_cause"]["protesters"].values()) == s["injured_protesters"]
    assert set(s["injuries_by_cause"]["police"]) <= {"projectile"}
    assert s["triggers"] and all(v > "20:10" for v in s["triggers"].values())
    assert s["means_used"]["tear_gas"] > 0
    # people are conserved: on the map in some state, left, or arrested, on each side
    assert sum(s["final_counts"]["protesters"].values()) == s["protesters"]
    assert sum(s["final_counts"]["police"].values()) == s["police"]


def test_police_holding_back_use_no_force(tmp_path):
    s = read_run(run(BASE.replace(".toml", "_police_hold_back.toml"), out=tmp_path / "hold", progress=False)).summary
    assert s["first_force_s"] is None and s["triggers"] == {}
    assert s["arrested"] == 0
    assert set(s["injuries_by_cause"]["protesters"]) <= {"crush"}


def test_early_dispersal_uses_force_before_the_splinter_group(tmp_path):
    res = read_run(run(BASE.replace(".toml", "_early_dispersal.toml"), out=tmp_path / "early", progress=False))
    s = res.summary
    assert s["first_force_s"] is not None and s["first_force_s"] < SPLINTER_LEAVES_S
    assert s["injured_protesters"] > 0
