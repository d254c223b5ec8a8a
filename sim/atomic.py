"""Writing files and folders so that a crash, Ctrl-C or kill -9 at any moment never leaves half of one.

A file is written to a temporary file beside it, flushed to disk and renamed into place; a folder
is filled under a temporary name beside it (``.<name>.tmp-<pid>@<host>-<random>``), synced, and renamed
into place, replacing a previous version by an atomic exchange where the OS has one
(``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere: old renamed away, new renamed in, old
deleted). Temporary folders left by writers that died are removed by the next writer in the same
parent (:func:`clean_stale_temps`), never those of live writers here or on other hosts sharing
the file system. Every writer of the project (run folders, batch tables and figures, the map
and field caches) goes through here.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator

TMP_MARK = ".tmp-"
# who writes a temporary folder is in its name (host: a hash of the host name), so it is known from
# the moment the folder exists, even if its writer is killed then
_TMP_NAME = re.compile(r"^\..+\.tmp-(?:[a-z]+-)?(\d+)(?:@([0-9a-f]{8}))?-")
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_FOREIGN_GRACE_S = 60.0  # a temporary folder no local live process owns, written elsewhere: left this long
_ANCIENT_S = 86400.0  # no write takes a day: older temporary folders go whoever wrote them


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TMP_MARK in name


def _temp_name(name: str) -> str:
    """A hidden sibling name for ``name`` that says who writes it (``_TMP_NAME``)."""
    return f".{name}{TMP_MARK}{os.getpid()}@{HOST_TAG}-{uuid.uuid4().hex[:10]}"


# --- files --------------------------------------------------------------------------------------------
def write_file(path, write: Callable[[BinaryIO], None], *, sync: bool = True) -> None:
    """Write ``path`` through ``write(fh)`` into a temporary file beside it, then rename it into place:
    readers see the old file or the whole new one. On any failure the temporary file goes and the
    error propagates."""
    path = Path(path)
    tmp = path.with_name(_temp_name(path.name))
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path, data: bytes, *, sync: bool = True) -> None:
    write_file(path, lambda fh: fh.write(data), sync=sync)


def write_text(path, text: str, *, sync: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), sync=sync)


def write_json(path, data, *, sync: bool = True) -> None:
    """``data`` (plain JSON types; others as ``str``) as indented JSON."""
    write_text(path, json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False, default=str) + "\n", sync=sync)


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def fsync_dir(folder: Path) -> None:
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


# --- folders ------------------------------------------------------------------------------------------
def new_temp_folder(out: Path) -> Path:
    """An empty temporary folder beside ``out``, named with who writes it."""
    tmp = out.parent / _temp_name(out.name)
    tmp.mkdir()
    return tmp


def publish_folder(tmp: Path, out: Path, *, replace: bool,
                   replaceable: Callable[[Path], bool] = lambda p: True) -> None:
    """Rename the finished folder ``tmp`` to ``out``. With ``replace``, an existing ``out`` for which
    ``replaceable(out)`` holds is swapped out (never a moment without a complete ``out``) and deleted;
    otherwise an existing ``out`` raises FileExistsError."""
    fsync_dir(tmp)
    _publish(tmp, out, replace=replace, replaceable=replaceable)
    fsync_dir(out.parent)


@contextmanager
def staged_folder(out: Path, *, replace: bool,
                  replaceable: Callable[[Path], bool] = lambda p: True) -> Iterator[Path]:
    """A temporary folder beside ``out`` to fill in the ``with`` block: published as ``out`` when the
    block ends (see :func:`publish_folder`), deleted when it raises, so readers see all of it or none."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_folder(out)
    try:
        yield tmp
        publish_folder(tmp, out, replace=replace, replaceable=replaceable)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp: Path, out: Path, *, replace: bool, replaceable) -> None:
    """Rename the finished temporary folder to ``out``; never a moment without a complete ``out``
    when replacing one (atomic exchange where the OS has it)."""
    if not replace:
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
        raise FileExistsError(f"{out} exists and is not a folder; not replacing it")
    if not replaceable(out):
        raise FileExistsError(f"{out} holds files this program did not write; not replacing it")
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
    """Remove temporary folders and files in ``parent`` left by writers that died; returns what went.

    A temporary folder is stale when the process named in it is not alive on this host (and it
    was written on this host, or is over a minute old), or when it is over a day old. Folders
    of live writers, here or on other hosts sharing the file system, are left alone. A temporary
    file goes only when its name says this host wrote it and its writer is gone (a hidden file
    of someone else's that happens to look alike is never touched).
    """
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        if not is_temp_name(p.name) or p.is_symlink():
            continue
        if p.is_dir() and _is_stale(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
        elif p.is_file() and _is_ours_and_dead(p.name):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _is_ours_and_dead(name: str) -> bool:
    m = _TMP_NAME.match(name)
    return m is not None and m.group(2) == HOST_TAG and not _pid_alive(int(m.group(1)))


def _is_stale(p: Path) -> bool:
    try:
        age = time.time() - p.stat().st_mtime
    except OSError:
        return False
    if age > _ANCIENT_S:
        return True
    m = _TMP_NAME.match(p.name)
    if m is None or m.group(2) not in (None, HOST_TAG):  # unnamed, or written on another host
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
