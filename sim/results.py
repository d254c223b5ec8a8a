"""Run folders: everything a run produced, written so that a folder exists only when complete.

A run folder holds ``summary.json``, ``timeseries.parquet``, ``events.csv``, ``scenario.toml``
(as resolved), ``manifest.json`` (versions, seed, engine, wall time), ``schema.json`` (type, unit
and meaning of every column and summary key written; ``sim.schema``) and ``figures/*.png``.

Everything is written into a temporary sibling folder ``.<name>.tmp-<pid>@<host>-<random>`` first,
every file is fsynced, ``summary.json`` is written last, and the folder is renamed into place.
So a crash, Ctrl-C or kill -9 at any moment leaves either nothing, the previous complete run,
or a temporary folder that readers ignore and the next write into the same parent removes.
Only a run folder (:func:`is_run_folder`) or an empty folder is ever replaced: a folder holding
anything else is the user's. Replacing an existing run swaps the two folders atomically
(``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere: old folder renamed away, new one renamed
in, old one deleted).

A folder is complete iff its ``summary.json`` exists and says ``"status": "complete"``. What an
interrupted run computed goes to ``<name>.partial`` with ``"status": "interrupted"``.

Timeseries contract: ``time_s`` (seconds since scenario start), ``clock`` ("HH:MM:SS"), further
columns as the model kind's data dictionary describes them.
Events contract: ``time_s, clock, kind, label, detail`` first, further columns after them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Callable, Iterable, NamedTuple

import numpy as np
import pandas as pd

from .atomic import clean_stale_temps, fsync_tree, is_temp_name, new_temp_folder, publish_folder
from .schema import SCHEMA_FILE, column_types

PARTIAL_SUFFIX = ".partial"
DATA_FILES = ("timeseries.parquet", "events.csv", "scenario.toml", "manifest.json")
EVENT_COLUMNS = ("time_s", "clock", "kind", "label", "detail")
_EVENT_TEXT = EVENT_COLUMNS[1:]
_MISSING = ("", "nan", "NaN", "NA", "<NA>", "null")

Figures = dict[str, Callable[[Path], object]]


class RunOutcome(NamedTuple):
    """What a run wrote: its folder, and the summary written there (so a batch need not read it back)."""

    path: Path
    summary: dict


class IncompleteRunError(FileNotFoundError):
    """``path`` is not a complete run folder (missing, being written, interrupted, failed)."""


class OutputExistsError(FileExistsError):
    """The output folder exists and may not be replaced (a user's folder, or an earlier run without
    ``force``); ``str()`` is the one line the CLI prints."""


RUN_STATUSES = ("complete", "interrupted", "failed")


def is_run_folder(path) -> bool:
    """True iff ``path`` is a folder this package wrote as a run: its ``summary.json`` is an object
    whose ``status`` is one of :data:`RUN_STATUSES`. Only such folders (and empty ones) are ever
    replaced: a folder holding anything else is the user's."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("status") in RUN_STATUSES


def _replaceable(path: Path) -> bool:
    """Only a run folder or an empty folder is ever replaced."""
    return is_run_folder(path) or _is_empty_folder(path)


