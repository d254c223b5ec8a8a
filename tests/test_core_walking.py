"""Walking calibration: free speed, speed-density and bottleneck flow against published values."""

import numpy as np
import pytest

from sim.core.walk.state import LEFT, weidmann_factor_table
from tests.builders import core, exit_terrain, leavers


def _time_to_leave(walkable, exit_cells, start, speed, dt=0.5):
    _, terrain = exit_terrain(walkable, exit_cells)
    a = leavers((np.array([start[0]]), np.array([start[1]])), np.array([speed]))
    c = core(terrain, a, dt=dt)
    rng = np.random.default_rng(0)
    distance = float(terrain.fields[0][start])
    for step in range(1, 100_000):
        c.step(rng)
        if a.state[0] == LEFT:
            return step * dt, distance
    raise AssertionError("never arrived")


@pytest.mark.parametrize("speed", [0.6, 1.34, 2.2])
def test_free_speed_in_a_straight_corridor(speed):
    walk = np.zeros((401, 8), np.uint8)
    walk[:, 1:7] = 1
    exits = np.zeros_like(walk, bool)
    exits[-1] = True
    t, distance = _time_to_leave(walk, exits, (0, 3), speed)
    assert distance == pytest.approx(200.0)
    assert distance / t == pytest.approx(speed, rel=0.05)


@pytest.mark.parametrize("slope", [0.0, 0.25, 0.5, 1.0])
def test_free_speed_in_a_slanted_corridor(slope):
    """A 3 m wide street at any heading on the grid is walked at the configured speed."""
    nx = 300
    ny = int(nx * slope) + 12
    walk = np.zeros((nx, ny), np.uint8)
    for x in range(nx):
        yc = int(round(5 + x * slope))
        walk[x, max(yc - 3, 0): yc + 4] = 1
    exits = np.zeros_like(walk, bool)
    exits[-1] = True
    t, _ = _time_to_leave(walk, exits, (0, 5), 1.34)
    straight_line = np.hypot(nx - 1, (nx - 1) * slope) * 0.5
    assert straight_line / t == pytest.approx(1.34, rel=0.05)


@pytest.mark.parametrize("rho, v", [(0.5, 1.30), (1, 1.06), (2, 0.61), (3, 0.33), (4, 0.16)])
def test_weidmann_table_matches_the_published_speeds(rho, v):
    cell = 0.5
    table = weidmann_factor_table(48, cell)
    area = 48
    count = int(round(rho * area * cell * cell))
    assert 1.34 * table[count, area] == pytest.approx(v, abs=0.03)


def _bottleneck_flow(door_m: float, engine: str = "numba", n: int = 600, seed: int = 0) -> float:
    """Persons per metre of door width per second while the room empties (10%-90% passed)."""
    cell = 0.5
    door = int(round(door_m / cell))
    nx, ny = 100, 40
    walk = np.zeros((nx, ny), np.uint8)
    walk[:40] = 1
    walk[40, ny // 2 - door // 2: ny // 2 - door // 2 + door] = 1
    walk[41:] = 1
    exits = np.zeros_like(walk, bool)
    exits[-1] = True
    _, terrain = exit_terrain(walk, exits, cell)
    rng = np.random.default_rng(seed)
    cells = rng.choice(40 * ny, n, replace=False)
    a = leavers(np.unravel_index(cells, (40, ny)), np.clip(rng.normal(1.34, 0.26, n), 0.5, 2.2))
    c = core(terrain, a, engine)
    passed = []
    while not passed or passed[-1] < n:
        c.step(rng)
        passed.append(int(((a.x > 40) | (a.state == LEFT)).sum()))
        assert len(passed) < 20_000
    passed = np.array(passed)
    i10, i90 = np.searchsorted(passed, 0.1 * n), np.searchsorted(passed, 0.9 * n)
    return (passed[i90] - passed[i10]) / ((i90 - i10) * 0.5) / door_m


@pytest.mark.parametrize("door_m", [1.0, 2.0, 4.0])
def test_bottleneck_flow_is_within_measured_bounds(door_m):
    """Seyfried et al. / Kretz et al.: about 1.2-1.9 persons per metre per second at capacity."""
    flow = _bottleneck_flow(door_m)
    assert 1.2 <= flow <= 1.9, flow
