"""Run folders: everything a run produced, written so that a folder exists only when complete.

A run folder holds ``summary.json``, ``timeseries.parquet``, ``events.csv``, ``scenario.toml``
(as resolved), ``manifest.json`` (versions, seed, engine, wall time) and ``figures/*.png``.

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

Timeseries contract: ``time_s`` (seconds since scenario start), ``clock`` ("HH:MM:SS"), integer
counts ``state_<name>`` and ``place_<name>``, optional further numeric columns.
Events contract: ``time_s, clock, kind, label, detail``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime as dt
import enum
import errno
import hashlib
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath
from typing import Callable, Iterable

import numpy as np
import pandas as pd

TMP_MARK = ".tmp-"
PARTIAL_SUFFIX = ".partial"
DATA_FILES = ("timeseries.parquet", "events.csv", "scenario.toml", "manifest.json")
EVENT_COLUMNS = ("time_s", "clock", "kind", "label", "detail")
_EVENT_TEXT = EVENT_COLUMNS[1:]
# who writes a temporary folder is in its name, ``.<name>.tmp-<pid>@<host>-<random>`` (host: a hash of
# the host name), so it is known from the moment the folder exists, even if its writer is killed then
_TMP_NAME = re.compile(r"^\..+\.tmp-(?:[a-z]+-)?(\d+)(?:@([0-9a-f]{8}))?-")
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_FOREIGN_GRACE_S = 60.0  # a temporary folder no local live process owns, written elsewhere: left this long
_ANCIENT_S = 86400.0  # no write takes a day: older temporary folders go whoever wrote them

Figures = dict[str, Callable[[Path], object]]


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
    _write_bytes(Path(path), (text + "\n").encode("utf-8"))


# --- writing ------------------------------------------------------------------------------------
def write_run(out_dir, *, summary: dict, timeseries: pd.DataFrame, events: pd.DataFrame | list[dict],
              scenario_toml: str, manifest: dict, figures: Figures | None = None,
              overwrite: bool = True) -> Path:
    """Write a complete run folder at ``out_dir`` atomically; returns its path.

    ``summary["status"]`` defaults to ``"complete"``. ``figures`` maps a name to a callable
    that draws ``figures/<name>.png`` at the path it is given. Any exception (a figure failing,
    Ctrl-C) removes the temporary folder and propagates: ``out_dir`` is then untouched. With
    ``overwrite=False`` an existing ``out_dir`` raises FileExistsError.
    """
    out = Path(out_dir)
    if not overwrite and os.path.lexists(out):
        raise FileExistsError(f"{out} exists (pass overwrite=True to replace it)")
    if out.name.startswith(".") and TMP_MARK in out.name:
        raise ValueError(f"{out.name!r} looks like a temporary folder name")
    timeseries = _check_timeseries(timeseries)
    events = events_frame(events)
    summary = {**summary}
    summary.setdefault("status", "complete")
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out.parent)
    tmp = _new_temp(out)
    try:
        _fill(tmp, summary=summary, timeseries=timeseries, events=events, scenario_toml=scenario_toml,
              manifest=manifest, figures=figures)
        _fsync_dir(tmp)
        _publish(tmp, out, overwrite=overwrite)
        _fsync_dir(out.parent)
    except BaseException:
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
                  scenario_toml: str, manifest: dict, figures: Figures | None = None) -> Path:
    """What an interrupted run computed, in ``<out_dir>.partial`` with ``status: interrupted``.

    Same files as :func:`write_run` (written the same atomic way), never complete-looking. If a
    figure fails, the folder is written without figures (the error goes to
    ``summary["figures_error"]``): the data matter more than the pictures.
    """
    target = partial_path(out_dir)
    data = dict(timeseries=timeseries, events=events, scenario_toml=scenario_toml, manifest=manifest)
    summary = {**summary, "status": "interrupted"}
    try:
        return write_run(target, summary=summary, figures=figures, **data)
    except Exception as err:  # noqa: BLE001 - Ctrl-C still propagates
        if not figures:
            raise
        summary["figures_error"] = f"{type(err).__name__}: {err}"
        return write_run(target, summary=summary, figures=None, **data)


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


def _fill(folder: Path, *, summary, timeseries, events, scenario_toml, manifest, figures) -> None:
    timeseries.to_parquet(folder / "timeseries.parquet", index=False)
    events.to_csv(folder / "events.csv", index=False)
    _write_bytes(folder / "scenario.toml", scenario_toml.encode("utf-8"), sync=False)
    write_json(folder / "manifest.json", manifest)
    if figures is not None:
        (folder / "figures").mkdir()
        for name, draw in figures.items():
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"bad figure name {name!r}")
            draw(folder / "figures" / (name if name.endswith(".png") else f"{name}.png"))
    _fsync_tree(folder)
    write_json(folder / "summary.json", summary)  # last: its presence marks a complete folder


def temp_name(name: str, kind: str = "") -> str:
    """The name of a temporary sibling of ``name`` that says who writes it (see ``_TMP_NAME``)."""
    return f".{name}{TMP_MARK}{kind + '-' if kind else ''}{os.getpid()}@{HOST_TAG}-{uuid.uuid4().hex[:10]}"


def _new_temp(out: Path) -> Path:
    tmp = out.parent / temp_name(out.name)
    tmp.mkdir()
    return tmp


def _publish(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the finished temporary folder to ``out``; never a moment without a complete ``out``
    when replacing one (atomic exchange where the OS has it)."""
    if not overwrite:
        if _rename2(tmp, out, _RENAME_NOREPLACE):
            return
        if os.path.lexists(out):
            raise FileExistsError(f"{out} exists (pass overwrite=True to replace it)")
        os.rename(tmp, out)
        return
    if not os.path.lexists(out):
        try:
            os.rename(tmp, out)
            return
        except OSError as err:  # someone created it meanwhile: replace it below
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if out.is_symlink() or not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder; not replacing it")
    if not (is_run_folder(out) or _is_empty_folder(out)):
        raise OutputExistsError(f"{out} holds files that are not a run of protest-sim; not replacing it")
    if _rename2(tmp, out, _RENAME_EXCHANGE):
        shutil.rmtree(tmp, ignore_errors=True)  # now holds the previous version
        return
    old = tmp.with_name(tmp.name + "-old")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        if not os.path.lexists(out):
            os.rename(old, out)  # put the previous version back
        raise
    shutil.rmtree(old, ignore_errors=True)


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_renameat2 = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
        _renameat2 = _libc.renameat2
        _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        _renameat2.restype = ctypes.c_int
    except (OSError, AttributeError):
        _renameat2 = None


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """Linux ``renameat2``: True if done; False if unsupported here (caller falls back)."""
    if _renameat2 is None:
        return False
    if _renameat2(-100, os.fsencode(src), -100, os.fsencode(dst), flags) == 0:  # -100: AT_FDCWD
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    if err == errno.EEXIST and flags == _RENAME_NOREPLACE:
        raise FileExistsError(errno.EEXIST, f"{dst} exists (pass overwrite=True to replace it)", str(dst))
    raise OSError(err, os.strerror(err), str(dst))


