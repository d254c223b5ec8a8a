"""Anticipation (``sim.core.walk.anticipation``): walkers keep out of the way of people coming towards
them, the numba engine and the reference agree on it bit for bit, it sorts counterflow into lanes,
and the scenario key that sets how far people look ahead is read and checked."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.core.walk.engine import Core, Terrain, WalkParams
from sim.core.walk.state import LEAVE, AgentArrays
from sim.errors import ScenarioError
from sim.geo.fields import distance_field
from sim.kinds import load_scenario
from sim.protest.checks import check_resources
from sim.verify.measure import lane_order

VALIDATION = Path(__file__).resolve().parent.parent / "scenarios" / "validation"


def _counterflow(per_m2: float, seed: int) -> tuple[Terrain, AgentArrays]:
    """A 4 m x 50 m corridor, an exit at each end; ``per_m2`` per m2 in 10 m blocks at each end, each
    block walking to the far exit."""
    walk = np.zeros((102, 10), np.uint8)
    walk[:, 1:-1] = 1
    east, west = np.zeros_like(walk, bool), np.zeros_like(walk, bool)
    east[-1, 1:-1], west[0, 1:-1] = True, True
    fields = np.stack([distance_field(walk, east, 0.5), distance_field(walk, west, 0.5)])
    exits = (east | west).astype(np.uint8)
    terrain = Terrain(walk, np.full(walk.shape, -1, np.int16), exits, fields, np.array([-1, -1], np.int16), 0.5)
    rng = np.random.default_rng(seed)
    n = int(per_m2 * 10 * 4)
    cells = [rng.choice(20 * 8, n, replace=False) for _ in range(2)]
    xs = np.concatenate([cells[0] // 8 + 1, cells[1] // 8 + 81])
    ys = np.concatenate([cells[0] % 8 + 1, cells[1] % 8 + 1])
    a = AgentArrays.empty(2 * n)
    a.x[:], a.y[:] = xs, ys
    a.behaviour[:] = LEAVE
    a.target[:] = np.repeat([0, 1], n)
    a.speed[:] = np.clip(rng.normal(1.34, 0.26, 2 * n), 0.5, 2.2)
    return terrain, a


def _lane_order_over_run(anticipation_m: float, seed: int, steps: int = 160) -> float:
    """The mean lane order (Rex & Loewen) of a 60 + 60 counterflow over the steps where the streams meet."""
    terrain, a = _counterflow(1.5, seed)
    c = Core(terrain, WalkParams(dt=0.5, max_speed=2.2, anticipation_m=anticipation_m), a, "numba")
    rng = np.random.default_rng(seed)
    east = a.target == 0
    phis = []
    for _ in range(steps):
        c.step(rng)
        on = a.on_map()
        phi, counted = lane_order(a.x[on] * 0.5, a.y[on] * 0.5, np.where(east[on], 1, -1), lane_m=0.5, reach_m=5.0)
        if counted >= 10:
            phis.append(phi)
    return float(np.mean(phis))


def test_engines_agree_bit_for_bit_while_streams_meet_and_anticipation_changes_the_walk():
    terrain, a0 = _counterflow(2.0, 3)
    params = WalkParams(dt=0.5, max_speed=2.2)
    fast, slow = Core(terrain, params, a0.copy(), "numba"), Core(terrain, params, a0.copy(), "python")
    blind = Core(terrain, WalkParams(dt=0.5, max_speed=2.2, anticipation_m=0.0), a0.copy(), "numba")
    rng = np.random.default_rng(3)
    differs = False
    for _ in range(70):  # the blocks meet after ~10 s and are still tangled at 35 s
        plan = fast.plan_step(rng)
        assert fast.step_with(plan) == slow.step_with(plan)
        assert fast.agents.equals(slow.agents)
        assert np.array_equal(fast.occ, slow.occ) and np.array_equal(fast.contacts.who, slow.contacts.who)
        blind.step_with(plan)
        differs |= not np.array_equal(blind.agents.x, fast.agents.x)
    assert differs, "looking ahead never changed a move: the test does not exercise it"


def test_looking_ahead_sorts_counterflow_into_lanes():
    """Lane order 1: clean lanes; random mixing of these positions: about 0.3. Without looking ahead
    the streams pass as a mixture (0.35-0.42); with it they form lanes (0.53-0.64)."""
    seeds = range(3)
    blind = np.mean([_lane_order_over_run(0.0, s) for s in seeds])
    seeing = np.mean([_lane_order_over_run(3.5, s) for s in seeds])
    assert seeing > blind + 0.1, (blind, seeing)


@pytest.mark.parametrize("extra, error", [
    ("", None), ("[walking]\nanticipation_m = 0\n", None),
    ("[walking]\nanticipation_m = -1\n", "walking.anticipation_m"),
    ("[walking]\nanticipation_m = 5\n", "at most 3.5 m ahead"),  # beyond the bit grids' padding
    ("[crowds.eastbound.walking]\nanticipation_m = 1\n", "set for everyone"),
])
def test_how_far_people_look_ahead_is_a_scenario_key_for_everyone(tmp_path, extra, error):
    for name in ("counterflow.toml", "counterflow.txt"):
        shutil.copy(VALIDATION / name, tmp_path / name)
    path = tmp_path / "counterflow.toml"
    path.write_text(path.read_text() + "\n" + extra)
    if error is None:
        s = load_scenario(path)
        check_resources(s)
        assert s.walking.anticipation_m == (0.0 if extra else 3.5)
    else:
        with pytest.raises(ScenarioError, match=error):
            check_resources(load_scenario(path))


def test_a_written_scenario_with_its_look_ahead_reads_back(tmp_path):
    """A run folder's scenario.toml repeats the value in every crowd's walking table: that is no mistake."""
    for name in ("counterflow.toml", "counterflow.txt"):
        shutil.copy(VALIDATION / name, tmp_path / name)
    path = tmp_path / "counterflow.toml"
    path.write_text(path.read_text() + "\n[walking]\nanticipation_m = 2\n")
    again = tmp_path / "again.toml"
    again.write_text(load_scenario(path).to_toml())
    assert load_scenario(again).walking.anticipation_m == 2.0
