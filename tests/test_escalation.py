"""Escalation from what people see (issue #23), at the scale of mechanisms, on a text-map street.

A walled street 180 m long with its only exit at the west end: a crowd near the police post at the
west end, another 150 m east, out of sight (vision 15 m). Then the 5 October scenario with the
dynamics off against the counts the model gave before the dynamics existed.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.walk.state import ACTIVE, LEAVE, LEFT
from sim.kinds import load_scenario
from sim.protest.model import ProtestModel
from sim.protest.scenario import parse_scenario

ROW = "X" + "N" * 20 + "." * 4 + "P" * 10 + "." * 300 + "F" * 20 + "#"
STREET = "\n".join(["#" * len(ROW)] + [ROW] * 6 + ["#" * len(ROW)])
GOLDEN = Path(__file__).parent / "data" / "bishkek_classic_to_2025.csv"


def street(crowds: dict, police: dict | None = None, protest: dict | None = None, end="12:02") -> ProtestModel:
    raw = {
        "scenario": {"name": "street", "seed": 3, "start": "12:00", "end": end, "dt": 0.5, "record_every": 5},
        "map": {"ascii": STREET, "places": {"N": "near", "P": "post", "F": "far"}, "exits": {"X": "west_end"}},
        "protest": {"dynamics": True, "vision_m": 15, "contagion_per_s": 0.0, **(protest or {})},
        "tear_gas": {"rate_per_min": 6, "range_m": 40, "wind_east": 0.0, "half_life_s": 30, "diffusivity": 2.0},
        "crowds": crowds,
        "police": police or {},
    }
    return ProtestModel(parse_scenario(raw))


def run(model: ProtestModel) -> ProtestModel:
    while model.running:
        model.step()
    return model


def members(model: ProtestModel, crowd: str) -> np.ndarray:
    return np.flatnonzero(model.arrays.group == model.group_names.index(crowd))


def gas_squad(**extra) -> dict:
    return {"squad": {"count": 12, "place": "post", "posture": "disperse", "means": ["tear_gas"], **extra}}


def test_people_who_see_gas_on_a_peaceful_crowd_lose_legitimacy_and_those_who_do_not_keep_it():
    m = run(street({"near": {"count": 60, "place": "near", "legitimacy": 0.9},
                    "far": {"count": 60, "place": "far", "legitimacy": 0.9}}, gas_squad()))
    assert m.policing.uses["tear_gas"] > 0
    near, far = m.arrays.legitimacy[members(m, "near")], m.arrays.legitimacy[members(m, "far")]
    assert near.mean() < 0.6, f"the gassed crowd still sees legitimacy {near.mean():.2f}"
    assert (far == 0.9).all(), "people 150 m away saw nothing, yet their legitimacy changed"
    # grievance follows: G = H (1 - L) E, higher for the near crowd than its start H (1 - 0.9)
    a = m.arrays
    idx = members(m, "near")
    assert (a.grievance[idx] >= a.hardship[idx] * 0.1 * a.energy[idx] - 1e-12).all()


def test_with_the_dynamics_off_nobody_changes_their_mind():
    m = run(street({"near": {"count": 60, "place": "near", "legitimacy": 0.9}}, gas_squad(),
                   protest={"dynamics": False}))
    assert m.policing.uses["tear_gas"] > 0
    assert (m.arrays.legitimacy[members(m, "near")] == 0.9).all()
    assert (m.arrays.energy == 1.0).all()


def _mixed(police: dict) -> tuple[float, ProtestModel]:
    """Mean legitimacy of the peaceful bystanders after a minute of ``police`` among 20 radicals and them."""
    m = run(street({"radicals": {"count": 20, "place": "near", "legitimacy": 0.0},
                    "bystanders": {"count": 40, "place": "near", "legitimacy": 0.9}},
                   {"squad": {"count": 12, "place": "near", **police}}, protest={"k": 0.01, "backup": 2},
                   end="12:01"))
    return float(m.arrays.legitimacy[members(m, "bystanders")].mean()), m


def test_targeted_arrests_lower_legitimacy_less_than_indiscriminate_gas():
    targeted, mt = _mixed({"posture": "arrest", "targeting": "targeted"})
    gassed, mg = _mixed({"posture": "disperse", "means": ["tear_gas"], "targeting": "indiscriminate"})
    assert mt.core.arrested_total > 0, "the arrest team arrested nobody"
    assert mg.policing.uses["tear_gas"] > 0
    assert targeted > gassed + 0.1, f"targeted {targeted:.2f} vs indiscriminate {gassed:.2f}"


def test_targeted_units_aim_their_gas_only_where_actives_are():
    m = run(street({"near": {"count": 60, "place": "near", "legitimacy": 0.9}}, gas_squad(targeting="targeted")))
    assert m.policing.uses["tear_gas"] == 0, "gas thrown at a crowd with nobody active"


def test_actives_tire_turn_quiet_and_go_home():
    m = street({"angry": {"count": 60, "place": "near", "legitimacy": 0.0}},
               protest={"fatigue_per_s": 0.02, "rest_per_s": 0.0, "tired_energy": 0.5, "tired_leave_per_s": 0.05},
               end="12:03")
    peak = 0
    while m.running:
        m.step()
        peak = max(peak, int((m.arrays.state == ACTIVE).sum()))
    a = m.arrays
    assert peak >= 40, f"only {peak} of 60 aggrieved people turned active"
    assert int((a.state == ACTIVE).sum()) <= 5
    gone = (a.state == LEFT) | (a.behaviour == LEAVE)
    assert gone.sum() >= 30, f"only {gone.sum()} tired people went home"
    ts = m.timeseries()
    assert ts["protesters_tired"].max() > 0


def test_dynamics_off_gives_the_counts_of_the_model_before_them():
    """The 5 October scenario with ``protest.dynamics = false`` to 20:25, past the first force: every count
    as the model gave them before issue #23 (tests/data, written by that model's code, commit 8fc5eae).
    Walking as it was then too: without looking ahead (``walking.anticipation_m = 0``), which came later."""
    scenario = load_scenario("scenarios/bishkek_2020_10_05.toml").with_values(
        {"protest.dynamics": False, "walking.anticipation_m": 0.0})
    m = run(ProtestModel(scenario, duration_s=3300))
    golden = pd.read_csv(GOLDEN)
    ts = m.timeseries().iloc[::6].reset_index(drop=True)[golden.columns]
    pd.testing.assert_frame_equal(ts, golden, check_dtype=False)
