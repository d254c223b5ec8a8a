"""The validation suite on the continuous walking model (the Collision-Free Speed Model with
JuPedSim's default constants: radius 0.2 m, time gap 1 s, repulsion 8 / 0.1 m and 5 / 0.02 m):
the bands it meets are asserted; the ones it misses are strict xfails whose reasons give the
numbers measured (2 seeds), so they stay visible and the marker must go the day they pass."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("pedpy")

from sim.verify.cases import get  # noqa: E402
from tests.bands import assert_bands, measured  # noqa: E402

MODEL = "continuous"


def _measured(case: str, values: tuple | None = None, seeds: int = 2) -> pd.DataFrame:
    return measured(case, values, seeds, MODEL)


def test_rimea_1_one_walker_covers_40_m_in_26_to_34_s_on_the_continuous_model():
    assert_bands(_measured("rimea_1"))


def test_rimea_6_everybody_goes_round_the_corner_and_nobody_through_a_wall_on_the_continuous_model():
    assert_bands(_measured("rimea_6"))


def test_rimea_7_each_age_group_walks_at_its_speed_on_the_continuous_model():
    assert_bands(_measured("rimea_7"))


@pytest.mark.slow
def test_crossing_streams_all_get_through_on_the_continuous_model():
    assert_bands(_measured("crossing"))


@pytest.mark.slow
@pytest.mark.parametrize("value", [(60, 10), (80, 10)], ids=lambda v: f"{v[0]}each-{v[1]}m")
def test_counterflow_everybody_gets_through_on_the_continuous_model(value):
    table = _measured("counterflow", (value,))
    assert_bands(table[~table["quantity"].str.startswith("lane order")])


@pytest.mark.slow
def test_bottleneck_flow_grows_linearly_with_the_door_on_the_continuous_model():
    table = _measured("bottleneck")
    assert_bands(table[table["quantity"].str.startswith("flow linear")])


# --- misses, kept visible -------------------------------------------------------------------------------
FD_MISSES = {0.5: "0.95 m/s where Weidmann gives 1.28 (-28 %)", 1.0: "0.82 m/s, Weidmann 1.07 (-21 %)",
             1.5: "0.61 m/s, Weidmann 0.79 (-27 %)", 2.0: "0.40 m/s, Weidmann 0.64 (-34 %)",
             2.5: "0.27 m/s, Weidmann 0.48 (-40 %)", 3.0: "0.20 m/s, Weidmann 0.32 (-39 %)",
             3.5: "0.17 m/s, Weidmann 0.25 (-33 %)"}


@pytest.mark.slow
@pytest.mark.parametrize("density", sorted(FD_MISSES), ids=lambda d: f"{d:g}per_m2")
def test_corridor_speeds_follow_weidmann_on_the_continuous_model(density, request):
    request.node.add_marker(pytest.mark.xfail(strict=True, reason=(
        f"the Collision-Free Speed Model at JuPedSim's defaults walks slower than Weidmann in the 4 m corridor: "
        f"{FD_MISSES[density]} at {density:g} /m2 (2 seeds); its speed is the gap over a 1 s time gap")))
    assert_bands(_measured("fundamental_diagram", (density,)))


@pytest.mark.xfail(strict=True, reason="largest specific flow 0.90 /(m s) (at 1.5 /m2) where Weidmann's "
                                       "1.22 +-10 % is asked: speeds 21-40 % under Weidmann's at 0.5-3.5 /m2")
@pytest.mark.slow
def test_corridor_capacity_matches_weidmann_on_the_continuous_model():
    table = _measured("fundamental_diagram", tuple(d for d in get("fundamental_diagram").values if d <= 3.5))
    assert_bands(table[table["quantity"] == "largest specific flow in the corridor"])


@pytest.mark.xfail(strict=True, reason="1 /m2 in the 10 m corridor: 0.85 m/s where Weidmann gives 1.08 (-21 %); "
                                       "the model's, not ours: JuPedSim's CFSM walks a block at 1 /m2 in a 10 m "
                                       "corridor at 0.71 m/s as ours does (benchmarks/continuous_vs_jupedsim.py)")
@pytest.mark.slow
def test_wide_corridor_speed_follows_weidmann_on_the_continuous_model():
    assert_bands(_measured("fd_wide_corridor"))


@pytest.mark.xfail(strict=True, reason=(
    "door flow 0.85 /(m s) at 1 m, 0.96 at 1.5 m, 1.01 at 2 m, 1.03 at 2.5 m, where 1.2-1.9 is asked (everyone "
    "through at every width; 200 people leaving a 20 m room by a 1.2 m door agree with JuPedSim within 2 %, "
    "1.39 /(m s) both: this scenario was not run on JuPedSim)"))
@pytest.mark.slow
def test_bottleneck_specific_flow_is_in_the_measured_band_on_the_continuous_model():
    table = _measured("bottleneck")
    assert_bands(table[table["quantity"] == "specific flow through the door"])


@pytest.mark.slow
def test_rimea_9_halving_the_exits_about_doubles_the_evacuation_time_on_the_continuous_model():
    assert_bands(_measured("rimea_9"))


@pytest.mark.xfail(strict=True, reason="160 + 160 from 20 m blocks jam head-on: 320 of 320 not through in "
                                       "300 s in the worse of 2 seeds")
@pytest.mark.slow
def test_counterflow_of_160_each_way_gets_through_on_the_continuous_model():
    table = _measured("counterflow", ((160, 20),))
    assert_bands(table[~table["quantity"].str.startswith("lane order")])


@pytest.mark.xfail(strict=True, reason="no lanes: lane order 0.49, 0.43 and 0.42 where 0.6 is asked (random "
                                       "mixing 0.06-0.21), as on the grid")
@pytest.mark.slow
@pytest.mark.parametrize("value", get("counterflow").values, ids=lambda v: f"{v[0]}each-{v[1]}m")
def test_counterflow_streams_form_lanes_on_the_continuous_model(value):
    table = _measured("counterflow", (value,))
    assert_bands(table[table["quantity"].str.startswith("lane order")])
