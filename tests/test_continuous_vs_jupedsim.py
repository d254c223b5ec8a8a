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


def test_a_block_at_1_per_m2_walks_the_10_m_corridor_as_fast_as_in_jupedsim_within_5_percent():
    """The verify suite's corridor speeds miss Weidmann's by 21-40 %; JuPedSim's CollisionFreeSpeedModel,
    from the same start, walks as slowly (0.71 m/s both), so the miss is the model's, not ours."""
    from benchmarks.continuous_vs_jupedsim import corridor_speed

    row = corridor_speed(1.0)
    assert row["speed_ratio"] == pytest.approx(1.0, abs=0.05), row
    assert row["jupedsim_speed_m_s"] < 0.9 * 1.07, row  # Weidmann's 1.07 m/s at 1 /m2 is missed by JuPedSim too
