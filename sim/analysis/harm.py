"""Harm maps of a batch: per map cell, the chance that a person standing there is injured there, by
cause, with bootstrap 95% intervals over the replicates of each point of the sweep.

Per run the input is its harm cells (``sim.protest.harm_cells``): ``harm_cells.parquet`` if the
scenario asked for it (``[output] harm_cells = true``), else the same counts computed from the
run's ``trajectories.parquet``. For a point with runs r and a cell, the estimate is the pooled
share ``p = sum_r injured_r / sum_r visits_r``; its interval resamples the runs with replacement
(``BOOTSTRAP`` times) and takes the 2.5 and 97.5 percentiles of ``p``. Only these aggregates
are written (``BATCH_DIR/harm/``): nothing about any one person leaves a run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ScenarioError
from ..protest.harm_cells import FILE as HARM_CELLS, HarmCells
from ..traj.file import CAUSES, FILE as TRAJECTORIES, KINDS, STATES, read_meta

BOOTSTRAP = 1000
CELLS_PER_CHUNK = 2000  # cells bootstrapped at once: BOOTSTRAP x this many floats in memory
ANY = "any"  # every cause together


def run_cells(run_dir: Path, cell_m: float) -> tuple[pd.DataFrame, dict] | None:
    """A run's harm cells and their metadata; None if it has neither file."""
    if (run_dir / HARM_CELLS).is_file():
        table = pq.read_table(run_dir / HARM_CELLS)
        meta = json.loads((table.schema.metadata or {}).get(b"protest_sim", b"{}"))
        return table.to_pandas(), meta
    if (run_dir / TRAJECTORIES).is_file():
        return cells_from_trajectories(run_dir / TRAJECTORIES, cell_m)
    return None


def _codes(column, names) -> np.ndarray:
    """A dictionary column's values as codes into ``names`` (-1 for nulls)."""
    col = column.combine_chunks()
    lookup = np.array([names.index(v) for v in col.dictionary.to_pylist()] + [-1], dtype=np.int64)
    indices = pc.fill_null(col.indices, 0).to_numpy().astype(np.int64)
    valid = np.asarray(col.is_valid())
    return lookup[np.where(valid, indices, len(lookup) - 1)]


def cells_from_trajectories(path: Path, cell_m: float) -> tuple[pd.DataFrame, dict]:
    """The harm cells of a run from its trajectories: the same counts a running model keeps."""
    meta = read_meta(path)
    cells = HarmCells(tuple(meta["size_m"]), cell_m, every_s=float(meta["every_s"]))
    parquet = pq.ParquetFile(path)
    for g in range(parquet.num_row_groups):
        t = parquet.read_row_group(g, columns=["frame", "id", "kind", "x_m", "y_m", "state", "cause"])
        frame = t["frame"].to_numpy()
        ids, x, y = t["id"].to_numpy(), t["x_m"].to_numpy(), t["y_m"].to_numpy()
        kind, state, cause = _codes(t["kind"], KINDS), _codes(t["state"], STATES), _codes(t["cause"], CAUSES)
        for sl in np.split(np.arange(frame.size), np.flatnonzero(np.diff(frame)) + 1):
            cells.add(ids[sl], kind[sl], x[sl], y[sl], state[sl], cause[sl])
    return cells.frame(), cells.meta()


def _label(row: pd.Series, parameters: list[str]) -> str:
    return ", ".join(f"{p}={row[p]}" for p in parameters) or "the scenario"