def _is_empty_folder(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def check_out_dir(out_dir, *, force: bool = False) -> Path:
    """Raise :class:`OutputExistsError` unless a run may be written to ``out_dir``: it does not
    exist, is an empty folder, or (with ``force``) holds an earlier run. Called before a run starts,
    so a refusal costs nothing; :func:`write_run` checks again when it publishes."""
    out = Path(out_dir)
    if str(out_dir) == "" or out.name in ("", ".", ".."):
        raise OutputExistsError(f"{str(out_dir)!r} is not a folder name for a run; give a new folder, "
                                "e.g. --out results/runs/mine")
    if not os.path.lexists(out) or _is_empty_folder(out):
        return out
    if out.is_symlink() or not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; choose another --out")
    if not is_run_folder(out):
        raise OutputExistsError(f"{out} exists and holds files that are not a run of protest-sim; it is never "
                                "replaced: choose another --out")
    if not force:
        raise OutputExistsError(f"{out} holds an earlier run; pass --force to replace it, or choose another --out")
    return out


@dataclass
class RunResult:
    path: Path
    summary: dict
    timeseries: pd.DataFrame
    events: pd.DataFrame
    manifest: dict
    scenario_toml: str = ""
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.summary.get("status") == "complete"


# --- JSON ----------------------------------------------------------------------------------------
def to_jsonable(value):
    """Plain JSON types: numpy scalars and arrays, Paths, dates, sets, dataclasses converted;
    NaN and infinities become ``None`` (null); anything else unknown becomes ``str(value)``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Series, pd.Index)):
        return to_jsonable(value.tolist())
    return str(value)


def write_json(path, data) -> None:
    """``data`` as indented JSON (see :func:`to_jsonable`), flushed to disk."""
    text = json.dumps(to_jsonable(data), indent=2, allow_nan=False, ensure_ascii=False)
    with open(path, "wb") as fh:  # inside a temporary folder: published whole, with the folder
        fh.write((text + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


# --- writing ------------------------------------------------------------------------------------
def write_run(out_dir, *, summary: dict, timeseries: pd.DataFrame, events: pd.DataFrame | list[dict],
              scenario_toml: str, manifest: dict, figures: Figures | None = None, schema: dict | None = None,
              overwrite: bool = True, attachments: dict[str, Path] | None = None) -> Path:
    """Write a complete run folder at ``out_dir`` atomically; returns its path.

    ``attachments``: files written while the run went (``trajectories.parquet``), {name: where it
    is now} on the same file system; moved in, not copied, and moved back if the folder cannot be
    published, so a second attempt (the ``.partial`` folder) still has them.

    ``summary["status"]`` defaults to ``"complete"``. ``schema`` (``sim.schema.run_schema``) goes to
    ``schema.json``. ``figures`` maps a name to a callable
    that draws ``figures/<name>.png`` at the path it is given. Any exception (a figure failing,
    Ctrl-C) removes the temporary folder and propagates: ``out_dir`` is then untouched. With
    ``overwrite=False`` an existing ``out_dir`` raises FileExistsError.
    """
    out = Path(out_dir)
    if not overwrite and os.path.lexists(out):
        raise FileExistsError(f"{out} exists (pass overwrite=True to replace it)")
    if is_temp_name(out.name):
        raise ValueError(f"{out.name!r} looks like a temporary folder name")
    timeseries = _check_timeseries(timeseries)
    events = events_frame(events)
    summary = {**summary}
    summary.setdefault("status", "complete")
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out.parent)
    tmp = new_temp_folder(out)
    try:
        _fill(tmp, summary=summary, timeseries=timeseries, events=events, scenario_toml=scenario_toml,
              manifest=manifest, figures=figures, schema=schema, attachments=attachments or {})
        publish_folder(tmp, out, replace=overwrite, replaceable=_replaceable)
    except BaseException:
        for name, origin in (attachments or {}).items():
            if (tmp / name).is_file() and not origin.exists():
                os.replace(tmp / name, origin)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def partial_path(out_dir) -> Path:
    """Where :func:`write_partial` puts an interrupted run meant for ``out_dir``: ``<out>.partial``,
    or ``<out>.partial-2``, ``-3``... when that name holds something other than a run."""
    out = Path(out_dir)
    for k in range(1, 1000):
        candidate = out.with_name(out.name + PARTIAL_SUFFIX + ("" if k == 1 else f"-{k}"))
        if not os.path.lexists(candidate) or is_run_folder(candidate) or _is_empty_folder(candidate):
            return candidate
    raise OutputExistsError(f"no free name for the interrupted run beside {out}")


def write_partial(out_dir, *, summary: dict, timeseries: pd.DataFrame, events: pd.DataFrame | list[dict],
                  scenario_toml: str, manifest: dict, figures: Figures | None = None,
                  schema: dict | None = None, attachments: dict[str, Path] | None = None) -> Path:
    """What an interrupted run computed, in ``<out_dir>.partial`` with ``status: interrupted``.

    Same files as :func:`write_run` (written the same atomic way), never complete-looking. If a
    figure fails, the folder is written without figures (the error goes to
    ``summary["figures_error"]``): the data matter more than the pictures.
    """
    target = partial_path(out_dir)
    data = dict(timeseries=timeseries, events=events, scenario_toml=scenario_toml, manifest=manifest, schema=schema,
                attachments=attachments)
    summary = {**summary, "status": "interrupted"}
    try:
        return write_run(target, summary=summary, figures=figures, **data)
    except Exception as err:  # noqa: BLE001 - Ctrl-C still propagates
        if not figures:
            raise
        summary["figures_error"] = f"{type(err).__name__}: {err}"
        return write_run(target, summary=summary, figures=None, **data)


def write_outcome(out_dir, *, partial: bool, summary: dict, **files) -> RunOutcome:
    """:func:`write_run`, or :func:`write_partial` for an interrupted run; returns the folder and summary."""
    if partial:
        path, summary = write_partial(out_dir, summary=summary, **files), {**summary, "status": "interrupted"}
    else:
        path, summary = write_run(out_dir, summary=summary, **files), {"status": "complete", **summary}
    return RunOutcome(path, to_jsonable(summary))  # as summary.json holds it


def default_run_dir(scenario, seed: int) -> Path:
    """``results/runs/<scenario file stem>-seed<seed>``: where a run goes unless told otherwise."""
    stem = Path(scenario.source).stem if scenario.source else scenario.model
    return Path("results") / "runs" / f"{stem}-seed{seed}"


def events_frame(events) -> pd.DataFrame:
    """Events (a DataFrame or a list of dicts) with the contract columns first, in order."""
    df = events.copy() if isinstance(events, pd.DataFrame) else pd.DataFrame(list(events or []))
    for col in EVENT_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan if col == "time_s" else ""
    extra = [c for c in df.columns if c not in EVENT_COLUMNS]
    return df[list(EVENT_COLUMNS) + extra].reset_index(drop=True)


def _check_timeseries(ts) -> pd.DataFrame:
    if not isinstance(ts, pd.DataFrame):
        raise TypeError(f"timeseries must be a pandas DataFrame, got {type(ts).__name__}")
    missing = [c for c in ("time_s", "clock") if c not in ts.columns]
    if missing:
        raise ValueError(f"timeseries lacks the columns {missing} (contract: time_s, clock, state_*, place_*)")
    return ts.reset_index(drop=True)


def _fill(folder: Path, *, summary, timeseries, events, scenario_toml, manifest, figures, schema,
          attachments: dict[str, Path]) -> None:
    timeseries.to_parquet(folder / "timeseries.parquet", index=False)
    events.to_csv(folder / "events.csv", index=False)
    (folder / "scenario.toml").write_text(scenario_toml, encoding="utf-8")
    write_json(folder / "manifest.json", manifest)
    if schema is not None:
        write_json(folder / SCHEMA_FILE, schema)
    if figures is not None:
        (folder / "figures").mkdir()
        for name, draw in figures.items():
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"bad figure name {name!r}")
            draw(folder / "figures" / (name if name.endswith(".png") else f"{name}.png"))
    for name, origin in attachments.items():  # after the figures, the likeliest failure
        if not name or "/" in name or name in DATA_FILES or name in ("summary.json", SCHEMA_FILE):
            raise ValueError(f"bad attachment name {name!r}")
        os.replace(origin, folder / name)
    fsync_tree(folder)
    write_json(folder / "summary.json", summary)  # last: its presence marks a complete folder


# --- reading ------------------------------------------------------------------------------------
def _problem(path: Path) -> tuple[str | None, dict | None]:
    """Why ``path`` is not a complete run folder (None if it is), and its summary if readable."""
    if not path.is_dir():
        return "no such folder", None
    if is_temp_name(path.name):
        return "a temporary folder of a write in progress or interrupted", None
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no summary.json (its write never finished)", None
    except (OSError, ValueError) as err:
        return f"summary.json unreadable ({err})", None
    if not isinstance(summary, dict):
        return "summary.json is not an object", None
    missing = [f for f in DATA_FILES if not (path / f).is_file()]
    if missing:
        return f"missing {', '.join(missing)}", summary
    status = summary.get("status")
    if status != "complete":
        hint = ""
        if status == "interrupted":
            hint = " (an interrupted run: read_run(path, allow_incomplete=True) reads it)"
        return f"status is {status!r}{hint}", summary
    return None, summary


def is_complete_run(path) -> bool:
    """True iff ``path`` is a run folder whose write finished and whose run ran to the end."""
    return _problem(Path(path))[0] is None


def read_run(path, *, allow_incomplete: bool = False) -> RunResult:
    """Read a run folder. Raises IncompleteRunError unless it is complete; with
    ``allow_incomplete`` a folder with all its files but another status (``.partial``) is read too."""
    path = Path(path)
    problem, summary = _problem(path)
    if problem is not None and not (allow_incomplete and summary is not None and problem.startswith("status")):
        raise IncompleteRunError(f"{path} is not a complete run folder: {problem}")
    figures_dir = path / "figures"
    figures = {p.stem: p for p in sorted(figures_dir.glob("*.png"))} if figures_dir.is_dir() else {}
    try:
        schema = json.loads((path / SCHEMA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        schema = {}
    return RunResult(path=path, summary=summary, timeseries=pd.read_parquet(path / "timeseries.parquet"),
                     events=read_events(path / "events.csv", types=column_types(schema, "events.csv")),
                     manifest=json.loads((path / "manifest.json").read_text(encoding="utf-8")),
                     scenario_toml=(path / "scenario.toml").read_text(encoding="utf-8"), figures=figures)


def read_events(csv_path, types: dict[str, str] | None = None) -> pd.DataFrame:
    """events.csv with text columns as text (an empty detail stays "", not NaN), time_s as float.

    A further column has the type ``types`` gives it (the run's ``schema.json``: "integer" as pandas'
    nullable ``Int64``, "number" as float, else text); without one it is numbers when every non-empty
    cell is one (whole numbers as ``Int64``), else text. Empty cells of numbers are missing values."""
    types = types or {}
    try:
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "time_s" else str) for c in EVENT_COLUMNS})
    for col in df.columns:
        if col in _EVENT_TEXT:
            continue
        kind = types.get(col)
        if kind not in (None, "", "number", "integer"):
            continue
        filled = df[col][~df[col].isin(_MISSING)]
        if col == "time_s" or kind or (len(filled) and pd.to_numeric(filled, errors="coerce").notna().all()):
            values = pd.to_numeric(df[col].mask(df[col].isin(_MISSING)), errors="coerce").astype(float)
            integral = bool((values.dropna() % 1 == 0).all())
            whole = integral and (kind == "integer" or (not kind and col != "time_s"))
            df[col] = values.astype("Int64") if whole else values
    return df


def iter_runs(parent, *, complete_only: bool = True) -> Iterable[Path]:
    """Run folders directly under ``parent`` (temporary folders skipped), sorted by name."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    found = [p for p in sorted(parent.iterdir()) if p.is_dir() and not is_temp_name(p.name)]
    return [p for p in found if is_complete_run(p)] if complete_only else found
