"""Same model, same answer: the continuous core and JuPedSim's CollisionFreeSpeedModel empty the
same room through the same door from the same start positions at the same step (needs the
``bench`` extra; skipped without JuPedSim)."""

import pytest

pytest.importorskip("jupedsim")

from benchmarks.continuous_vs_jupedsim import evacuation  # noqa: E402


@pytest.mark.slow
def test_a_room_empties_through_a_1_2_m_door_as_in_jupedsim_within_10_percent():
    row = evacuation(200, dt=0.05)
    assert row["ours_out"] == row["jupedsim_out"] == 200
    assert row["evacuation_ratio"] == pytest.approx(1.0, abs=0.10), row
    assert row["door_flow_ratio"] == pytest.approx(1.0, abs=0.10), row
