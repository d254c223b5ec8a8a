"""Walking calibration: free speed, speed-density and bottleneck flow against published values."""

import numpy as np
import pytest

from sim.core.walk.state import (HINDRANCE_CORRECTION, HINDRANCE_SHARE, LEFT, weidmann_factor,
                                 weidmann_factor_table)
from sim.core.walk.engine import Terrain
from sim.geo.fields import distance_field
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
def test_weidmann_curve_matches_the_published_speeds(rho, v):
    assert 1.34 * weidmann_factor(np.float64(rho)) == pytest.approx(v, abs=0.03)


def test_speed_table_is_weidmann_times_the_grid_correction():
    cell, area = 0.5, 48
    table = weidmann_factor_table(area, cell)
    for count in range(1, area + 1):
        share = count / area
        want = weidmann_factor(share / cell**2) * np.interp(share, HINDRANCE_SHARE, HINDRANCE_CORRECTION)
        assert table[count, area] == pytest.approx(min(1.0, max(0.05, want)))
    assert table[0, area] == 1.0 and (np.diff(table[:, area]) <= 0).all()  # more people, never faster


def _corridor_speed(rho: float, seed: int, length: float = 200.0, width: float = 4.0, cell: float = 0.5):
    """(density, mean speed) in the middle 40 m of a long corridor filled at ``rho`` per m2, everyone
    walking to the far end: measured over 30 s once the flow has settled (10 s), before the thinning
    from the front reaches the middle."""
    nx, ny = int(length / cell), int(width / cell)
    walk = np.zeros((nx + 1, ny + 2), np.uint8)
    walk[:, 1:-1] = 1
    exits = np.zeros_like(walk, bool)
    exits[-1] = True
    _, terrain = exit_terrain(walk, exits, cell)
    rng = np.random.default_rng(seed)
    n = int(round(rho * length * width))
    xs, ys = np.unravel_index(rng.choice(nx * ny, n, replace=False), (nx, ny))
    a = leavers((xs, ys + 1), np.clip(rng.normal(1.34, 0.26, n), 0.5, 2.2))
    c = core(terrain, a)
    lo, hi = int((length / 2 - 20) / cell), int((length / 2 + 20) / cell)
    densities, speeds = [], []
    for step in range(80):
        before = a.x.copy()
        c.step(rng)
        inside = (before >= lo) & (before < hi) & (a.state != LEFT)
        if step >= 20:
            densities.append(inside.sum() / (40 * width))
            speeds.append(((a.x[inside] - before[inside]) * cell / 0.5).mean())
    return float(np.mean(densities)), float(np.mean(speeds))


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.0, 3.0, 3.5])
def test_corridor_speed_follows_weidmann_within_ten_percent(rho):
    """The fundamental diagram (RiMEA test 4; Weidmann 1993, v0 1.34 m/s): people walk at the speed
    the density they are in allows, neither slower (the grid's own hindrance counted twice) nor faster."""
    results = [_corridor_speed(rho, seed) for seed in range(3)]
    density = np.mean([d for d, _ in results])
    speed = np.mean([v for _, v in results])
    assert density == pytest.approx(rho, rel=0.1)
    assert speed == pytest.approx(1.34 * weidmann_factor(density), rel=0.10), (density, speed)


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


@pytest.mark.parametrize("door_m", [1.0, 1.5, 2.0, 2.5, 4.0])
def test_bottleneck_flow_is_within_measured_bounds(door_m):
    """Seyfried et al. / Kretz et al.: about 1.2-1.9 persons per metre per second at capacity."""
    flow = _bottleneck_flow(door_m)
    assert 1.2 <= flow <= 1.9, flow


