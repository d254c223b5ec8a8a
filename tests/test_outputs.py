"""Run outputs explain themselves: every column and key is in the data dictionary (and schema.json),
the two sides are counted apart, events.csv adds up to the summary, a run ends with its headline."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.epstein.outputs import DICTIONARY as EPSTEIN
from sim.kinds import load_scenario
from sim.protest.outputs import DICTIONARY as PROTEST
from sim.protest.tallies import POLICE_STATES, PROTESTER_STATES
from sim.results import read_run
from sim.run.runner import run
from sim.schema import undescribed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scenarios" / "examples"
MEANS = ["tear_gas", "stun_grenades", "water_cannon"]


@pytest.fixture(scope="module")
def forceful(tmp_path_factory):
    """The pursuit example with the pursuing unit using every means: force, injuries, arrests."""
    scenario = load_scenario(EXAMPLES / "pursuit.toml").with_values(
        {"police.unit.means": MEANS, "water_cannon.knockdown_per_s": 0.5, "stun_grenades.injury_radius_m": 5.0})
    return read_run(run(scenario, out=tmp_path_factory.mktemp("runs") / "forceful", progress=False))


@pytest.fixture(scope="module")
def leaving(tmp_path_factory):
    """The corridor: everyone leaves by its one exit."""
    return read_run(run(EXAMPLES / "corridor.toml", out=tmp_path_factory.mktemp("runs") / "corridor", progress=False))


@pytest.fixture(scope="module")
def epstein(tmp_path_factory):
    return read_run(run(ROOT / "scenarios" / "epstein_2002.toml", duration_s=30,
                        out=tmp_path_factory.mktemp("runs") / "epstein", progress=False))


def _everything(res):
    return dict(timeseries=res.timeseries, events=res.events, summary=res.summary)


@pytest.mark.parametrize("name,dictionary", [("forceful", PROTEST), ("leaving", PROTEST), ("epstein", EPSTEIN)])
def test_the_dictionary_describes_every_column_and_key(name, dictionary, request):
    res = request.getfixturevalue(name)
    assert undescribed(dictionary, **_everything(res)) == []
    schema = json.loads((res.path / "schema.json").read_text())
    assert schema["model"] == dictionary.kind
    files = schema["files"]
    assert list(files["timeseries.parquet"]["columns"]) == list(res.timeseries.columns)
    assert list(files["events.csv"]["columns"]) == list(res.events.columns)
    described = {**files["timeseries.parquet"]["columns"], **files["events.csv"]["columns"],
                 **files["summary.json"]["keys"]}
    assert all(d["meaning"] and not d["meaning"].startswith("not described") for d in described.values())
    assert all(d["type"] for d in described.values())


def test_a_column_or_key_the_dictionary_lacks_is_caught(forceful):
    res = forceful
    ts = res.timeseries.assign(mystery=1)
    summary = {**res.summary, "final_counts": {**res.summary["final_counts"], "bystanders": {"quiet": 1}},
               "means_used": {**res.summary["means_used"], "rubber_bullets": 3}}
    assert undescribed(PROTEST, timeseries=ts, events=res.events.assign(weather="rain"), summary=summary) == [
        "timeseries.parquet: mystery", "events.csv: weather", "summary.json: final_counts.bystanders.quiet",
        "summary.json: means_used.rubber_bullets"]


def test_schema_json_fills_in_the_names_a_pattern_stands_for(forceful, leaving):
    columns = json.loads((leaving.path / "schema.json").read_text())["files"]["timeseries.parquet"]["columns"]
    assert "far_end" in columns["protesters_left_via_far_end"]["meaning"]
    keys = json.loads((forceful.path / "schema.json").read_text())["files"]["summary.json"]["keys"]
    assert keys["means_used.water_cannon_s"]["unit"] == "s" and keys["means_used.tear_gas"]["unit"] == "canisters"
    assert "pursue" in keys["triggers.pursue"]["meaning"]


def test_docs_outputs_md_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "write_outputs_doc.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = (ROOT / "docs" / "outputs.md").read_text()
    assert "`protesters_in_<place>`" in text and "`means_used.water_cannon_s`" in text
    assert "docs/outputs.md" in (ROOT / "README.md").read_text()


def test_counts_are_per_side_and_add_up(forceful, leaving):
    for res in (forceful, leaving):
        ts, s = res.timeseries, res.summary
        assert not [c for c in ts.columns if c.startswith("state_") or c.startswith("place_")]
        assert (ts[[f"protesters_{k}" for k in PROTESTER_STATES]].sum(axis=1) == s["protesters"]).all()
        assert (ts[[f"police_{k}" for k in POLICE_STATES]].sum(axis=1) == s["police"]).all()
        assert sum(s["final_counts"]["protesters"].values()) == s["protesters"]
        assert sum(s["final_counts"]["police"].values()) == s["police"]
        assert ts["protesters_injured"].iloc[-1] == s["injured_protesters"]
        assert ts["police_injured"].iloc[-1] == s["injured_police"]
    ts = forceful.timeseries
    assert ts["police_in_police_post"].iloc[0] == forceful.summary["police"]
    assert ts["protesters_in_police_post"].iloc[0] == 0
    # nobody stands on an exit (they leave at once): who left is counted by exit instead
    ts, s = leaving.timeseries, leaving.summary
    assert "protesters_in_far_end" not in ts and s["final_counts"]["protesters"]["left"] == 20
    assert (ts["protesters_left_via_far_end"] == ts["protesters_left"]).all()
    assert s["protesters_left_via"] == {"far_end": 20}


def test_events_hold_every_use_of_force_injury_and_arrest(forceful):
    ev, s = forceful.events, forceful.summary
    assert ev["count"].dtype == "Int64" and ev["duration_s"].dtype == np.float64 and ev["time_s"].is_monotonic_increasing
    force = ev[ev["kind"] == "force"]
    assert set(force["means"]) == set(MEANS) and (force["side"] == "police").all() and (force["unit"] == "unit").all()
    assert (force["place"] != "").any() and force["clock"].str.fullmatch(r"\d\d:\d\d:\d\d").all()
    uses = force.groupby("means")["count"].sum()
    assert uses["tear_gas"] == s["means_used"]["tear_gas"] > 0 and uses["stun_grenades"] == s["means_used"]["stun_grenades"] > 0
    jets = force[force["means"] == "water_cannon"]
    assert jets["duration_s"].sum() == pytest.approx(s["means_used"]["water_cannon_s"]) and jets["count"].isna().all()
    minutes = jets["time_s"] // 60
    assert not pd.DataFrame({"m": minutes, "p": jets["place"]}).duplicated().any()  # one row per minute and place
    assert jets["time_s"].min() >= s["first_force_s"]
    first = ev[ev["kind"] == "first_force"]
    assert len(first) == 1 and first["time_s"].iloc[0] == s["first_force_s"] and first["means"].iloc[0] == s["first_force_means"]
    hurt = ev[ev["kind"] == "injury"]
    assert hurt["count"].sum() == s["injured_protesters"] + s["injured_police"] > 0
    by_cause = hurt[hurt["side"] == "protesters"].groupby("cause")["count"].sum().to_dict()
    assert by_cause == s["injuries_by_cause"]["protesters"]
    assert set(hurt.loc[hurt["side"] == "protesters", "crowd"]) <= {"angry", "calm"}
    arrests = ev[ev["kind"] == "arrest"]
    assert arrests["count"].sum() == s["arrested"] > 0 and (arrests["cause"] == "").all()
    trigger = ev[ev["kind"] == "trigger"].iloc[0]
    assert trigger["unit"] == "unit" and pd.isna(trigger["count"]) and trigger["detail"] == "unit -> pursue"


def test_a_run_ends_with_its_headline_and_quiet_keeps_it_silent(tmp_path):
    cmd = [sys.executable, "-m", "sim", "run", str(EXAMPLES / "corridor.toml")]
    loud = subprocess.run(cmd + ["--out", str(tmp_path / "a")], capture_output=True, text=True, cwd=ROOT)
    assert loud.returncode == 0, loud.stderr
    out = loud.stdout
    assert "Corridor (seed 1): 12:00-12:03 simulated in" in out
    assert "injured: 0 protesters, 0 police; arrested: 0; left the area: 20" in out
    assert "no tear gas, stun grenades or water cannon used" in out
    for name in ("figures/timeline.png", "figures/injuries.png", "figures/density.png", "events.csv", "schema.json"):
        assert str(tmp_path / "a" / name) in out
    quiet = subprocess.run(cmd + ["--out", str(tmp_path / "b"), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "", quiet.stderr
    assert (tmp_path / "b" / "summary.json").is_file()
