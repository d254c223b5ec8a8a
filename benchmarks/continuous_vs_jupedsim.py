"""Case: the continuous walking core (``sim.core.continuous``) against JuPedSim's
CollisionFreeSpeedModel, the same model, on identical geometry, time step and start positions.

Geometries (walls exact on a 0.1 m raster on our side, polygons on JuPedSim's):
- ``corridor``: 10 m x 100 m, walking east to an exit strip at its end (1 /m2: 1k agents); the 10k
  agents walk a 10 m x 1000 m corridor at the same density, because 10k bodies of radius 0.2 m do
  not fit into 1,000 m2 (hexagonal packing holds 7.2 /m2);
- ``room``: 20 m x 20 m with a 1.2 m door in its east wall, a 1.2 m passage behind it whose last
  0.6 m is the exit (1k agents, 2.5 /m2); 10k agents in a 63.2 m x 63.2 m room at the same density.

Throughput: agent updates per second over ``STEPS`` steps at dt = 0.01 s (JuPedSim's default),
nobody leaving meanwhile; our engine on all cores (2 here), JuPedSim as it comes (one thread).
Agreement (room, 1k, both at ``EVACUATION_DT``): evacuation time (last agent out) and door flow
(agents per second between the 10th and the 90th percent out) of both, run to the end. Needs the ``bench`` extra (``jupedsim``).
"""

from __future__ import annotations

import time

import numba
import numpy as np

from sim.core.continuous.engine import ContinuousCore, floor_from_raster, params_for
from sim.core.continuous.state import Crowd
from sim.geo.fields import distance_field

CELL = 0.1  # m: every wall and the door lie on cell edges
DT = 0.01  # s, JuPedSim's default
STEPS = 100
V0, RADIUS, TIME_GAP = 1.2, 0.2, 1.0  # JuPedSim's defaults
DOOR_M, PASSAGE_M, EXIT_M = 1.2, 1.2, 0.6


def corridor(length_m: float, width_m: float = 10.0):
    """(walkable raster, exit raster, JuPedSim polygon, exit polygon) of a corridor to its east end."""
    from shapely import Polygon

    nx, ny = int(round(length_m / CELL)), int(round(width_m / CELL))
    walk = np.ones((nx, ny), np.uint8)
    exits = np.zeros_like(walk)
    exits[-int(round(1.0 / CELL)):, :] = 1
    return walk, exits, Polygon([(0, 0), (length_m, 0), (length_m, width_m), (0, width_m)]), \
        Polygon([(length_m - 1.0, 0), (length_m, 0), (length_m, width_m), (length_m - 1.0, width_m)])


def room(side_m: float, door_m: float = DOOR_M):
    """A square room with a door in the middle of its east wall and a passage behind it to the exit."""
    from shapely import Polygon, union

    n = int(round(side_m / CELL))
    door, passage, exit_cells = (int(round(v / CELL)) for v in (door_m, PASSAGE_M, EXIT_M))
    lo = (n - door) // 2
    walk = np.zeros((n + passage, n), np.uint8)
    walk[:n, :] = 1
    walk[n:, lo:lo + door] = 1
    exits = np.zeros_like(walk)
    exits[n + passage - exit_cells:, lo:lo + door] = 1
    y0, y1 = lo * CELL, (lo + door) * CELL
    x_end = side_m + PASSAGE_M
    poly = union(Polygon([(0, 0), (side_m, 0), (side_m, side_m), (0, side_m)]),
                 Polygon([(side_m, y0), (x_end, y0), (x_end, y1), (side_m, y1)]))
    return walk, exits, poly, Polygon([(x_end - EXIT_M, y0), (x_end, y0), (x_end, y1), (x_end - EXIT_M, y1)])


