"""The protest on the continuous walking model (``[walking] model = "continuous"``): the key's checks,
and each family of behaviours on small text maps, most of them on both walking models."""

import subprocess
import sys

import numpy as np
import pytest

from sim.core.walk.behaviour import CAUSE_CRUSH, CAUSE_GAS
from sim.core.walk.state import ARRESTED, FLEEING, INJURED, LEFT, NOWHERE, PROTESTER
from sim.errors import ScenarioError
from sim.kinds import load_scenario
from sim.protest.agents import Protester
from sim.protest.continuous_core import ContinuousProtestCore
from sim.protest.model import ProtestModel
from sim.protest.recording import Frames
from sim.protest.scenario import parse_scenario

MODELS = ("grid", "continuous")
ROW = "X" + "N" * 20 + "." * 4 + "P" * 10 + "." * 100 + "#"
STREET = "\n".join(["#" * len(ROW)] + [ROW] * 8 + ["#" * len(ROW)])


def street(model: str, crowds: dict, police: dict | None = None, protest: dict | None = None, end="12:02",
           **sections) -> ProtestModel:
    """A walled street, 68 m x 4 m, its exit at the west end; crowds near it ("near"), police at "post"."""
    raw = {
        "scenario": {"name": "street", "seed": 3, "start": "12:00", "end": end, "dt": 0.5, "record_every": 5},
        "map": {"ascii": STREET, "places": {"N": "near", "P": "post"}, "exits": {"X": "west_end"}},
        "walking": {"model": model},
        "protest": {"vision_m": 15, "contagion_per_s": 0.0, **(protest or {})},
        "tear_gas": {"rate_per_min": 6, "range_m": 40, "wind_east": 0.0, "half_life_s": 30, "diffusivity": 2.0},
        "crowds": crowds,
        "police": police or {},
        **sections,
    }
    return ProtestModel(parse_scenario(raw))


def run(m: ProtestModel) -> ProtestModel:
    while m.running:
        m.step()
    return m


def _raw_square(walking: dict, protest: dict | None = None) -> dict:
    return {
        "scenario": {"name": "s", "seed": 1, "start": "12:00", "end": "12:01"},
        "map": {"ascii": "#####\n#SSS#\n#SSS#\n#####", "places": {"S": "square"}},
        "walking": walking, "protest": protest or {},
        "crowds": {"c": {"count": 2, "place": "square"}},
    }


# --- the keys ----------------------------------------------------------------------------------
def test_the_grid_is_the_default_and_the_continuous_model_parses():
    assert parse_scenario(_raw_square({})).walking.model == "grid"
    w = parse_scenario(_raw_square({"model": "continuous", "continuous_dt_s": 0.02, "radius_m": 0.2})).walking
    assert (w.model, w.continuous_dt_s, w.radius_m) == ("continuous", 0.02, 0.2)


@pytest.mark.parametrize("walking, protest, path", [
    ({"model": "continous"}, None, "walking.model"),
    ({"model": 3}, None, "walking.model"),
    ({"model": "continuous", "continuous_dt_s": 0}, None, "walking.continuous_dt_s"),
    ({"model": "continuous", "continuous_dt_s": 0.5}, None, "walking.continuous_dt_s"),
    ({"model": "continuous", "radius_m": 1.0}, None, "walking.radius_m"),
    ({"model": "continuous", "stop_density": -1}, None, "walking.stop_density"),
    ({"model": "continuous"}, {"crush_density_continuous": 0}, "protest.crush_density_continuous"),
    ({"model": "continuous"}, {"crush_sustain_s": -5}, "protest.crush_sustain_s"),
])
def test_bad_walking_model_keys_name_their_key_path(walking, protest, path):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_raw_square(walking, protest))
    assert path in str(err.value) and "\n" not in str(err.value)


