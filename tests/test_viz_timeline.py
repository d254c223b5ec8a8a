"""Jumping to a moment and replaying a recorded run, without a browser: the moments a scenario offers,
fast-forward without drawing, a jump back that re-runs the same run, and a replay that shows exactly
what the live run showed at the same time (same picture, counts, charts' rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.kinds import load_scenario
from sim.viz.moments import Cancelled, Moment, fast_forward, jump, scenario_moments, with_log

ROOT = Path(__file__).resolve().parent.parent
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
BISHKEK = ROOT / "scenarios" / "bishkek_2020_10_05.toml"


@pytest.fixture
def live():
    from sim.viz.session import VizModel

    return VizModel(str(PURSUIT), background=False)


def test_the_bishkek_evening_offers_its_events_triggers_and_the_first_force():
    sc = load_scenario(BISHKEK)
    moments = {m.label: m for m in scenario_moments(sc)}
    splinter = moments["splinter group leaves for the White House"]
    assert splinter.time_s == 40 * 60  # 20:10, 40 minutes after 19:30
    gate = moments["the gate is attacked: special forces move to clear the White House approaches"]
    assert gate.time_s is None and gate.kind == "trigger"  # known only when it happens
    assert moments["first use of force"].kind == "first_force"
    # the log gives them times, and adds what the scenario could not promise (the gate giving way)
    log = [{"kind": "first_force", "label": "first use of force: tear_gas by special_forces", "time_s": 3000.0},
           {"kind": "gate", "label": "the gate gives way", "time_s": 3100.0},
           {"kind": "force", "label": "tear_gas by special_forces", "time_s": 3001.0}]
    merged = with_log(scenario_moments(sc), log)
    times = {m.label: m.time_s for m in merged}
    assert times["first use of force"] == 3000.0 and times["the gate gives way"] == 3100.0
    assert "tear_gas by special_forces" not in times  # every use of force is not a moment
    known = [m.time_s for m in merged if m.time_s is not None]
    assert known == sorted(known) and merged[-1].time_s is None  # in time order, unknown last


def test_fast_forward_reaches_the_time_without_drawing_and_reports_progress(live, monkeypatch):
    from sim.viz import frame

    monkeypatch.setattr(frame.FrameRenderer, "render", lambda *a, **k: pytest.fail("drew a frame"))
    seen = []
    reached = fast_forward(live, to_s=90, progress=seen.append, report_every_s=0.0)
    assert reached == 90 and live.sim.clock == "12:01:30"
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 10


def test_waiting_for_a_trigger_stops_when_the_log_shows_it(live):
    pursue = next(m for m in scenario_moments(live.spec) if m.label == "pursue")
    assert pursue.time_s == 30  # a clock trigger: known from the file
    force = Moment("first use of force", "first_force")
    reached = fast_forward(live, until=Moment("pursue", "trigger", "pursue"))
    assert 30 <= reached <= 31, reached
    assert any(r["label"] == "pursue" for r in live.sim.events_log)
    # a moment that never comes: the run goes to its end and stops there
    reached = fast_forward(live, until=force)
    assert not live.sim.running and reached == live.sim.duration_s


def test_a_fast_forward_can_be_stopped(live):
    with pytest.raises(Cancelled):
        fast_forward(live, to_s=200, should_stop=lambda: True, report_every_s=0.0)
    assert live.sim.time_s < 200


def test_a_jump_back_re_runs_the_same_run(live):
    jump(live, to_s=75)
    first = live.sim
    x, y, state = first.arrays.x.copy(), first.arrays.y.copy(), first.arrays.state.copy()
    log = [r["label"] for r in first.events_log]
    jump(live, to_s=120)
    jump(live, to_s=75)  # back: a new model from the start, same seed
    assert live.sim is not first and live.sim.time_s == 75
    np.testing.assert_array_equal(live.sim.arrays.x, x)
    np.testing.assert_array_equal(live.sim.arrays.y, y)
    np.testing.assert_array_equal(live.sim.arrays.state, state)
    assert [r["label"] for r in live.sim.events_log] == log


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from sim.run.runner import run_to_folder

    out = tmp_path_factory.mktemp("replay") / "pursuit"
    run_to_folder(PURSUIT, out=out, progress=False, trajectories_every_s=1.0)
    return out


def test_a_replay_shows_what_the_live_run_showed(recorded):
    from sim.viz.export import events_csv, timeseries_csv
    from sim.viz.map_view import density_layer
    from sim.viz.replay import ReplayModel
    from sim.viz.session import VizModel

    replay = ReplayModel(str(recorded), background=False)
    assert replay.error is None, replay.error
    live = VizModel(str(PURSUIT), background=False)
    assert replay.end_s == live.sim.duration_s == 240
    changed = 0
    previous = None
    for t in (0, 30, 45, 60, 120, 239):
        while live.sim.time_s < t:
            live.step()
        replay.seek(t)
        assert replay.sim.clock == live.sim.clock
        assert replay.sim.side_counts() == live.sim.side_counts(), t
        picture = replay.renderer.render(replay.sim)
        np.testing.assert_array_equal(picture, live.renderer.render(live.sim))
        layer = density_layer(replay.renderer)
        np.testing.assert_array_equal(layer.render(replay.sim), density_layer(live.renderer).render(live.sim))
        changed += previous is not None and not np.array_equal(picture, previous)
        previous = picture
        rows = len(live.sim.datacollector.model_vars["time_s"])
        assert len(replay.sim.datacollector.model_vars["time_s"]) == rows
        # the page's exports of the moment, byte for byte
        assert events_csv(replay.sim) == events_csv(live.sim) and timeseries_csv(replay.sim) == timeseries_csv(live.sim)
    assert changed >= 3  # the people moved: the comparison was not of empty pictures
    # scrubbing back is a look-up: the same state as before, at once
    replay.seek(30)
    assert replay.sim.clock == "12:00:30" and replay.sim.side_counts()["protesters"]["active"] > 0
    labels = [m["label"] for m in replay.recording.markers]
    assert "pursue" in labels


@pytest.fixture(scope="module")
def gassed(tmp_path_factory):
    """The pursuit example with the pursuing unit throwing tear gas: a cloud from 12:00:31 for about 90 s."""
    from sim.run.runner import run_to_folder

    out = tmp_path_factory.mktemp("replay") / "gassed"
    scenario = load_scenario(PURSUIT).with_values({"police.unit.means": ["tear_gas"]})
    run_to_folder(scenario, out=out, progress=False, trajectories_every_s=1.0)
    return out


def _without_gas(sim):
    """The picture's input with the cloud taken away (people, trucks and labels as they are)."""
    import copy

    bare = copy.copy(sim)
    gas = copy.copy(sim.core.decisions.gas)
    gas.conc = np.zeros_like(gas.conc)
    bare.core = type("Core", (), {"decisions": type("Decisions", (), {"gas": gas})()})()
    return bare


