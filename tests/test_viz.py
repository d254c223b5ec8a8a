"""The browser view without a browser: frame drawing, the page's model and sliders, solara components,
and the offline set-up of the server."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("solara")
pytest.importorskip("mesa.visualization")

import ipyvuetify as v  # noqa: E402
import solara  # noqa: E402

from sim.core.walk.state import ACTIVE, FLEEING, POLICE
from sim.errors import ScenarioError
from sim.viz import app
from sim.viz.frame import POLICE_RGB, STATE_RGB, TRUCK_RGB, FrameRenderer, encode_png
from sim.viz.session import VizModel, model_params, overrides, shipped_scenarios

ROOT = Path(__file__).resolve().parent.parent
SQUARE = ROOT / "scenarios" / "examples" / "square_and_street.toml"
PURSUIT = ROOT / "scenarios" / "examples" / "pursuit.toml"
BISHKEK = ROOT / "scenarios" / "bishkek_2020_10_05.toml"

POLICE_SCENARIO = """
[scenario]
name = "Truck and gas"
seed = 3
start = "12:00"
end = "12:02"
dt = 0.5
record_every = 5

[map]
cell_size = 0.5
ascii = '''
############################################
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
#SSSSSSSSSSSSSSSSSSSS..........PPPPPPPPPPPP#
####################EEEEEEEEEE##############
'''
[map.places]
S = "square"
P = "post"
[map.exits]
E = "south_exit"

[crowds.main]
count = 40
place = "square"
behaviour = "rally"

[police.riot]
count = 10
place = "post"
posture = "hold"
means = ["water_cannon", "tear_gas"]

[water_cannon]
trucks = 1

[[triggers]]
label = "crowd near the post"
when = "actives_near"
place = "post"
radius_m = 10
at_least = 5
units = ["riot"]
posture = "disperse"
target = "square"
"""


@pytest.fixture
def police_scenario(tmp_path) -> Path:
    path = tmp_path / "truck_and_gas.toml"
    path.write_text(POLICE_SCENARIO)
    return path


def built(path, **values) -> VizModel:
    model = VizModel(scenario_file=str(path), background=False, **values)
    assert model.error is None, model.error
    return model


def wait_for(check, timeout=60.0):
    """Poll ``check`` until it returns something truthy (threads render solara updates)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {check}; last {last!r}")


def pixel_of(renderer: FrameRenderer, x: int, y: int) -> tuple[int, int]:
    flat = int(renderer.pixels(np.array([x]), np.array([y]))[0])
    return divmod(flat, renderer.width)


# --- drawing -----------------------------------------------------------------------------------------
def test_frame_paints_people_by_state_and_police(police_scenario):
    sim = built(police_scenario).sim
    r = FrameRenderer(sim.gridmap, labels=False)
    assert r.background.shape == (r.height, r.width, 3)
    a = sim.arrays
    protesters = np.flatnonzero(a.kind == 0)
    a.state[protesters[0]] = ACTIVE
    a.state[protesters[1]] = FLEEING
    img = r.render(sim)
    assert img.shape == r.background.shape and img.dtype == np.uint8
    row, col = pixel_of(r, a.x[protesters[0]], a.y[protesters[0]])
    assert tuple(img[row, col]) in {STATE_RGB["active"], STATE_RGB["fleeing"]}  # a pixel may hold two people
    police = np.flatnonzero(a.kind == POLICE)
    colours = {tuple(img[pixel_of(r, a.x[i], a.y[i])]) for i in police}
    assert POLICE_RGB in colours
    assert (img.reshape(-1, 3) == TRUCK_RGB).all(axis=1).any(), "the water cannon truck is drawn"
    # people are drawn on a copy: the background is untouched
    assert not np.array_equal(img, r.background)
    assert r.background.reshape(-1, 3).tolist().count(list(STATE_RGB["active"])) == 0


def test_frame_shows_the_gas_cloud_and_labels(police_scenario):
    sim = built(police_scenario).sim
    with_labels = FrameRenderer(sim.gridmap)
    plain = FrameRenderer(sim.gridmap, labels=False)
    assert not np.array_equal(with_labels.render(sim), plain.render(sim)), "place names are drawn"
    before = plain.render(sim)
    gas = sim.core.decisions.gas
    xs, ys = np.nonzero(sim.gridmap.place_mask("square"))
    gas.emit(int(xs.mean()), int(ys.mean()), 200.0)
    for _ in range(10):
        gas.step(0.5)
    after = plain.render(sim)
    changed = np.any(after != before, axis=2)
    assert changed.sum() > 4, "the cloud tints the pixels under it"
    png = encode_png(after)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_zoom_crops_around_the_crowd():
    model = built(SQUARE)
    full = model.renderer.render(model.sim)
    crop = model.renderer.crop_to_crowd(full, model.sim, margin_m=2.0, snap_px=1)
    assert crop.shape[0] <= full.shape[0] and crop.shape[1] <= full.shape[1]
    assert crop.size > 0


