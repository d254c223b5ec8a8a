"""Distance (floor) fields: walking distance in metres from every cell to a target set of cells.

Agents walk down these fields. A place's field goes on falling inside the place (minus the
distance to its edge), so arrivals walk in instead of stopping at the threshold. They are
computed once per map, cell size and target with a Dijkstra search over a 16-neighbour stencil
(the 8 king moves plus the 8 knight moves), whose distances stay within ~3% of the Euclidean
walking distance at every heading, where 8 neighbours alone overestimate by up to 8% and would
make agents slow on slanted streets.
Results are cached on disk, keyed by the map's content fingerprint.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numba import njit

from ..caches import cache_root
from .disk_cache import atomic_write
from .gridmap import GridMap, cells

EXITS = "exits"  # the target name of the field to the nearest exit
SECTORS = {"east": (1.0, 0.0), "north": (0.0, 1.0), "west": (-1.0, 0.0), "south": (0.0, -1.0)}


def escape_target(sector: str) -> str:
    """The target name of the field to the exits on one side of the map ("exits:north"...)."""
    return f"{EXITS}:{sector}"


def exit_sectors(gridmap: GridMap, exit_mask: np.ndarray | None = None) -> dict[str, str]:
    """The side of the map each exit lies on: the quarter, seen from the map's middle, that holds its
    centre. One pass over the exit cells (a pass per exit costs a second on a large map).
    ``exit_mask`` saves computing ``gridmap.exit_mask()`` again when the caller has it."""
    ids = np.array([gridmap.place_index(e) for e in gridmap.exits], dtype=np.int64)
    xs, ys = cells(gridmap.exit_mask() if exit_mask is None else exit_mask)
    if xs.size == 0:
        return {}
    which = np.searchsorted(np.sort(ids), gridmap.place_id[xs, ys])
    order = np.argsort(ids)
    n = np.bincount(which, minlength=ids.size)
    sx = np.bincount(which, xs, minlength=ids.size)
    sy = np.bincount(which, ys, minlength=ids.size)
    cx, cy = gridmap.shape[0] / 2, gridmap.shape[1] / 2
    sectors = {}
    for k in np.flatnonzero(n):
        vx, vy = sx[k] / n[k] - cx, sy[k] / n[k] - cy
        sectors[gridmap.exits[order[k]]] = max(SECTORS, key=lambda s: SECTORS[s][0] * vx + SECTORS[s][1] * vy)
    return sectors


def exit_sector_mask(gridmap: GridMap, sector: str) -> np.ndarray:
    """Exit cells of the exits on that side of the map (:func:`exit_sectors`)."""
    ids = [gridmap.place_index(e) for e, side in exit_sectors(gridmap).items() if side == sector]
    return np.isin(gridmap.place_id, ids) & (gridmap.walkable == 1)
_VERSION = "v2"  # bump when the algorithm changes, so stale caches are not reused
STACK_CACHE_BYTES = 2 << 30  # cached stacks beyond this much disk are pruned, least recently used first

# dx, dy of the stencil; knight moves need both cells they brush past to be walkable
_DX = np.array([1, -1, 0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 1, 1, -1, -1], dtype=np.int64)
_DY = np.array([0, 0, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 2, -2, 2, -2], dtype=np.int64)


@njit(cache=True)
def _heap_push(keys, vals, n, key, val):
    if n == keys.shape[0]:
        new_keys = np.empty(2 * n, dtype=keys.dtype)
        new_vals = np.empty(2 * n, dtype=vals.dtype)
        new_keys[:n] = keys
        new_vals[:n] = vals
        keys, vals = new_keys, new_vals
    i = n
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return keys, vals, n + 1


@njit(cache=True)
def _heap_pop(keys, vals, n):
    key, val = keys[0], vals[0]
    n -= 1
    keys[0], vals[0] = keys[n], vals[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return key, val, n


@njit(cache=True, nogil=True)  # nogil: fields for several targets are computed on several threads
def _dijkstra(walkable, sources, cell_size, dx, dy):
    nx, ny = walkable.shape
    dist = np.full((nx, ny), np.inf)
    done = np.zeros((nx, ny), dtype=np.uint8)
    keys = np.empty(1 << 16, dtype=np.float64)
    vals = np.empty(1 << 16, dtype=np.int64)
    n = 0
    for x in range(nx):
        for y in range(ny):
            if sources[x, y] and walkable[x, y]:
                dist[x, y] = 0.0
                keys, vals, n = _heap_push(keys, vals, n, 0.0, x * ny + y)
    steps = np.sqrt(dx * dx + dy * dy).astype(np.float64) * cell_size
    while n > 0:
        d, flat, n = _heap_pop(keys, vals, n)
        x = flat // ny
        y = flat % ny
        if done[x, y]:
            continue
        done[x, y] = 1
        for k in range(dx.shape[0]):
            ex = dx[k]
            ey = dy[k]
            qx = x + ex
            qy = y + ey
            if qx < 0 or qy < 0 or qx >= nx or qy >= ny or not walkable[qx, qy] or done[qx, qy]:
                continue
            if abs(ex) == 1 and abs(ey) == 1:
                # diagonal: no squeezing between two wall cells that touch at a corner
                if not walkable[x + ex, y] or not walkable[x, y + ey]:
                    continue
            elif abs(ex) == 2:
                # knight move: both cells it brushes past must be floor
                if not walkable[x + ex // 2, y] or not walkable[x + ex // 2, y + ey]:
                    continue
            elif abs(ey) == 2:
                if not walkable[x, y + ey // 2] or not walkable[x + ex, y + ey // 2]:
                    continue
            nd = d + steps[k]
            if nd < dist[qx, qy]:
                dist[qx, qy] = nd
                keys, vals, n = _heap_push(keys, vals, n, nd, qx * ny + qy)
    return dist.astype(np.float32)


def distance_field(walkable: np.ndarray, sources: np.ndarray, cell_size: float) -> np.ndarray:
    """Walking distance (m, float32) from every walkable cell to the nearest source cell.

    Cells that cannot reach a source (and all walls) are ``inf``.
    """
    walkable = np.ascontiguousarray(walkable, dtype=np.uint8)
    sources = np.ascontiguousarray(sources, dtype=np.uint8)
    if not (sources.astype(bool) & walkable.astype(bool)).any():
        raise ValueError("a distance field needs at least one walkable source cell")
    return _dijkstra(walkable, sources, float(cell_size), _DX, _DY)


def place_field(walkable: np.ndarray, mask: np.ndarray, cell_size: float) -> np.ndarray:
    """Distance to a place outside it, and minus the depth (distance to its edge) inside it.

    The slope inside lets people who arrive keep walking in, rather than stopping on the
    first cell and blocking the way for those behind them.
    """
    field = distance_field(walkable, mask, cell_size)
    inside = mask.astype(bool) & (walkable == 1)
    xs, ys = cells(inside)
    x0, x1 = max(xs.min() - 1, 0), min(xs.max() + 2, walkable.shape[0])
    y0, y1 = max(ys.min() - 1, 0), min(ys.max() + 2, walkable.shape[1])
    sub_walk = walkable[x0:x1, y0:y1]
    edge = (sub_walk == 1) & ~inside[x0:x1, y0:y1]
    if edge.any():
        depth = distance_field(sub_walk, edge, cell_size)
        sub = field[x0:x1, y0:y1]
        sub[inside[x0:x1, y0:y1]] = -depth[inside[x0:x1, y0:y1]]
    return field


def target_mask(gridmap: GridMap, target: str) -> np.ndarray:
    if target == EXITS:
        return gridmap.exit_mask()
    return gridmap.place_mask(target)


def cache_dir() -> Path:
    """Where fields are cached: ``fields`` under $PROTEST_SIM_CACHE or ~/.cache/protest-sim."""
    return cache_root() / "fields"


def field_for(gridmap: GridMap, target: str, *, use_cache: bool = True, out: np.ndarray | None = None,
              fingerprint: str | None = None) -> np.ndarray:
    """The distance field to a place (or to the exits), from the disk cache when possible.

    ``out`` (float32, the map's shape) receives the field, read straight into it from the cache;
    ``fingerprint`` saves hashing the map again when the caller already has its key.
    """
    if out is None:
        out = np.empty(gridmap.shape, dtype=np.float32)
    path = cache_dir() / f"{fingerprint or gridmap.fingerprint()}-{_VERSION}-{_target_key(target)}.npy"
    if use_cache and path.is_file() and _load_into(path, out):
        return out
    if target.startswith(EXITS):
        mask = gridmap.exit_mask() if target == EXITS else exit_sector_mask(gridmap, target.split(":")[1])
        if not mask.any():
            out[:] = np.inf  # nowhere to leave to that way
            return out
        out[:] = distance_field(gridmap.walkable, mask, gridmap.cell_size)
    else:
        out[:] = place_field(gridmap.walkable, gridmap.place_mask(target), gridmap.cell_size)
    if use_cache:
        atomic_write(path, lambda fh: np.save(fh, out, allow_pickle=False))  # unwritable: recomputed next time
    return out


def field_stack(gridmap: GridMap, targets: list[str], *, use_cache: bool = True) -> np.ndarray:
    """float32 [len(targets), nx, ny]: one field per target, in order.

    The stack itself is cached too, and comes back memory-mapped: a run starts without reading
    its fields (0.5 GB and 0.2-0.5 s for the 5 October scenario), reads only the pages around its
    people, and the runs of a batch share one copy in memory. The mapping is copy-on-write, so a
    stray write can never reach the cache. A new stack is assembled from the per-target fields.
    """
    key = gridmap.fingerprint()
    shape = (len(targets), *gridmap.shape)
    path = cache_dir() / f"{key}-{_VERSION}-stack-{_targets_key(targets)}.npy"
    if use_cache and (cached := _map_stack(path, shape)) is not None:
        return cached
    stack = np.empty(shape, dtype=np.float32)
    # one thread per core: the Dijkstra kernel releases the GIL, so fields not yet cached are
    # computed side by side (a cold start of the 5 October scenario computes 17)
    with ThreadPoolExecutor(max_workers=max(1, min(len(targets), os.cpu_count() or 1))) as pool:
        jobs = [pool.submit(field_for, gridmap, target, use_cache=use_cache, out=stack[k], fingerprint=key)
                for k, target in enumerate(targets)]
        for job in jobs:
            job.result()
    if use_cache and atomic_write(path, lambda fh: np.save(fh, stack, allow_pickle=False)):
        _prune_stacks(keep=path)
    return stack


def _targets_key(targets: list[str]) -> str:
    return hashlib.sha1("\n".join(targets).encode()).hexdigest()[:16]


def _target_key(target: str) -> str:
    """A target's part of a cache file name: a hash, never the name itself (a place named
    ``../../x`` would otherwise write outside the cache)."""
    return "t" + hashlib.sha1(target.encode("utf-8")).hexdigest()[:16]


def _map_stack(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached stack at ``path``, memory-mapped copy-on-write; None if missing, cut short or
    of another shape (it is then rebuilt)."""
    try:
        mapped = np.load(path, mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if mapped.shape != shape or mapped.dtype != np.float32 or not mapped.flags.c_contiguous:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when old stacks are pruned
    return np.asarray(mapped)  # a plain ndarray over the mapping, which it keeps alive


def _prune_stacks(keep: Path) -> None:
    """Delete the least recently used stacks beyond STACK_CACHE_BYTES (each duplicates per-target
    fields, and a sweep over scenarios with different targets would otherwise fill the disk)."""
    stacks = []
    for path in keep.parent.glob("*-stack-*.npy"):
        with contextlib.suppress(OSError):
            st = path.stat()
            stacks.append((st.st_mtime, st.st_size, path))
    total = 0
    for _, size, path in sorted(stacks, reverse=True):
        total += size
        if total > STACK_CACHE_BYTES and path != keep:
            path.unlink(missing_ok=True)  # a run that mapped it keeps its pages until it ends


def _load_into(path: Path, out: np.ndarray) -> bool:
    """Read a cached ``.npy`` field into ``out`` without an intermediate copy; False if the entry is
    damaged or of another shape (it is then recomputed)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = header(fh)
            if shape != out.shape or fortran or dtype != out.dtype or not out.flags.c_contiguous:
                return False
            return fh.readinto(memoryview(out).cast("B")) == out.nbytes
    except (OSError, ValueError):
        return False
