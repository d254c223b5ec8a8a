"""Where the caches live, and numba's on-disk cache keyed by the kernels' sources as a whole.

Numba re-compiles a cached kernel only when the file that defines it changes. A kernel compiled
with a helper from another file (``sim.core.walk.movement.walk_range`` calls
``sim.core.walk.swaps``) keeps the old helper's machine code after only the helper's file
changes: silently wrong results after an update. So numba's cache lives in a folder named by a
hash of every kernel source (``sim/core``, ``sim/geo``): any change there starts a fresh one, and
identical sources (another clone, a batch worker) share it. It must be set before numba is
imported (numba reads ``NUMBA_CACHE_DIR`` then), so ``sim/__init__`` calls
:func:`use_kernel_cache` first; a user's own ``NUMBA_CACHE_DIR`` wins.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

KERNEL_PACKAGES = ("core", "geo")  # under sim/: every numba kernel lives there
STALE_S = 7 * 86400.0  # caches of other sources, untouched this long, are removed


def cache_root() -> Path:
    """Where cached results live: $PROTEST_SIM_CACHE or ~/.cache/protest-sim."""
    return Path(os.environ.get("PROTEST_SIM_CACHE") or Path.home() / ".cache" / "protest-sim")


def kernel_sources_key(sim_dir: Path | None = None) -> str:
    """A hash of the kernels' source files (names and contents), 16 hex digits."""
    sim_dir = Path(sim_dir or Path(__file__).parent)
    digest = hashlib.sha256()
    for package in KERNEL_PACKAGES:
        for path in sorted((sim_dir / package).rglob("*.py")):
            digest.update(path.relative_to(sim_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def use_kernel_cache() -> Path | None:
    """Point numba's cache at ``<cache root>/numba/<kernel sources key>`` unless the user chose one;
    returns the folder, or None (user's choice, or no writable cache root: numba then caches
    beside the code, as it does by default)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    try:
        root = cache_root() / "numba"
        folder = root / kernel_sources_key()
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: keeps it from being pruned
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    _prune(root, keep=folder)
    return folder


def _prune(root: Path, keep: Path) -> None:
    """Remove the caches of other kernel sources nobody has used for a week."""
    now = time.time()
    try:
        others = [p for p in root.iterdir() if p.is_dir() and p != keep and not p.is_symlink()]
    except OSError:
        return
    for p in others:
        try:
            if now - p.stat().st_mtime > STALE_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass
