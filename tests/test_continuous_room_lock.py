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