# --- the page's model ------------------------------------------------------------------------------------
def test_sliders_start_at_the_scenario_values():
    params = model_params(BISHKEK)
    assert params["scenario_file"] == str(BISHKEK.resolve())
    assert params["legitimacy"]["value"] == pytest.approx(0.9)
    assert params["trigger_actives"]["value"] == 30
    assert params["gas_rate"]["value"] == pytest.approx(2.0)
    assert params["police_total"]["value"] == 450
    assert params["splinter"]["value"] == 400
    # sliders that mean nothing for a scenario are left out
    walkers = model_params(ROOT / "scenarios" / "examples" / "corridor.toml")
    assert not {"police_total", "gas_rate", "trigger_actives"} & set(walkers)
    assert "legitimacy" not in model_params(PURSUIT), "both crowds set their own legitimacy"


def test_slider_values_become_scenario_overrides():
    from sim.kinds import load_scenario

    sc = load_scenario(BISHKEK)
    out = overrides(sc, legitimacy=0.4, threshold=0.2, trigger_actives=12, gas_rate=5, police_total=900,
                    splinter=1000)
    assert out["protest.legitimacy"] == 0.4 and out["protest.threshold"] == 0.2
    assert out["triggers.0.at_least"] == 12 and "triggers.1.at_least" not in out
    assert out["tear_gas.rate_per_min"] == 5.0
    assert out["police.white_house_guard.count"] == 300 and out["police.special_forces.count"] == 600
    assert out["events.0.count"] == 1000
    changed = sc.with_values(out)
    assert changed.protest.legitimacy == 0.4 and changed.triggers[0].at_least == 12
    assert overrides(sc) == {}


def test_viz_model_builds_in_the_background_and_steps_a_second():
    model = VizModel(scenario_file=str(SQUARE), legitimacy=0.3, seed="5")
    model.step()  # before the model is built: nothing, no error
    assert model.wait_ready(60)
    assert model.error is None
    assert model.sim.spec.protest.legitimacy == 0.3 and model.sim.seed == 5
    start = model.sim.time_s
    model.step()
    assert model.sim.time_s == pytest.approx(start + 1.0), "one Mesa step is one second of protest"
    assert model.clock == model.sim.clock
    assert model.frame_png()[:4] == b"\x89PNG"


def test_viz_model_reports_a_bad_value_instead_of_raising():
    model = built(SQUARE)
    bad = VizModel(scenario_file=str(SQUARE), seed="not a number", background=False)
    assert bad.error and "not a number" in bad.error and not bad.running
    too_many = VizModel(scenario_file=str(SQUARE), splinter=10_000, background=False)
    assert too_many.error and "events" in too_many.error
    assert model.running


def test_shipped_scenarios_are_offered():
    choices = shipped_scenarios()
    assert "bishkek_2020_10_05" in choices and "examples/square_and_street" in choices
    assert all(p.suffix == ".toml" and "sweeps" not in p.parts for p in choices.values())
    with pytest.raises(ScenarioError):
        shipped_scenarios(ROOT / "no_such_scenario.toml")


# --- solara components --------------------------------------------------------------------------------
@solara.component
def InLayout(path: str, model):
    with solara.AppLayout():
        app.ScenarioView(path, model=model)


def clock_text(rc) -> str:
    return rc.find(v.Html, class_="protest-clock").widget.children[0]


def test_step_button_advances_the_model():
    model = solara.reactive(VizModel(scenario_file=str(SQUARE)))
    box, rc = solara.render(InLayout(str(SQUARE), model), handle_error=False)
    try:
        wait_for(lambda: rc.find(v.Html, class_="protest-clock").widget)
        assert clock_text(rc) == "00:00:00"
        rc.find(v.Btn, children=["Step"]).widget.click()
        seconds = app.SECONDS_PER_FRAME
        assert model.value.sim.time_s == pytest.approx(seconds)
        wait_for(lambda: clock_text(rc) == f"00:00:{seconds:02d}")
        rc.find(v.Btn, children=["Step"]).widget.click()
        wait_for(lambda: clock_text(rc) == f"00:00:{2 * seconds:02d}")
    finally:
        rc.close()