def start_positions(n: int, x_range: tuple[float, float], y_range: tuple[float, float], seed: int = 0) -> np.ndarray:
    """n positions on a jittered square lattice filling the box, at least 2 r + 0.02 m apart and
    r + 0.05 m from its edges."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = x_range, y_range
    margin = RADIUS + 0.05
    area = (x1 - x0 - 2 * margin) * (y1 - y0 - 2 * margin)
    step = np.sqrt(area / n)
    jitter = max(0.0, (step - 2 * RADIUS - 0.02) / 2)
    grid = _lattice(x0 + margin, x1 - margin, y0 + margin, y1 - margin, step)
    while len(grid) < n:  # the lattice rounds down: tighten it
        step *= 0.98
        grid = _lattice(x0 + margin, x1 - margin, y0 + margin, y1 - margin, step)
        jitter = max(0.0, (step - 2 * RADIUS - 0.02) / 2)
    pick = grid[rng.choice(len(grid), n, replace=False)]
    return pick + rng.uniform(-jitter, jitter, pick.shape)


def _lattice(x0, x1, y0, y1, step):
    """Cell centres of squares of side ``step`` inside the box (a point jittered by under step / 2 stays in)."""
    xs = np.arange(x0 + step / 2, x1 - step / 2 + 1e-9, step)
    ys = np.arange(y0 + step / 2, y1 - step / 2 + 1e-9, step)
    return np.array([(x, y) for x in xs for y in ys]).reshape(-1, 2)


def ours(walk, exits, positions: np.ndarray) -> ContinuousCore:
    crowd = Crowd.empty(len(positions))
    crowd.x[:], crowd.y[:] = positions[:, 0], positions[:, 1]
    crowd.v0[:], crowd.radius[:], crowd.time_gap[:] = V0, RADIUS, TIME_GAP
    params = params_for(crowd)
    floor = floor_from_raster(walk, exits, distance_field(walk, exits, CELL)[None], CELL, params.cutoff_m)
    return ContinuousCore(floor, params, crowd)


def theirs(poly, exit_poly, positions: np.ndarray, dt: float = DT):
    import jupedsim as jps

    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=poly, dt=dt)
    exit_id = sim.add_exit_stage(exit_poly)
    journey = sim.add_journey(jps.JourneyDescription([exit_id]))
    for x, y in positions:
        sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            journey_id=journey, stage_id=exit_id, position=(float(x), float(y)), desired_speed=V0, radius=RADIUS,
            time_gap=TIME_GAP))
    return sim


def updates_per_second(step, n: int, steps: int) -> float:
    step()  # warm-up (kernels loaded, first touches)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return n * steps / (time.perf_counter() - t0)


def throughput(geometry: str, n: int, steps: int, repeats: int) -> dict:
    if geometry == "corridor":
        length = 100.0 if n <= 1_000 else 1_000.0
        walk, exits, poly, exit_poly = corridor(length)
        positions = start_positions(n, (0.0, length - 10.0), (0.0, 10.0))
    else:
        side = 20.0 if n <= 1_000 else 20.0 * np.sqrt(n / 1_000)
        side = round(side / CELL) * CELL
        walk, exits, poly, exit_poly = room(side)
        positions = start_positions(n, (0.0, side), (0.0, side))
    ratios, us, us_one, them = [], [], [], []
    threads = numba.get_num_threads()
    for _ in range(repeats):  # side by side, in turns: a slow moment of the machine lands on both
        core = ours(walk, exits, positions)
        us.append(updates_per_second(lambda: core.step(DT), n, steps))
        numba.set_num_threads(1)  # per core, as JuPedSim runs: no thread waits for the other at the step's end
        try:
            core = ours(walk, exits, positions)
            us_one.append(updates_per_second(lambda: core.step(DT), n, steps))
        finally:
            numba.set_num_threads(threads)
        sim = theirs(poly, exit_poly, positions)
        them.append(updates_per_second(sim.iterate, n, max(5, steps // 5)))
        ratios.append(us[-1] / them[-1])
    return {"agents": n, "ours_updates_per_s": float(np.median(us)), "jupedsim_updates_per_s": float(np.median(them)),
            "ratio": float(np.median(ratios)), "ratios": ratios, "ours_threads": threads,
            "ours_one_thread_updates_per_s": float(np.median(us_one)),
            "one_thread_ratio": float(np.median(us_one) / np.median(them))}


def _flow(out_times: np.ndarray) -> tuple[float, float]:
    """(evacuation time s, door flow /s between the 10th and 90th percent out)."""
    t = np.sort(out_times)
    k0, k1 = int(0.1 * len(t)), int(0.9 * len(t)) - 1
    return float(t[-1]), float((k1 - k0) / (t[k1] - t[k0]))


def evacuation(n: int = 1_000, dt: float = DT, limit_s: float = 1_500.0, door_m: float = DOOR_M) -> dict:
    """Both models empty the 20 m room (``n`` agents, a ``door_m`` door) at step ``dt``. A narrow door
    is where a crowd can jam for good: ``evacuation(300, dt=0.05, limit_s=400, door_m=1.0)`` lets all
    300 out of ours in 219 s (JuPedSim: 234 s); with 1000 and the 1.2 m door, all leave ours in
    596 s (JuPedSim: 616 s)."""
    walk, exits, poly, exit_poly = room(20.0, door_m)
    positions = start_positions(n, (0.0, 20.0), (0.0, 20.0))
    core = ours(walk, exits, positions)
    out = np.full(n, np.nan)
    steps = 0
    while core.crowd.active.any() and steps * dt < limit_s:
        core.step(dt)
        steps += 1
        out[core.gone == 1] = steps * dt
    sim = theirs(poly, exit_poly, positions, dt)
    their_out = []
    while sim.agent_count() > 0 and sim.iteration_count() * dt < limit_s:
        before = sim.agent_count()
        sim.iterate()
        their_out += [sim.iteration_count() * dt] * (before - sim.agent_count())
    row = {"agents": n, "dt_s": dt, "door_m": door_m, "ours_out": int(np.isfinite(out).sum()), "jupedsim_out": len(their_out)}
    if np.isfinite(out).all() and len(their_out) == n:
        (t_ours, q_ours), (t_them, q_them) = _flow(out), _flow(np.array(their_out))
        row.update(ours_evacuation_s=t_ours, jupedsim_evacuation_s=t_them, evacuation_ratio=t_ours / t_them,
                   ours_door_flow_per_s=q_ours, jupedsim_door_flow_per_s=q_them, door_flow_ratio=q_ours / q_them)
    return row


def corridor_speed(density: float = 1.0, dt: float = 0.05, seconds: float = 10.0, seed: int = 0) -> dict:
    """Both models' mean speed (m/s) at ``density`` /m2 in the 10 m x 100 m corridor: a block filling
    its first 60 m walks east for ``seconds``; the speed is the mean x-displacement over that time of
    those who start in the block's middle (20-40 m), where the density holds that long (the head
    walks free, the tail thins). Whether JuPedSim's CFSM walks as slowly as ours at 1 /m2 (Weidmann:
    1.07 m/s) says whether the verify suite's corridor miss is the model's or our implementation's."""
    walk, exits, poly, exit_poly = corridor(100.0)
    positions = start_positions(int(round(density * 600.0)), (0.0, 60.0), (0.0, 10.0), seed)
    middle = (positions[:, 0] >= 20.0) & (positions[:, 0] <= 40.0)
    steps = int(round(seconds / dt))
    core = ours(walk, exits, positions)
    for _ in range(steps):
        core.step(dt)
    ours_speed = float(np.mean(core.crowd.x[middle] - positions[middle, 0]) / seconds)
    sim = theirs(poly, exit_poly, positions, dt)
    ids = [a.id for a in sim.agents()]
    for _ in range(steps):
        sim.iterate()
    x = {a.id: a.position[0] for a in sim.agents()}
    their_x = np.array([x[i] for i in ids])
    their_speed = float(np.mean(their_x[middle] - positions[middle, 0]) / seconds)
    return {"density_per_m2": density, "dt_s": dt, "agents_measured": int(middle.sum()), "ours_speed_m_s": ours_speed,
            "jupedsim_speed_m_s": their_speed, "speed_ratio": ours_speed / their_speed}


EVACUATION_DT = 0.05  # s: both run the room to its end at this step (at 0.01 s JuPedSim takes ~20 min for 1k)


def run(quick: bool) -> dict:
    from importlib.util import find_spec

    if find_spec("jupedsim") is None:
        return {"skipped": 'needs the bench extra (jupedsim): python -m pip install -e ".[bench]"'}
    sizes = (1_000,) if quick else (1_000, 10_000)
    out = {"dt_s": DT, "cell_m": CELL, "v0": V0, "radius_m": RADIUS, "time_gap_s": TIME_GAP, "throughput": {}}
    for geometry in ("corridor", "room"):
        out["throughput"][geometry] = {str(n): throughput(geometry, n, steps=20 if quick else STEPS,
                                                          repeats=1 if quick else 3) for n in sizes}
    out["room_evacuation"] = evacuation(200 if quick else 1_000, dt=EVACUATION_DT)
    if not quick:  # the model's answer moves with the step (both models alike): 200 agents at JuPedSim's 0.01 s
        out["room_evacuation_dt_0.01"] = evacuation(200, dt=DT)
        out["corridor_speed"] = [corridor_speed(d) for d in (0.5, 1.0, 2.0)]
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
