"""The protest on the continuous model's shortcuts change nothing they should not: the decision
pass's bit grid set from the agents' cells is the one packed from a full grid, and who stands still
(stopped at its crowd) does not move at all, but when a walker held up trades places with it
(sim/protest/make_way.py: a march passing; not in the first minute tested here)."""

import numpy as np

from sim.core.walk.state import INJURED
from sim.kinds import load_scenario
from sim.protest.model import ProtestModel


def _model():
    sc = load_scenario("scenarios/examples/square_and_street.toml").with_values({"walking.model": "continuous"})
    return ProtestModel(sc)


def test_the_occupancy_bits_set_from_the_cells_are_the_packed_grids():
    m = _model()
    for _ in range(60):
        m.step()
        assert np.array_equal(m.core.occupancy_bits(), m.core.agents.occupancy(m.core.terrain.walkable))


def test_who_stands_still_keeps_its_place_and_direction_through_a_step():
    m = _model()
    core = m.core
    moved_still = 0
    still_seen = 0
    for _ in range(120):
        x, y, ex = core.crowd.x.copy(), core.crowd.y.copy(), core.crowd.ex.copy()
        m.step()  # the v0 set in this step is the one its sub-steps walked with
        still = (core.crowd.v0 == 0) & (core.crowd.active == 1) & (core.agents.state != INJURED)
        still_seen += int(still.sum())
        moved_still += int((still & ((core.crowd.x != x) | (core.crowd.y != y) | (core.crowd.ex != ex))).sum())
    assert still_seen > 0, "nobody ever stood still: the test tests nothing"
    assert moved_still == 0