def test_a_replay_draws_the_gas_cloud_as_the_live_run_did(gassed, tmp_path):
    import shutil

    from sim.traj.gas import read_meta
    from sim.viz.replay import ReplayModel
    from sim.viz.session import VizModel

    meta = read_meta(gassed / "gas.parquet")
    assert meta["every_s"] == 1.0 and meta["visible"] > 0
    replay = ReplayModel(str(gassed), background=False)
    assert replay.error is None, replay.error
    assert replay.recording.has_gas and replay.recording.gas_note == ""
    live = VizModel(str(gassed / "scenario.toml"), background=False)
    clouds = 0
    for t in (20, 35, 45, 60, 90, 120, 150):
        while live.sim.time_s < t:
            live.step()
        replay.seek(t)
        assert replay.sim.clock == live.sim.clock
        picture = replay.renderer.render(replay.sim)
        np.testing.assert_array_equal(picture, live.renderer.render(live.sim), err_msg=f"t = {t}")
        bare = live.renderer.render(_without_gas(live.sim))
        clouds += not np.array_equal(picture, bare)  # the cloud is in the picture, not only the people
    assert clouds >= 4, clouds  # gas was in the air at most of the times compared

    # a folder recorded before gas.parquet existed still replays, people and all, and says the cloud is missing
    old = tmp_path / "old"
    shutil.copytree(gassed, old)
    (old / "gas.parquet").unlink()
    before = ReplayModel(str(old), background=False)
    assert before.error is None, before.error
    assert not before.recording.has_gas and "gas.parquet" in before.recording.gas_note
    before.seek(60)
    replay.seek(60)
    np.testing.assert_array_equal(before.renderer.render(before.sim), replay.renderer.render(_without_gas(replay.sim)))
    assert before.sim.side_counts() == replay.sim.side_counts()


