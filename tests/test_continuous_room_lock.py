"""The continuous core empties a crowded room through a narrow door: nobody stays pressed against
the wall beside the door. With directions that followed the grid's 8-neighbour fields (13 degrees
into the wall below the door), five of these 1000 stood locked against that wall for good."""

import numpy as np
import pytest

from benchmarks.continuous_vs_jupedsim import DOOR_M, ours, room, start_positions


@pytest.mark.slow
def test_a_thousand_people_all_leave_the_20_m_room_by_its_1_2_m_door():
    walk, exits, _, _ = room(20.0, DOOR_M)
    core = ours(walk, exits, start_positions(1_000, (0.0, 20.0), (0.0, 20.0)))
    dt, steps = 0.05, 0
    while core.crowd.active.any() and steps * dt < 800.0:  # JuPedSim: all out in 616 s
        core.step(dt)
        steps += 1
    left = np.flatnonzero(core.crowd.active)
    assert left.size == 0, f"{left.size} still inside after {steps * dt:.0f} s at {core.crowd.x[left]}, {core.crowd.y[left]}"


def test_three_hundred_people_all_leave_by_a_1_m_door_without_jamming_its_jambs():
    """Heading for the edge of the exit that their way first touches (not its middle, as JuPedSim's
    agents do), 220 of these 300 stood jammed at the door's jambs for good; JuPedSim: all out in 234 s."""
    walk, exits, _, _ = room(20.0, 1.0)
    core = ours(walk, exits, start_positions(300, (0.0, 20.0), (0.0, 20.0)))
    dt, steps = 0.05, 0
    while core.crowd.active.any() and steps * dt < 400.0:
        core.step(dt)
        steps += 1
    assert not core.crowd.active.any(), f"{int(core.crowd.active.sum())} of 300 still inside after 400 s"
