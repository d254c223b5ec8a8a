"""``protest-sim verify``: every case for every walking model into a fresh folder.

The folder holds ``report.md`` (the verdict and one table: case, measured, band, pass/fail),
``results.parquet`` (every measured quantity of every seed, with its band) and ``figures/*.png``.
It is written under a temporary name beside it and renamed into place when complete; a folder that
exists and holds anything is refused before anything runs.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pandas as pd

from ..atomic import new_temp_folder, publish_folder, write_text
from ..provenance import git_commit
from ..results import OutputExistsError
from .cases import CASES, Case, get, not_applicable_rows, plan, run_value, summarise
from .experiments import Context
from .models import WALKING_MODELS, WalkingModel
from .plots import draw_all
from .report import aggregate, all_pass, markdown


def default_out() -> Path:
    return Path("results") / "verify" / dt.datetime.now().strftime("verify-%Y%m%d-%H%M%S")


def check_out(out) -> Path:
    """``out`` if the suite may write there (it does not exist, or is an empty folder); else
    :class:`~sim.results.OutputExistsError` with the one line to print."""
    out = Path(out)
    if str(out) == "" or out.name in ("", ".", ".."):
        raise OutputExistsError(f"{str(out)!r} is not a folder name; give a new folder, e.g. --out results/verify/mine")
    if os.path.lexists(out):
        if out.is_symlink() or not out.is_dir():
            raise OutputExistsError(f"{out} exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            raise OutputExistsError(f"{out} is not empty; the suite writes only into a new or empty folder: "
                                    "choose another --out")
    return out


def run_suite(out=None, *, quick: bool = False, cases: list[str] | None = None, seeds: int = 1,
              models: tuple[WalkingModel, ...] = WALKING_MODELS, engine: str = "numba",
              progress: bool = True) -> tuple[Path, pd.DataFrame]:
    """Run the suite into ``out`` (default ``results/verify/verify-<time>``); returns the folder and
    the aggregated table (``report.all_pass(table)`` says whether every band was met)."""
    out = check_out(default_out() if out is None else out)
    selected: list[Case] = [get(name) for name in cases] if cases else list(CASES)
    seed_list = list(range(1, seeds + 1))
    tasks = sum(len(plan(c, quick=quick)) * len(seed_list) for c in selected if not c.not_applicable) * len(models)
    started = time.perf_counter()
    rows: list[dict] = []
    series: dict = {}
    from tqdm import tqdm

    with tqdm(total=tasks, desc="verify", unit="run", disable=not progress, leave=False) as bar:
        for model in models:
            for case in selected:
                if case.not_applicable:
                    rows.extend(not_applicable_rows(case, model))
                    continue
                for seed in seed_list:
                    ctx = Context(model=model, seed=seed, engine=engine)
                    for value in plan(case, quick=quick):
                        bar.set_postfix_str(f"{model.name} {case.name} {'' if value is None else value}", refresh=False)
                        outcome = run_value(case, value, ctx)
                        rows.extend(outcome.rows)
                        series[(model.name, case.name, seed, value)] = outcome.series
                        bar.update()
                    rows.extend(summarise(case, rows, model, seed))
    per_seed = pd.DataFrame(rows)
    table = aggregate(per_seed)
    wall = time.perf_counter() - started
    _write(out, per_seed, table, series, selected=selected, facts={
        "walking models": ", ".join(f"{m.name} ({m.description})" for m in models),
        "run": f"{'quick' if quick else 'full'}, {seeds} seed{'s' if seeds > 1 else ''} ({', '.join(map(str, seed_list))}), "
               f"engine {engine}, {wall:.0f} s",
        "commit": git_commit() or "unknown",
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    })
    return out, table


def _write(out: Path, per_seed: pd.DataFrame, table: pd.DataFrame, series: dict, *, selected: list[Case],
           facts: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_folder(out)
    try:
        per_seed.to_parquet(tmp / "results.parquet", index=False)
        (tmp / "figures").mkdir()
        figures = draw_all(per_seed, series, tmp / "figures")
        text = markdown(table, title="Crowd-physics validation (issue #21)", facts=facts, figures=figures,
                        cases_text=[(c.name, c.title, c.not_applicable and f"not applicable: {c.not_applicable}"
                                     or c.band) for c in selected])
        write_text(tmp / "report.md", text)
        publish_folder(tmp, out, replace=True, replaceable=lambda p: p.is_dir() and not any(p.iterdir()))
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["all_pass", "check_out", "default_out", "run_suite"]
