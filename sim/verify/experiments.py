"""One function per case: run a scenario variant, record it, measure it, hold it against its band.

Each takes ``(ctx, value)``: the :class:`Context` (walking model, seed, engine, a cache shared
by the variants of one case) and the value of the parameter the case varies, and returns an
:class:`Outcome`: rows (one per measured quantity, with its band) and the series the figures draw.
The bands and their sources are stated where the rows are made; ``cases`` lists the cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..kinds import load_scenario
from .measure import area_series, crossing_frames, lane_order, line_flow, off_floor
from .models import WalkingModel
from .references import WEIDMANN_SOURCE, weidmann_peak_flow, weidmann_speed
from .trajectories import Recording, place_box, record

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "validation"
FD_WINDOW_S = (10.0, 40.0)  # steady state in the 200 m corridors (see rimea04_fundamental_diagram.toml)
FD_AREA_M = 40.0  # the measurement area: the middle 40 m
FD_FRAME_STEP = 2  # speeds over 1 s either side
FD_TOLERANCE = 0.10  # +-10 % of Weidmann (issue #21)
FD_BANDED = (0.5, 3.5)  # densities held to Weidmann; beyond, the grid's packing limit (4 /m2) is reached
DOOR_FLOW_BAND = (1.2, 1.9)  # persons/(m s): Seyfried et al. 2009; Kretz et al. 2006
DOOR_SOURCE = "Seyfried et al. 2009; Kretz et al. 2006 (calibration.md): 1.2-1.9 /(m s)"
FLOW_LIMIT_S = 300.0  # counterflow and crossing: everybody through within this (issue #21)
LANE_ORDER_MIN = 0.6
LANE_SOURCE = "lane order parameter (Rex & Loewen 2007; Nowak & Schadschneider 2012), our threshold 0.6"
# RiMEA test 7: speeds by age after Weidmann (1993), as read for JuPedSim's RiMEA 7 test
AGE_SPEEDS = {"age_20": (1.60, 1.64), "age_30": (1.52, 1.56), "age_40": (1.46, 1.50), "age_50": (1.39, 1.43),
              "age_60": (1.27, 1.27), "age_70": (1.07, 1.07)}
RIMEA7_TOLERANCE = 0.05


@dataclass
class Context:
    model: WalkingModel
    seed: int
    engine: str = "numba"
    cache: dict = field(default_factory=dict)


@dataclass
class Outcome:
    rows: list[dict]
    series: dict[str, pd.DataFrame] = field(default_factory=dict)


def row(quantity: str, measured, *, low=None, high=None, unit: str = "", variant: str = "", param=None,
        source: str = "", detail: str = "", agg: str = "mean") -> dict:
    """One measured quantity and its band (``low``/``high`` None: unbounded; both None: reported only).
    ``param``: the variant's value as a number (density, door width...), for the figures; ``agg``:
    how seeds combine, the mean or the worst case (min / max)."""
    return {"variant": variant, "param": np.nan if param is None else float(param), "quantity": quantity,
            "measured": float(measured) if measured is not None else np.nan,
            "low": np.nan if low is None else float(low), "high": np.nan if high is None else float(high),
            "unit": unit, "source": source, "detail": detail, "agg": agg}


def scenario(name: str, values: dict | None = None):
    s = load_scenario(SCENARIO_DIR / name)
    return s.with_values(values) if values else s


def _run(ctx: Context, s, duration_s: float | None = None) -> Recording:
    return record(s.with_seed(ctx.seed), seed=ctx.seed, duration_s=duration_s or s.duration_s, model=ctx.model,
                  engine=ctx.engine)


# --- RiMEA 1 ----------------------------------------------------------------------------------------
def rimea_1(ctx: Context, _value=None) -> Outcome:
    rec = _run(ctx, scenario("rimea01_corridor.toml"))
    t = rec.left_frame[0] * rec.dt if rec.left_frame[0] >= 0 else np.nan
    return Outcome([row("travel time, 40 m at 1.33 m/s", t, low=26, high=34, unit="s",
                        source="RiMEA test 1: 26-34 s")])


# --- fundamental diagram (RiMEA 4) -------------------------------------------------------------------
def fundamental_diagram(ctx: Context, density: float, *, file: str = "rimea04_fundamental_diagram.toml") -> Outcome:
    base = scenario(file)
    x0, y0, x1, y1 = place_box(base, "corridor")
    count = int(round(density * (x1 - x0) * (y1 - y0)))
    s = base.with_values({"crowds.walkers.count": count})
    first, last = (int(round(t * 1 / s.dt)) for t in FD_WINDOW_S)
    rec = _run(ctx, s, duration_s=(last + FD_FRAME_STEP + 1) * s.dt)
    xc = 0.5 * (x0 + x1)
    series = area_series(rec, (xc - FD_AREA_M / 2, y0, xc + FD_AREA_M / 2, y1), frames=(first, last),
                         frame_step=FD_FRAME_STEP, direction=(1.0, 0.0))
    rho, v = float(series["density"].mean()), float(series["speed"].mean())
    variant = f"{density:g} /m2, {y1 - y0:g} m wide"
    expected = float(weidmann_speed(rho))
    banded = FD_BANDED[0] - 1e-9 <= density <= FD_BANDED[1] + 1e-9
    rows = [row("density in the measurement area", rho, unit="/m2", variant=variant, param=density,
                detail=f"{count} walkers placed"),
            row("speed in the measurement area", v, unit="m/s", variant=variant, param=density,
                low=(1 - FD_TOLERANCE) * expected if banded else None,
                high=(1 + FD_TOLERANCE) * expected if banded else None,
                source=f"{WEIDMANN_SOURCE} at the measured density, +-10 %" if banded else
                "not held to a band: a 0.5 m grid holds at most 4 /m2",
                detail=f"Weidmann: {expected:.3f} m/s ({(v / expected - 1) * 100:+.0f} %)" if expected > 0 else ""),
            row("specific flow in the measurement area", rho * v, unit="/(m s)", variant=variant, param=density)]
    return Outcome(rows, {"fd_frames": series.assign(nominal_density=density, width_m=y1 - y0)})


def fd_peak_flow(rows: list[dict]) -> list[dict]:
    """The largest specific flow over the densities run, against Weidmann's maximum (about 1.22
    /(m s) at 1.75 /m2), +-10 %: the capacity of the corridor."""
    flows = [r["measured"] for r in rows if r["quantity"] == "specific flow in the measurement area"
             and FD_BANDED[0] - 1e-9 <= r["param"] <= FD_BANDED[1] + 1e-9]
    rho_w, peak_w = weidmann_peak_flow()
    peak = max(flows) if flows and np.isfinite(flows).all() else np.nan
    return [row("largest specific flow in the corridor", peak, low=(1 - FD_TOLERANCE) * peak_w,
                high=(1 + FD_TOLERANCE) * peak_w, unit="/(m s)",
                source=f"Weidmann 1993: {peak_w:.2f} /(m s) at {rho_w:.2f} /m2, +-10 %",
                detail=f"over the {len(flows)} densities run (0.5-3.5 /m2)")]


def fundamental_diagram_wide(ctx: Context, density: float) -> Outcome:
    return fundamental_diagram(ctx, density, file="fd_wide_corridor.toml")


# --- RiMEA 6 ----------------------------------------------------------------------------------------
def rimea_6(ctx: Context, _value=None) -> Outcome:
    s = scenario("rimea06_corner.toml")
    rec = _run(ctx, s)
    n = rec.agents
    return Outcome([
        row("people round the corner and out", rec.arrived().sum(), low=n, high=n, unit="people",
            source=f"RiMEA test 6: all {n} go round the corner", agg="min",
            detail=f"within {s.duration_s:g} s; last out at {rec.left_frame.max() * rec.dt:g} s"
            if rec.arrived().all() else f"within {s.duration_s:g} s"),
        row("positions on a wall", off_floor(rec), low=0, high=0, unit="positions",
            source="RiMEA test 6: nobody passes through walls", agg="max")])


# --- RiMEA 7 ----------------------------------------------------------------------------------------
def rimea_7(ctx: Context, _value=None) -> Outcome:
    s = scenario("rimea07_demographics.toml")
    rec = _run(ctx, s)
    x0, y0, _, y1 = place_box(s, "start")
    frames = {d: crossing_frames(rec, ((x0 + d, y0 - 1), (x0 + d, y1 + 1))) for d in (5.0, 55.0)}
    walked = pd.concat(frames, axis=1).dropna()
    speed = pd.Series(50.0 / ((walked[55.0] - walked[5.0]) / rec.frame_rate), index=walked.index)
    rows, means = [], []
    for name, (vmin, vmax) in AGE_SPEEDS.items():
        ids = rec.group_of(name)
        measured = speed.reindex(ids)
        mean = float(measured.mean()) if measured.notna().all() else np.nan
        means.append(mean)
        rows.append(row(f"speed, {name.replace('_', ' ')}", mean, unit="m/s", variant=name,
                        low=(1 - RIMEA7_TOLERANCE) * vmin, high=(1 + RIMEA7_TOLERANCE) * vmax,
                        source=f"RiMEA test 7 (Weidmann 1993): "
                               f"{f'{vmin:.2f}' if vmin == vmax else f'{vmin:.2f}-{vmax:.2f}'} m/s, +-5 %",
                        detail=f"assigned mean {rec.free_speed[ids].mean():.3f} m/s; "
                               f"{int(measured.notna().sum())}/{ids.size} measured"))
    ordered = bool(np.all(np.diff(means) < 0))
    rows.append(row("group speeds fall with age", float(ordered), low=1, high=1, unit="(1: yes)",
                    source="RiMEA test 7 (Weidmann 1993)", agg="min"))
    return Outcome(rows)


# --- RiMEA 9 ----------------------------------------------------------------------------------------
def rimea_9(ctx: Context, exits: int) -> Outcome:
    s = scenario("rimea09_large_room.toml", {"map.ascii_file": f"rimea09_room_{exits}_exits.txt"})
    rec = _run(ctx, s)
    done = rec.arrived()
    t = rec.left_frame.max() * rec.dt if done.all() else np.nan
    variant = f"{exits} exits"
    nt = pd.DataFrame({"time_s": np.sort(rec.left_frame[done]) * rec.dt, "left": np.arange(1, done.sum() + 1)})
    return Outcome([row("evacuation time", t, unit="s", variant=variant, param=exits,
                        detail=f"{int(done.sum())}/{rec.agents} out within {s.duration_s:g} s")],
                   {"evacuation": nt.assign(exits=exits)})


def rimea_9_ratio(rows: list[dict]) -> list[dict]:
    times = {r["variant"]: r["measured"] for r in rows if r["quantity"] == "evacuation time"}
    ratio = times.get("2 exits", np.nan) / times.get("4 exits", np.nan)
    return [row("evacuation time, 2 exits / 4 exits", ratio, low=1.6, high=2.4, unit="ratio",
                source="RiMEA test 9: 'about doubles'; 1.6-2.4 as JuPedSim's RiMEA 9 test",
                detail="issue #21 asks 1.6-2.0")]


# --- bottleneck ----------------------------------------------------------------------------------------
def door_cells(width_m: float, cell: float = 0.5) -> int:
    """The door a grid of ``cell`` draws for a width: the nearest whole number of cells, at least one."""
    return max(1, int(width_m / cell + 0.5))


def bottleneck(ctx: Context, width_m: float) -> Outcome:
    cells = door_cells(width_m)
    key = ("bottleneck", cells)
    if key not in ctx.cache:
        s = scenario("bottleneck.toml", {"map.ascii_file": f"bottleneck_door_{cells}_cells.txt"})
        rec = _run(ctx, s)
        _, ry0, _, ry1 = place_box(s, "room")
        _, _, dx1, _ = place_box(s, "door")
        ctx.cache[key] = (line_flow(rec, ((dx1, ry0), (dx1, ry1))), s.map.cell_size * cells, rec.agents)
    flow, drawn, n = ctx.cache[key]
    variant = f"{width_m:g} m door" + ("" if abs(drawn - width_m) < 1e-9 else f" (drawn {drawn:g} m)")
    rows = [row("specific flow through the door", flow["flow"] / drawn, low=DOOR_FLOW_BAND[0], high=DOOR_FLOW_BAND[1],
                unit="/(m s)", variant=variant, param=drawn, source=DOOR_SOURCE,
                detail=f"{flow['crossed']}/{n} through; 10-90 % of them"),
            row("flow through the door", flow["flow"], unit="/s", variant=variant, param=drawn)]
    nt = flow["nt"].assign(width_m=drawn)
    return Outcome(rows, {"nt": nt})


def bottleneck_linearity(rows: list[dict]) -> list[dict]:
    from .measure import linear_fit

    points = {r["param"]: r["measured"] for r in rows if r["quantity"] == "flow through the door"}
    widths = sorted(points)
    if len(widths) < 3 or not np.isfinite(list(points.values())).all():
        return [row("flow linear in door width, R2", np.nan, low=0.95, high=1.0, source="needs 3 widths or more")]
    slope, intercept, r2 = linear_fit(widths, [points[w] for w in widths])
    return [row("flow linear in door width, R2", r2, low=0.95, high=1.0, unit="R2",
                source="Seyfried et al. 2009; Liddle et al. 2011: flow grows linearly with width",
                detail=f"flow = {slope:.2f} /(m s) x width {intercept:+.2f} /s over {', '.join(f'{w:g}' for w in widths)} m")]


# --- counterflow and crossing ---------------------------------------------------------------------
def _through(ctx: Context, s, variant: str) -> tuple[Recording, list[dict], pd.DataFrame]:
    rec = _run(ctx, s, duration_s=FLOW_LIMIT_S)
    done = rec.arrived(FLOW_LIMIT_S)
    stuck = rec.agents - int(done.sum())
    last = rec.left_frame.max() * rec.dt if done.all() else np.nan
    rows = [row(f"not through within {FLOW_LIMIT_S:g} s", stuck, low=0, high=0, unit="people", variant=variant,
                param=rec.agents, source="issue #21: everybody arrives, no deadlock", agg="max"),
            row("last one through", last, unit="s", variant=variant, param=rec.agents)]
    arrivals = pd.concat([pd.DataFrame({"time_s": np.sort(rec.left_frame[g][rec.left_frame[g] >= 0]) * rec.dt,
                                        "group": name}).assign(arrived=lambda d: np.arange(1, len(d) + 1))
                          for name in rec.group_names for g in [rec.group_of(name)]], ignore_index=True)
    return rec, rows, arrivals.assign(variant=variant)


def counterflow(ctx: Context, value: tuple[int, int]) -> Outcome:
    """``value``: (people each way, length of each start block in m: 10 or 20)."""
    per_direction, block_m = value
    s = scenario("counterflow.toml", {"crowds.eastbound.count": per_direction, "crowds.westbound.count": per_direction,
                                      **({} if block_m == 10 else {"map.ascii_file": f"counterflow_{block_m}m_blocks.txt"})})
    x0, y0, x1, y1 = place_box(s, "west_start")
    variant = (f"{per_direction} + {per_direction} from {x1 - x0:g} m blocks "
               f"({per_direction / ((x1 - x0) * (y1 - y0)):g} /m2 each)")
    rec, rows, arrivals = _through(ctx, s, variant)
    direction = np.where(rec.group == rec.group_names.index("eastbound"), 1, -1)
    rng = np.random.default_rng(0)
    phis, nulls, best = [], [], (0, 0)
    t = rec.trajectories
    for frame, g in t.groupby("frame"):
        d = direction[g["id"].to_numpy()]
        phi, counted = lane_order(g["x"].to_numpy(), g["y"].to_numpy(), d, lane_m=rec.cell_size, reach_m=5.0)
        if counted >= 10:
            phis.append(phi)
            nulls.append(lane_order(g["x"].to_numpy(), g["y"].to_numpy(), rng.permutation(d),
                                    lane_m=rec.cell_size, reach_m=5.0)[0])
            best = max(best, (counted, int(frame)))
    phi = float(np.mean(phis)) if phis else np.nan
    rows.append(row("lane order where the streams meet", phi, low=LANE_ORDER_MIN, high=1.0, variant=variant,
                    source=LANE_SOURCE, detail=f"random mixing of the same positions: "
                    f"{np.mean(nulls):.2f}; {len(phis)} frames" if phis else "the streams never met"))
    snap = rec.snapshot(best[1]).assign(group=lambda d: np.asarray(rec.group_names)[rec.group[d["id"]]])
    return Outcome(rows, {"arrivals": arrivals, "snapshot": snap.assign(variant=variant, time_s=best[1] * rec.dt),
                          "walkable": _floor(rec)})


def crossing(ctx: Context, per_direction: int) -> Outcome:
    s = scenario("crossing.toml", {"crowds.eastbound.count": per_direction,
                                   "crowds.northbound.count": per_direction})
    variant = f"{per_direction} + {per_direction}"
    rec, rows, arrivals = _through(ctx, s, variant)
    x0, _, x1, _ = place_box(s, "north_exit")  # the junction: where the two corridors overlap, 4 m around
    _, y0, _, y1 = place_box(s, "east_exit")
    t = rec.trajectories
    near = t[(t["x"] > x0 - 4) & (t["x"] < x1 + 4) & (t["y"] > y0 - 4) & (t["y"] < y1 + 4)]
    counts = near.groupby("frame").size()
    frame = int(counts.idxmax()) if len(counts) else 0  # the busiest moment in the junction
    snap = rec.snapshot(frame).assign(group=lambda d: np.asarray(rec.group_names)[rec.group[d["id"]]])
    return Outcome(rows, {"arrivals": arrivals, "snapshot": snap.assign(variant=variant, time_s=frame * rec.dt),
                          "walkable": _floor(rec)})


def _floor(rec: Recording) -> pd.DataFrame:
    xs, ys = np.nonzero(rec.walkable)
    return pd.DataFrame({"x": (xs + 0.5) * rec.cell_size, "y": (ys + 0.5) * rec.cell_size})