def collect(batch_dir: Path, cell_m: float) -> tuple[dict, list[str], float]:
    """Per point: its label and each complete run's cells; the sweep's parameters; the cell size."""
    table_path = batch_dir / "runs.parquet"
    if not table_path.is_file():
        raise ScenarioError(f"{batch_dir} is not a batch folder (no runs.parquet): give a folder protest-sim "
                            "batch wrote")
    runs = pd.read_parquet(table_path)
    fixed = {"run_id", "point", "replicate", "seed", "status", "error", "wall_seconds", "run_dir"}
    info = json.loads((batch_dir / "batch.json").read_text(encoding="utf-8")) if (batch_dir / "batch.json").is_file() \
        else {}
    parameters = [c for c in info.get("parameters", []) if c in runs.columns] or \
        [c for c in runs.columns if c not in fixed and "." in c and c not in info.get("metrics", [])]
    varied = [p for p in parameters if runs[p].astype(str).nunique() > 1]
    parameters = varied or parameters
    points: dict[int, dict] = {}
    missing, sizes = [], set()
    for _, row in runs[runs["status"] == "complete"].iterrows():
        got = run_cells(batch_dir / row["run_dir"], cell_m)
        if got is None:
            missing.append(row["run_id"])
            continue
        cells, meta = got
        sizes.add(float(meta.get("cell_m", cell_m)))
        point = points.setdefault(int(row["point"]), {"label": _label(row, parameters), "runs": []})
        point["runs"].append(cells)
    if missing:
        raise ScenarioError(f"{len(missing)} complete run(s) of {batch_dir} (e.g. {missing[0]}) have neither "
                            f"{HARM_CELLS} nor {TRAJECTORIES}: add [output] harm_cells = true to the sweep's "
                            "scenario and run the batch again")
    if not points:
        raise ScenarioError(f"{batch_dir} has no complete run yet")
    if len(sizes) > 1:
        raise ScenarioError(f"the runs of {batch_dir} have harm cells of different sizes ({sorted(sizes)} m)")
    return points, parameters, sizes.pop()


def point_estimates(runs: list[pd.DataFrame], *, boot: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """One row per side, cell and cause (and ``any``) anyone visited: visits, injured, p, p_lo, p_hi."""
    key = ["side", "ix", "iy"]
    index = pd.concat([r[key + ["x_m", "y_m"]] for r in runs]).drop_duplicates(key).reset_index(drop=True)
    index["side"] = index["side"].astype(str)
    n = len(index)
    visits = np.zeros((len(runs), n))
    injured = np.zeros((len(runs), len(CAUSES) + 1, n))
    where = {k: i for i, k in enumerate(zip(index["side"], index["ix"], index["iy"]))}
    for r, cells in enumerate(runs):
        pos = np.array([where[k] for k in zip(cells["side"].astype(str), cells["ix"], cells["iy"])], dtype=np.int64)
        visits[r, pos] = cells["visits"].to_numpy()
        for k, cause in enumerate(CAUSES):
            injured[r, k, pos] = cells[f"injured_{cause}"].to_numpy()
    injured[:, -1] = injured[:, :-1].sum(axis=1)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(runs), np.full(len(runs), 1.0 / len(runs)), size=boot).astype(float)
    out = []
    for k, cause in enumerate((*CAUSES, ANY)):
        total_v, total_i = visits.sum(axis=0), injured[:, k].sum(axis=0)
        lo, hi = np.zeros(n), np.zeros(n)
        for start in range(0, n, CELLS_PER_CHUNK):
            sl = slice(start, start + CELLS_PER_CHUNK)
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = (weights @ injured[:, k, sl]) / (weights @ visits[:, sl])
            lo[sl], hi[sl] = np.nanpercentile(shares, 2.5, axis=0), np.nanpercentile(shares, 97.5, axis=0)
        part = index.copy()
        part["cause"], part["visits"], part["injured"] = cause, total_v, total_i
        part["p"], part["p_lo"], part["p_hi"] = total_i / np.maximum(total_v, 1), lo, hi
        out.append(part[total_v > 0])
    frame = pd.concat(out, ignore_index=True)
    frame["replicates"] = len(runs)
    return frame


def harm_tables(batch_dir, *, cell_m: float = 5.0, boot: int = BOOTSTRAP) -> tuple[pd.DataFrame, dict, float]:
    """Every point's estimates in one table (column ``point``, ``label``), the points, the cell size."""
    points, _, cell_m = collect(Path(batch_dir), cell_m)
    frames = []
    for point, data in sorted(points.items()):
        est = point_estimates(data["runs"], boot=boot, seed=point)
        est.insert(0, "point", point)
        est.insert(1, "label", data["label"])
        frames.append(est)
    table = pd.concat(frames, ignore_index=True)
    for col in ("side", "cause", "label"):
        table[col] = table[col].astype("category")
    return table, {p: {"label": d["label"], "replicates": len(d["runs"])} for p, d in points.items()}, cell_m