def clean_stale_temps(parent) -> list[Path]:
    """Remove temporary folders in ``parent`` left by writers that died; returns what went.

    A temporary folder is stale when the process named in it is not alive on this host (and it
    was written on this host, or is over a minute old), or when it is over a day old. Folders
    of live writers, here or on other hosts sharing the file system, are left alone.
    """
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        if p.name.startswith(".") and TMP_MARK in p.name and p.is_dir() and not p.is_symlink() and _is_stale(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _is_stale(p: Path) -> bool:
    try:
        age = time.time() - p.stat().st_mtime
    except OSError:
        return False
    if age > _ANCIENT_S:
        return True
    m = _TMP_NAME.match(p.name)
    if m is None:
        return age > _FOREIGN_GRACE_S
    if m.group(2) not in (None, HOST_TAG):  # written on another host sharing the file system
        return age > _FOREIGN_GRACE_S
    return not _pid_alive(int(m.group(1))) and (m.group(2) == HOST_TAG or age > _FOREIGN_GRACE_S)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of ours may be writing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """True for a process that has died but not been reaped: in a container whose first process
    reaps no orphans, a killed batch's workers stay zombies, and ``kill(pid, 0)`` still finds them."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _write_bytes(path: Path, data: bytes, *, sync: bool = True) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


# --- reading ------------------------------------------------------------------------------------
def _problem(path: Path) -> tuple[str | None, dict | None]:
    """Why ``path`` is not a complete run folder (None if it is), and its summary if readable."""
    if not path.is_dir():
        return "no such folder", None
    if path.name.startswith(".") and TMP_MARK in path.name:
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
    return RunResult(path=path, summary=summary, timeseries=pd.read_parquet(path / "timeseries.parquet"),
                     events=read_events(path / "events.csv"),
                     manifest=json.loads((path / "manifest.json").read_text(encoding="utf-8")),
                     scenario_toml=(path / "scenario.toml").read_text(encoding="utf-8"), figures=figures)


def read_events(csv_path) -> pd.DataFrame:
    """events.csv with text columns as text (an empty detail stays "", not NaN), time_s as float."""
    try:
        header = pd.read_csv(csv_path, nrows=0).columns
    except pd.errors.EmptyDataError:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "time_s" else str) for c in EVENT_COLUMNS})
    text = [c for c in _EVENT_TEXT if c in header]
    df = pd.read_csv(csv_path, dtype={c: str for c in text}, keep_default_na=False,
                     na_values={c: ["", "nan", "NaN", "NA", "null"] for c in header if c not in text})
    if "time_s" in df:
        df["time_s"] = pd.to_numeric(df["time_s"], errors="coerce").astype(float)
    return df


def iter_runs(parent, *, complete_only: bool = True) -> Iterable[Path]:
    """Run folders directly under ``parent`` (temporary folders skipped), sorted by name."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    found = [p for p in sorted(parent.iterdir()) if p.is_dir() and not (p.name.startswith(".") and TMP_MARK in p.name)]
    return [p for p in found if is_complete_run(p)] if complete_only else found


# --- provenance ---------------------------------------------------------------------------------
def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def package_version() -> str:
    """protest-sim's version: installed metadata, else pyproject.toml next to the package."""
    found = _version("protest-sim")
    if found:
        return found
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, ValueError, ImportError):
        return "unknown"


def git_commit() -> str | None:
    """The commit of the checkout this package runs from, if it is one (else None)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None  # an installed copy: do not report some unrelated enclosing repository
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=root,
                             env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def manifest_info(engine: str, seed: int, wall_seconds: float, extra: dict | None = None) -> dict:
    """Enough to reproduce a run: engine, seed, wall time, versions, platform, commit, when (UTC)."""
    version = package_version()
    info = {
        "engine": engine,
        "seed": None if seed is None else int(seed),
        "wall_seconds": float(wall_seconds),
        "package_version": version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": {"protest-sim": version,
                     **{p: _version(p) for p in ("numpy", "numba", "mesa", "pandas", "pyarrow", "matplotlib")}},
        "git_commit": git_commit(),
        "written_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    info.update(extra or {})
    return info