def test_slider_changes_the_parameter_on_reset():
    model = solara.reactive(VizModel(scenario_file=str(SQUARE)))
    box, rc = solara.render(InLayout(str(SQUARE), model), handle_error=False)
    try:
        wait_for(lambda: rc.find(v.Html, class_="protest-clock").widget)
        first = model.value
        assert first.sim.spec.protest.legitimacy == pytest.approx(0.9)
        rc.find(v.Slider, label="Legitimacy L").widget.v_model = 0.35
        rc.find(v.Slider, label="Splinter marchers").widget.v_model = 33
        assert model.value is first, "a slider alone does not rebuild the model"
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert model.value is not first
        assert model.value.wait_ready(60) and model.value.error is None
        spec = model.value.sim.spec
        assert spec.protest.legitimacy == pytest.approx(0.35) and spec.events[0].count == 33
        assert model.value.sim.time_s == 0.0
        wait_for(lambda: "legitimacy 0.35" in rc.find(v.Html, class_="protest-running").widget.children[0])
    finally:
        rc.close()


def test_page_picks_scenarios(monkeypatch):
    monkeypatch.setenv(app.SCENARIO_ENV, str(SQUARE))
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    try:
        select = rc.find(v.Select, label="Scenario").widget
        assert select.v_model == "examples/square_and_street"
        assert {"bishkek_2020_10_05", "examples/corridor"} <= set(select.items)
        wait_for(lambda: rc.find(v.Html, class_="protest-clock").widget)
        select.v_model = "examples/pursuit"
        wait_for(lambda: clock_text(rc) == "12:00:00")
        labels = {s.label for s in rc.find(v.Slider).widgets}
        assert "Police officers" in labels and "Splinter marchers" not in labels
    finally:
        rc.close()


def test_loading_state_is_shown_while_the_model_builds(monkeypatch):
    import sim.viz.session as session

    gate = __import__("threading").Event()
    real_build = session.VizModel._build

    def slow_build(self):
        gate.wait(30)
        real_build(self)

    monkeypatch.setattr(session.VizModel, "_build", slow_build)
    model = solara.reactive(VizModel(scenario_file=str(SQUARE)))
    box, rc = solara.render(InLayout(str(SQUARE), model), handle_error=False)
    try:
        rc.find(v.Html, class_="protest-loading").assert_single()
        rc.find(v.Btn, children=["Step"]).widget.click()  # harmless while loading
        gate.set()
        wait_for(lambda: rc.find(v.Html, class_="protest-clock").widget)
    finally:
        gate.set()
        rc.close()


def test_bad_scenario_values_show_an_error():
    model = solara.reactive(VizModel(scenario_file=str(SQUARE), seed="x", background=False))
    box, rc = solara.render(InLayout(str(SQUARE), model), handle_error=False)
    try:
        wait_for(lambda: rc.find(v.Alert).widget)
    finally:
        rc.close()


# --- offline server set-up -------------------------------------------------------------------------------
def test_front_end_pins_and_local_assets():
    from importlib.metadata import version

    assert int(version("ipyvue").split(".")[0]) < 2 and int(version("ipyvuetify").split(".")[0]) < 2
    import solara.server.settings as settings

    env = app.server_env("scenarios/examples/corridor.toml", base={})
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1")
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert Path(env[app.SCENARIO_ENV]).is_absolute()
    # what the page template loads is installed by solara-assets where solara's proxy serves it from
    cdn = settings.assets.proxy_cache_dir
    for asset in ("@widgetti/solara-vuetify-app@10.1.1/dist/solara-vuetify-app8.min.js",
                  "@widgetti/solara-vuetify-app@10.1.1/dist/main8.css", "requirejs@2.3.6/require.js",
                  "font-awesome@4.5.0/css/font-awesome.min.css"):
        assert (cdn / asset).is_file(), f"{asset} missing from {cdn}: pip install solara-assets"
    cmd = app.server_command("127.0.0.1", 8123)
    assert cmd[1:4] == ["-m", "solara", "run"] and "--production" in cmd and "--no-check-version" in cmd


def test_serve_checks_the_scenario_first(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 1\n")
    with pytest.raises(ScenarioError):
        app.serve(str(bad), "127.0.0.1", 0)