def test_a_replay_draws_the_map_the_live_model_has_with_its_gate_closed(tmp_path):
    """The 5 October evening's gate is a wall until it breaks, in the live model's map and picture: a replay's too."""
    from sim.protest.model import ProtestModel
    from sim.run.runner import run_to_folder
    from sim.viz.recording import RunRecording

    out = tmp_path / "bishkek"
    run_to_folder(BISHKEK, out=out, progress=False, duration_s=2, trajectories_every_s=1.0)
    rec = RunRecording(out)
    assert rec.spec.gate is not None
    live = ProtestModel(rec.spec)
    assert rec.gridmap.fingerprint() == live.gridmap.fingerprint()
    assert rec.gas.shape == live.core.decisions.gas.conc.shape


def test_a_replay_plays_and_stops_at_the_end(recorded):
    from sim.viz.replay import ReplayModel

    replay = ReplayModel(str(recorded), background=False)
    replay.seek(237)
    for _ in range(5):
        replay.step()
    assert replay.sim.time_s == 240 and not replay.running


def test_a_folder_without_trajectories_says_how_to_record_them(tmp_path):
    from sim.run.runner import run_to_folder
    from sim.viz.recording import check_run_folder

    out = tmp_path / "plain"
    run_to_folder(PURSUIT, out=out, progress=False, duration_s=5)
    with pytest.raises(ScenarioError, match="--trajectories") as err:
        check_run_folder(out)
    assert "\n" not in str(err.value)
    with pytest.raises(ScenarioError, match="not a run folder"):
        check_run_folder(tmp_path)


def test_typed_times_are_read_as_clock_times():
    from sim.viz.timeline import parse_time

    sc = load_scenario(BISHKEK)
    assert parse_time("20:10", sc) == 2400
    assert parse_time(" 19:30:30 ", sc) == 30
    with pytest.raises(ScenarioError, match="outside the run"):
        parse_time("12:00", sc)
    with pytest.raises(ScenarioError):
        parse_time("soon", sc)


def test_the_cli_replays_a_run_folder_and_says_why_not(recorded, tmp_path, monkeypatch, capsys):
    from sim import cli
    from sim.run.runner import run_to_folder
    from sim.viz import server

    untracked = tmp_path / "untracked"
    run_to_folder(PURSUIT, out=untracked, progress=False, duration_s=5)
    calls = []
    monkeypatch.setattr(server.subprocess, "Popen", lambda cmd, env, **kw: calls.append(env) or _Done())
    assert cli.main(["viz", str(recorded), "--port", "8799"]) == 0
    assert calls[0][server.RUN_DIR_ENV] == str(recorded.resolve())
    capsys.readouterr()
    not_a_run = tmp_path / "plain"
    not_a_run.mkdir()
    assert cli.main(["viz", str(not_a_run)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert cli.main(["viz", str(untracked)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "protest-sim run SCENARIO --trajectories" in err, err
    assert len(calls) == 1  # no server started for either


class _Done:
    pid = -1

    def wait(self, timeout=None):
        return 0

    def poll(self):
        return 0


@pytest.mark.slow
def test_a_jump_back_in_the_dispersal_gives_the_same_evening():
    """The 5 October evening, with gas, grenades and water cannon in play by 20:25: back to 20:20 and
    on to 20:25 again is the same state, person for person (what makes a jump back honest)."""
    from sim.viz.session import VizModel

    live = VizModel(str(BISHKEK), background=False)
    jump(live, to_s=55 * 60)
    a = live.sim.arrays
    before = [v.copy() for v in (a.x, a.y, a.state, a.legitimacy)]
    uses, log = dict(live.sim.policing.uses), [r["label"] for r in live.sim.events_log]
    assert uses["tear_gas"] > 0 and uses["water_cannon"] > 0, uses  # the force is in play
    jump(live, to_s=50 * 60)
    jump(live, to_s=55 * 60)
    a = live.sim.arrays
    for old, new in zip(before, (a.x, a.y, a.state, a.legitimacy)):
        np.testing.assert_array_equal(old, new)
    assert live.sim.policing.uses == uses and [r["label"] for r in live.sim.events_log] == log


def test_the_server_environment_names_the_run_folder_only_when_given(tmp_path):
    from sim.viz.server import RUN_DIR_ENV, server_env

    assert server_env(None, base={}, run_dir=tmp_path)[RUN_DIR_ENV] == str(tmp_path.resolve())
    assert RUN_DIR_ENV not in server_env(PURSUIT, base={RUN_DIR_ENV: str(tmp_path)})
