"""Write sim/verify/data/zhang2011_uo_180.csv: the empirical speed-density band of the validation
report, from the unidirectional corridor experiments of Zhang et al. (2011).

Source: J. Zhang, W. Klingsch, A. Schadschneider, A. Seyfried, "Transitions in pedestrian
fundamental diagrams of straight corridors and T-junctions", J. Stat. Mech. (2011) P06004. Their
trajectories of the 1.8 m wide corridor (runs UO-050-180-180 ... UO-180-180-070) ship with PedPy's
user guide (github.com/PedestrianDynamics/PedPy, notebooks/demo-data/uni-directional/uo-*.txt, MIT),
together with the steady-state frames of each run (notebooks/fundamental_diagram.ipynb) and the
measurement area of the paper (2 m long, the corridor's width). Here, with PedPy: per frame of the
steady state, the classic density and the mean speed in that area (PedPy's method C, the way the
suite measures the models); the frames grouped by the number of people in the area (the classic
density takes the values n / 3.6 m2); per group the 10th, 50th and 90th percentile of the speed.
Only these statistics are kept, not the trajectories.

    python scripts/verify_empirical_band.py PATH/TO/PedPy/notebooks/demo-data/uni-directional
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

STEADY_FRAMES = {  # PedPy's notebooks/fundamental_diagram.ipynb
    "uo-050-180-180": (211, 800), "uo-060-180-180": (243, 771), "uo-070-180-180": (203, 1113),
    "uo-100-180-180": (200, 790), "uo-145-180-180": (300, 1097), "uo-180-180-070": (500, 1399),
    "uo-180-180-095": (400, 1350), "uo-180-180-120": (300, 1099), "uo-180-180-180": (400, 1284),
}
AREA = [(0.0, -2.0), (0.0, 0.0), (1.8, 0.0), (1.8, -2.0)]  # m: 2 m of the 1.8 m wide corridor
FRAME_RATE = 16.0
FRAME_STEP = 8  # 0.5 s either side
MIN_FRAMES = 50
OUT = Path(__file__).resolve().parent.parent / "sim" / "verify" / "data" / "zhang2011_uo_180.csv"


def frames(folder: Path) -> pd.DataFrame:
    import pedpy

    area = pedpy.MeasurementArea(AREA)
    parts = []
    for run, (first, last) in STEADY_FRAMES.items():
        traj = pedpy.load_trajectory(trajectory_file=folder / f"{run}.txt", default_frame_rate=FRAME_RATE,
                                     default_unit=pedpy.TrajectoryUnit.CENTIMETER)
        traj = pedpy.TrajectoryData(data=traj.data[traj.data.frame.between(first, last)], frame_rate=traj.frame_rate)
        speed = pedpy.compute_individual_speed(traj_data=traj, frame_step=FRAME_STEP,
                                               speed_calculation=pedpy.SpeedCalculation.BORDER_SINGLE_SIDED)
        density = pedpy.compute_classic_density(traj_data=traj, measurement_area=area)
        mean = pedpy.compute_mean_speed_per_frame(traj_data=traj, individual_speed=speed, measurement_area=area)
        part = density.merge(mean, on="frame")
        part["run"] = run
        parts.append(part[part["density"] > 0])
    return pd.concat(parts, ignore_index=True)


def band(per_frame: pd.DataFrame) -> pd.DataFrame:
    area_m2 = 1.8 * 2.0
    per_frame = per_frame.assign(people=np.rint(per_frame["density"] * area_m2).astype(int))
    rows = []
    for people, g in per_frame.groupby("people"):
        if len(g) < MIN_FRAMES:
            continue
        q = g["speed"].quantile([0.1, 0.5, 0.9]).to_numpy()
        rows.append({"density": round(people / area_m2, 4), "frames": len(g), "runs": g["run"].nunique(),
                     "speed_p10": round(q[0], 4), "speed_p50": round(q[1], 4), "speed_p90": round(q[2], 4)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="PedPy's notebooks/demo-data/uni-directional")
    args = parser.parse_args()
    table = band(frames(args.folder))
    header = ("# Zhang, Klingsch, Schadschneider, Seyfried (2011), J. Stat. Mech. P06004: unidirectional flow in a\n"
              "# 1.8 m corridor, runs UO-*-180-* as shipped with PedPy's user guide; per number of people in the\n"
              "# 2 m x 1.8 m measurement area, the 10/50/90th percentile of the frame mean speed (m/s) over the\n"
              "# steady-state frames. Made by scripts/verify_empirical_band.py.\n")
    OUT.write_text(header + table.to_csv(index=False), encoding="utf-8")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