def test_bottleneck_flow_grows_in_proportion_to_the_door():
    """Total flow is close to linear in the width (Seyfried et al. 2009, 0.8-2.5 m doors): no
    steps, no saturation. Widths are whole cells (0.5 m)."""
    widths = np.array([1.0, 1.5, 2.0, 2.5])
    total = np.array([_bottleneck_flow(w) * w for w in widths])
    slope, intercept = np.polyfit(widths, total, 1)
    r2 = 1 - ((total - (slope * widths + intercept)) ** 2).sum() / ((total - total.mean()) ** 2).sum()
    assert (np.diff(total) > 0).all() and r2 >= 0.95, (total, r2)


def _two_streams(walk: np.ndarray, starts: list[tuple[np.ndarray, np.ndarray]], goals: list[np.ndarray],
                 seed: int, limit_s: float) -> tuple[int, float | None]:
    """Two groups, each walking to its own exit: (how many left, the time the last did or None)."""
    fields = np.stack([distance_field(walk, g & (walk == 1), 0.5) for g in goals])
    exits = np.logical_or.reduce(goals).astype(np.uint8)
    terrain = Terrain(walk, np.full(walk.shape, -1, np.int16), exits, fields, np.full(len(goals), -1, np.int16), 0.5)
    rng = np.random.default_rng(seed)
    xs = np.concatenate([x for x, _ in starts])
    ys = np.concatenate([y for _, y in starts])
    a = leavers((xs, ys), np.clip(rng.normal(1.34, 0.26, len(xs)), 0.5, 2.2))
    a.target[:] = np.repeat(np.arange(len(starts)), [len(x) for x, _ in starts])
    c = core(terrain, a)
    for step in range(int(limit_s / 0.5)):
        c.step(rng)
        if (a.state == LEFT).all():
            return len(xs), (step + 1) * 0.5
    return int((a.state == LEFT).sum()), None


def _block(rng, x0: int, y0: int, nx: int, ny: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct cells in the block of ``nx`` x ``ny`` cells from (x0, y0)."""
    xs, ys = np.unravel_index(rng.choice(nx * ny, n, replace=False), (nx, ny))
    return xs + x0, ys + y0


@pytest.mark.parametrize("per_m2, seed", [(0.6, 0), (1.0, 1), (2.0, 2)])
def test_counterflow_passes_without_deadlock(per_m2, seed):
    """Two groups walk a 4 m wide, 50 m corridor towards each other, each starting at ``per_m2``
    (up to 2 per m2 in each direction, the issue's bound): everyone gets through."""
    walk = np.zeros((102, 10), np.uint8)
    walk[:, 1:-1] = 1
    right, left = np.zeros_like(walk, bool), np.zeros_like(walk, bool)
    right[-1], left[0] = True, True
    rng = np.random.default_rng(seed + 100)
    n = int(per_m2 * 20 * 4)  # each group fills 20 m of the corridor
    starts = [_block(rng, 1, 1, 40, 8, n), _block(rng, 61, 1, 40, 8, n)]
    arrived, t = _two_streams(walk, starts, [right, left], seed, limit_s=600)
    assert arrived == 2 * n, f"{2 * n - arrived} of {2 * n} never got through"


@pytest.mark.parametrize("n, seed", [(80, 7), (200, 8)])
def test_crossing_streams_pass(n, seed):
    """Two 4 m corridors cross at right angles, ``n`` people in the first 15 m of each (80: 1.3 per
    m2; 200: 3.3 per m2, which locks the junction for good without swaps): everyone gets through."""
    walk = np.zeros((88, 88), np.uint8)
    walk[:, 40:48] = 1
    walk[40:48, :] = 1
    east, north = np.zeros_like(walk, bool), np.zeros_like(walk, bool)
    east[-1, 40:48], north[40:48, -1] = True, True
    rng = np.random.default_rng(seed)
    starts = [_block(rng, 0, 40, 30, 8, n), _block(rng, 40, 0, 8, 30, n)]
    arrived, t = _two_streams(walk, starts, [east, north], seed, limit_s=300)
    assert arrived == 2 * n, f"{2 * n - arrived} of {2 * n} stuck in the junction"