def test_a_crowd_may_not_walk_on_another_model():
    raw = _raw_square({"model": "continuous"})
    raw["crowds"]["c"]["walking"] = {"model": "grid"}
    with pytest.raises(ScenarioError, match="crowds.c.walking.model"):
        parse_scenario(raw)
    raw["crowds"]["c"]["walking"] = {"model": "continuous"}  # repeating it is fine (written scenarios do)
    assert parse_scenario(raw).crowds[0].walking.model == "continuous"


def test_the_command_line_override_gives_one_line_for_a_bad_model(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "scenarios/examples/square_and_street.toml",
                           "--set", "walking.model=hexagons", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "walking.model" in proc.stderr, proc.stderr


def test_the_shipped_variant_is_the_5_october_scenario_walked_continuously():
    base = load_scenario("scenarios/bishkek_2020_10_05.toml")
    variant = load_scenario("scenarios/bishkek_2020_10_05_continuous.toml")
    assert variant.walking.model == "continuous" and base.walking.model == "grid"
    same = base.with_values({"walking.model": "continuous"})
    for part in ("crowds", "police", "events", "triggers", "gate", "tear_gas", "water_cannon", "stun_grenades"):
        assert getattr(variant, part) == getattr(same, part), part
    assert variant.walking == same.walking
    assert variant.protest == same.protest  # the crush keys written out are the defaults


# --- walking, Mesa and the recording --------------------------------------------------------------
@pytest.fixture(scope="module")
def square_run():
    sc = load_scenario("scenarios/examples/square_and_street.toml").with_values({"walking.model": "continuous"})
    m = ProtestModel(sc)
    peak = 0.0
    while m.running:
        m.step()
        peak = max(peak, m.core.peak_density)
    return m


def test_the_splinter_group_marches_through_the_rally_to_the_gate(square_run):
    m = square_run
    assert isinstance(m.core, ContinuousProtestCore)
    ts = m.timeseries()
    # the gate's 6.75 m2 hold ~14 at the stop density (2 per m2; the grid packs 20 there at 4 per m2):
    # the rest stand at the back of their own group, just outside
    assert ts["protesters_in_gate"].iloc[-1] >= 14
    a = m.arrays
    marchers = np.flatnonzero(a.target == m.field_index("gate"))
    assert marchers.size == 20
    field = m.core.terrain.fields[m.field_index("gate")]
    assert field[a.x[marchers], a.y[marchers]].max() <= 3.0, "a marcher stuck on the way"
    assert ts["protesters_in_square"].iloc[-1] == 60
    assert (ts["protesters_injured"] == 0).all()


def test_a_peaceful_rally_stands_but_is_no_crush(square_run):
    m = square_run
    c = m.core.crowd
    on = c.active == 1
    assert m.core.peak_density < m.spec.protest.crush_density_continuous
    assert m.core.crushed_total == 0
    xy = np.column_stack([c.x[on], c.y[on]])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    d[np.diag_indices_from(d)] = np.inf
    assert d.min() > 2 * c.radius[0] * 0.99, "bodies overlap"
    # nobody pressed to body contact: the median nearest neighbour keeps a gap
    assert np.median(d.min(axis=1)) > 2 * c.radius[0] + 0.1


def test_mesa_positions_are_float_pairs_and_cells_follow_them(square_run):
    m = square_run
    cell = m.gridmap.cell_size
    for agent in list(m.agents_by_type[Protester])[:20]:
        x, y = agent.pos
        assert isinstance(x, float) and isinstance(y, float)
        assert agent.cell == (int(x // cell), int(y // cell))
        assert m.gridmap.walkable[agent.cell] == 1


def test_trajectories_record_real_positions(square_run):
    m = square_run
    ids, _, xs, ys, _, _ = Frames(m).take()
    np.testing.assert_array_equal(xs, m.core.crowd.x[ids])
    np.testing.assert_array_equal(ys, m.core.crowd.y[ids])
    assert not np.allclose((xs / m.gridmap.cell_size) % 1.0, 0.5), "cell centres, not positions"


def test_the_grid_model_keeps_its_cells_as_mesa_positions():
    m = ProtestModel(load_scenario("scenarios/examples/square_and_street.toml"))
    agent = m.agents_by_type[Protester][0]
    assert agent.pos == agent.cell and all(isinstance(v, int) for v in agent.pos)


# --- behaviour families, on both models ---------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_gas_startles_people_who_run_out_through_the_exit_and_are_booked_there(model):
    m = run(street(model, {"near": {"count": 60, "place": "near", "legitimacy": 0.2}},
                   {"squad": {"count": 12, "place": "post", "posture": "disperse", "means": ["tear_gas"]}},
                   protest={"k": 0.01}, tear_gas={"dose_injure": 0.05, "injury_per_s": 1.0}, end="12:03"))
    a = m.arrays
    assert m.policing.uses["tear_gas"] > 0
    left = int(((a.state == LEFT) & (a.kind == PROTESTER)).sum())
    assert left >= 10, f"only {left} left through the exit"
    assert m.ledger.left_via.sum() == left
    assert (a.x[a.state == LEFT] == NOWHERE).all()
    assert ((a.state == INJURED) & (a.cause == CAUSE_GAS)).sum() > 0, "no gas injuries"
    if model == "continuous":
        assert (m.core.crowd.active[a.state == LEFT] == 0).all()


@pytest.mark.parametrize("model", MODELS)
def test_arrests_need_backup_and_take_people_off_the_map(model):
    crowds = {"radicals": {"count": 30, "place": "near", "legitimacy": 0.0}}
    m = run(street(model, crowds, {"team": {"count": 12, "place": "near", "posture": "arrest"}},
                   protest={"k": 0.01, "backup": 2}, end="12:01"))
    a = m.arrays
    arrested = a.state == ARRESTED
    assert m.core.arrested_total > 0 and arrested.sum() == m.core.arrested_total
    assert (a.x[arrested] == NOWHERE).all()
    if model == "continuous":
        assert (m.core.crowd.active[arrested] == 0).all()
    lone = run(street(model, crowds, {"team": {"count": 1, "place": "near", "posture": "arrest"}},
                      protest={"k": 0.01, "backup": 2}, end="12:01"))
    assert lone.core.arrested_total == 0, "one officer arrested without backup"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("means, cause", [("water_cannon", "water_cannon"), ("stun_grenades", "stun_grenade")])
def test_water_cannon_and_stun_grenades_startle_and_injure(model, means, cause):
    extra = ({"water_cannon": {"trucks": 1, "knockdown_per_s": 0.5}} if means == "water_cannon"
             else {"stun_grenades": {"rate_per_min": 30, "injury_chance": 0.5}})
    m = street(model, {"near": {"count": 80, "place": "near", "legitimacy": 0.2}},
               {"squad": {"count": 12, "place": "post", "posture": "disperse", "means": [means]}},
               protest={"k": 0.01}, end="12:01", **extra)
    fled = 0
    while m.running:
        m.step()
        fled = max(fled, int((m.arrays.state == FLEEING).sum()))
    assert m.policing.uses[means] > 0
    assert fled > 0
    injured = (m.arrays.state == INJURED) & (m.arrays.kind == PROTESTER)
    from sim.core.walk.behaviour import CAUSE_NAMES
    assert (m.arrays.cause[injured] == CAUSE_NAMES.index(cause)).sum() > 0


def test_injured_people_stand_where_they_fell():
    m = street("continuous", {"near": {"count": 60, "place": "near", "legitimacy": 0.2}},
               {"squad": {"count": 12, "place": "post", "posture": "disperse", "means": ["tear_gas"]}},
               protest={"k": 0.01}, tear_gas={"dose_injure": 0.05, "injury_per_s": 1.0}, end="12:02")
    seen = None
    while m.running:
        m.step()
        hurt = np.flatnonzero(m.arrays.state == INJURED)
        if seen is None and hurt.size >= 3:
            seen = hurt, m.core.crowd.x[hurt].copy(), m.core.crowd.y[hurt].copy()
    assert seen is not None, "nobody was injured"
    hurt, x0, y0 = seen
    assert (m.core.crowd.target[hurt] == -1).all() and (m.core.crowd.active[hurt] == 1).all()
    assert (m.arrays.state[hurt] == INJURED).all()
    np.testing.assert_array_equal(m.core.crowd.x[hurt], x0)
    np.testing.assert_array_equal(m.core.crowd.y[hurt], y0)


def test_a_broken_gate_opens_the_continuous_floor():
    row = "#" + "S" * 6 + "G" + "T" * 6 + "#"
    text = "\n".join(["#" * len(row)] + [row] * 4 + ["#" * len(row)])
    raw = {"scenario": {"name": "g", "seed": 2, "start": "12:00", "end": "12:00:40"},
           "map": {"ascii": text, "places": {"S": "start", "G": "gate_line", "T": "beyond"}},
           "walking": {"model": "continuous"},
           "gate": {"place": "gate_line", "strength": 1.0, "damage_per_active_s": 0.0},
           "crowds": {"c": {"count": 6, "place": "start"}}}
    m = ProtestModel(parse_scenario(raw))

    def gate_walls():  # wall segments across the street at the gate's two faces (x = 3.5 m and 4 m)
        w = m.core.walker.floor.walls
        across = (w.x0 == w.x1) & np.isin(w.x0, (3.5, 4.0)) & (np.maximum(w.y0, w.y1) > 0.5) \
            & (np.minimum(w.y0, w.y1) < 2.5)
        return int(across.sum())

    assert gate_walls() > 0
    m.open_gate()
    assert gate_walls() == 0, "the gate's walls stayed in the continuous floor"
    assert m.core.terrain.walkable[7, 1:5].all()


# --- crush ----------------------------------------------------------------------------------------
def _room(door_cells: int, sustain_s: float = 5.0) -> ProtestModel:
    """400 people leaving a 12 m x 12 m room by a door ``door_cells`` x 0.5 m wide."""
    w = 24
    rows = ["#" * (w + 2)] + ["#" + "S" * w + "#"] * w
    rows.append("#" * (w // 2) + "X" * door_cells + "#" * (w + 2 - w // 2 - door_cells))
    raw = {"scenario": {"name": "p", "seed": 1, "start": "12:00", "end": "12:01"},
           "map": {"ascii": "\n".join(rows), "places": {"S": "room"}, "exits": {"X": "door"}},
           "walking": {"model": "continuous"},
           "protest": {"crush_density_continuous": 7.0, "crush_sustain_s": sustain_s},
           "crowds": {"c": {"count": 400, "place": "room", "behaviour": "leave"}}}
    return ProtestModel(parse_scenario(raw))


def test_a_clogged_door_crushes_those_pressed_there_for_the_sustained_time():
    m = _room(door_cells=1)  # 0.5 m: people of 0.34 m clog it
    first_above = first_crush = None
    while m.running:
        m.step()
        if first_above is None and (m.core.above_s > 0).any():
            first_above = m.time_s - m.dt
        if first_crush is None and m.core.crushed_total:
            first_crush = m.time_s
    assert first_above is not None and first_crush is not None
    assert first_crush - first_above >= 5.0 - 1e-9, "crushed before the sustained time"
    crushed = (m.arrays.state == INJURED) & (m.arrays.cause == CAUSE_CRUSH)
    assert crushed.sum() == m.core.crushed_total >= 10
    assert m.core.injured_total >= m.core.crushed_total
    assert (m.core.crowd.target[crushed] == -1).all()
    assert m.core.peak_density >= 7.0


def test_a_flowing_door_is_dense_but_crushes_nobody():
    m = run(_room(door_cells=2))  # 1 m: a queue at 5-7 per m2 that keeps moving
    assert m.core.crushed_total == 0
    assert m.core.peak_density > 4.0
    assert m.core.above_s.max() < 5.0
    assert m.state_counts()["left"] >= 60


def test_the_command_line_override_runs_the_continuous_model(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "scenarios/examples/square_and_street.toml",
                           "--set", "walking.model=continuous", "--duration", "5", "--quiet", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert load_scenario(out / "scenario.toml").walking.model == "continuous"
