"""Distance fields: close to Euclidean in the open, blocked by walls, cached on disk."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.geo import fields as fields_mod
from sim.geo.fields import distance_field, field_for, field_stack
from sim.geo.gridmap import GridMap


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 59), st.integers(0, 59))
def test_open_floor_distance_is_within_3_percent_of_euclidean(x, y):
    walk = np.ones((60, 60), np.uint8)
    src = np.zeros_like(walk)
    src[30, 30] = 1
    d = distance_field(walk, src, 0.5)
    euclid = 0.5 * np.hypot(x - 30, y - 30)
    assert euclid <= d[x, y] + 1e-4
    assert d[x, y] <= euclid * 1.03 + 1e-4


def test_walls_block_and_unreachable_is_infinite():
    walk = np.ones((20, 9), np.uint8)
    walk[10, :] = 0  # a full wall
    src = np.zeros_like(walk)
    src[0, 4] = 1
    d = distance_field(walk, src, 1.0)
    assert np.isinf(d[11:]).all() and np.isinf(d[10]).all()
    walk[10, 8] = 1  # a one-cell gap at the top: the way round is longer than the straight line
    d = distance_field(walk, src, 1.0)
    assert d[19, 0] >= 0.99 * (np.hypot(10, 4) + np.hypot(9, 8))  # via the gap, not through the wall


def test_no_squeezing_through_touching_wall_corners():
    walk = np.ones((3, 3), np.uint8)
    walk[1, 0] = walk[0, 1] = 0  # (0,0) is cut off diagonally from (1,1)
    walk[2, 1] = walk[1, 2] = 0
    src = np.zeros_like(walk)
    src[0, 0] = 1
    d = distance_field(walk, src, 1.0)
    assert np.isinf(d[1, 1]) and np.isinf(d[2, 2])


def test_fields_are_cached_by_map_content(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    walk = np.ones((10, 10), np.uint8)
    pid = np.full((10, 10), -1, np.int16)
    pid[0, 0] = 0
    gm = GridMap("t", 0.5, walk, pid, ("p",))
    calls = []
    real = fields_mod.place_field
    monkeypatch.setattr(fields_mod, "place_field", lambda *a: calls.append(1) or real(*a))
    first = field_for(gm, "p")
    second = field_for(gm, "p")
    assert len(calls) == 1 and np.array_equal(first, second)
    other = GridMap("t", 0.5, walk, np.where(pid == 0, -1, pid).astype(np.int16), ("p",))
    other.place_id[9, 9] = 0
    assert not np.array_equal(field_for(other, "p"), first)
    assert len(calls) == 2
    # a damaged entry (cut short, as by a full disk) is recomputed, not trusted
    entry = next(tmp_path.rglob(f"{other.fingerprint()}-*-{fields_mod._target_key('p')}.npy"))
    entry.write_bytes(entry.read_bytes()[:-7])
    assert np.array_equal(field_for(other, "p"), field_for(other, "p", use_cache=False))
    assert len(calls) == 4


def _two_place_map() -> GridMap:
    walk = np.ones((12, 9), np.uint8)
    walk[5, 1:8] = 0
    pid = np.full((12, 9), -1, np.int16)
    pid[0, 0], pid[11, 8] = 0, 1
    return GridMap("t", 0.5, walk, pid, ("p", "q"))


def test_field_stacks_come_back_memory_mapped_and_never_written_through(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    gm = _two_place_map()
    built = field_stack(gm, ["p", "q"])
    assert np.array_equal(built[1], field_for(gm, "q", use_cache=False))
    monkeypatch.setattr(fields_mod, "field_for", lambda *a, **k: pytest.fail("a cached stack was rebuilt"))
    mapped = field_stack(gm, ["p", "q"])
    assert isinstance(mapped.base, np.memmap) and type(mapped) is np.ndarray
    assert np.array_equal(mapped, built) and mapped.flags.writeable
    mapped[0, 0, 0] = 99.0  # copy-on-write: this process only
    assert field_stack(gm, ["p", "q"])[0, 0, 0] == built[0, 0, 0]


def test_a_damaged_stack_is_rebuilt_and_old_stacks_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    gm = _two_place_map()
    built = field_stack(gm, ["p", "q"])
    (entry,) = tmp_path.rglob("*-stack-*.npy")
    entry.write_bytes(entry.read_bytes()[:-5])  # cut short, as by a full disk
    assert fields_mod._map_stack(entry, built.shape) is None
    assert np.array_equal(field_stack(gm, ["p", "q"]), built)
    assert fields_mod._map_stack(entry, built.shape) is not None
    # room for one stack only: writing another prunes the older one, never the new one
    monkeypatch.setattr(fields_mod, "STACK_CACHE_BYTES", entry.stat().st_size + 10)
    swapped = field_stack(gm, ["q", "p"])
    assert np.array_equal(swapped, built[::-1])
    (left,) = tmp_path.rglob("*-stack-*.npy")
    assert left != entry


def test_a_field_needs_a_source():
    with pytest.raises(ValueError):
        distance_field(np.ones((3, 3), np.uint8), np.zeros((3, 3), np.uint8), 1.0)


def test_place_fields_keep_falling_inside_the_place():
    walk = np.ones((30, 10), np.uint8)
    mask = np.zeros_like(walk)
    mask[20:30, :] = 1
    f = fields_mod.place_field(walk, mask, 1.0)
    assert f[19, 5] == pytest.approx(1.0)
    assert f[20, 5] < 0 and f[25, 5] < f[21, 5]  # deeper is lower
    assert f[29, 5] == pytest.approx(-10.0)  # the far wall: 10 cells from the place's edge
