"""The disk cache of rasterized built-in maps: a hit equals a fresh build, anything doubtful is rebuilt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.geo import raster
from sim.geo.catalog import load_builtin_map_data
from sim.geo.disk_cache import load_gridmap
from sim.geo.raster import load_builtin_map

MAP = "bishkek_center"
CELL = 4.0  # coarse, so each rasterization takes a few milliseconds
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory and an empty per-process cache; yields the maps' directory."""
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(tmp_path))
    raster._build.cache_clear()
    yield tmp_path / "maps"
    raster._build.cache_clear()


@pytest.fixture(scope="module")
def fresh():
    return raster._rasterize(MAP, CELL, load_builtin_map_data(MAP))


def _count_rasterizations(monkeypatch) -> list:
    calls = []
    real = raster._rasterize

    def counting(*args):
        calls.append(args[:2])
        return real(*args)

    monkeypatch.setattr(raster, "_rasterize", counting)
    return calls


def _load_again():
    """Load as a new process would: past the per-process cache, from disk if the entry is good."""
    raster._build.cache_clear()
    return load_builtin_map(MAP, CELL)


def _assert_same_map(got, want):
    for name in ("walkable", "place_id"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
        assert a.flags.c_contiguous and not a.flags.writeable, name
    assert (got.name, got.cell_size, got.places, got.exits) == (want.name, want.cell_size, want.places, want.exits)
    assert got.origin_latlon == want.origin_latlon and isinstance(got.origin_latlon, tuple)
    assert got.features == want.features  # tuples stay tuples: (x, y) != [x, y]
    assert got.fingerprint() == want.fingerprint()  # so the distance fields cached for it are found


def _entries(maps_dir: Path) -> list[Path]:
    return sorted(maps_dir.iterdir())


def test_a_cache_hit_equals_a_fresh_build_and_does_not_rasterize(cache, fresh, monkeypatch):
    first = load_builtin_map(MAP, CELL)
    _assert_same_map(first, fresh)
    [entry] = _entries(cache)  # one entry, no temporary file left behind
    assert entry.suffix == ".npz"

    def refuse(*args):
        raise AssertionError("rasterized despite a cache entry")

    monkeypatch.setattr(raster, "_rasterize", refuse)
    second = _load_again()
    assert second is not first
    _assert_same_map(second, fresh)


def test_a_warm_load_does_not_import_matplotlib(cache):
    load_builtin_map(MAP, CELL)
    code = ("import sys; from sim.geo.raster import load_builtin_map; "
            f"load_builtin_map({MAP!r}, {CELL!r}); print('matplotlib' in sys.modules)")
    env = {**os.environ, "PROTEST_SIM_CACHE": str(cache.parent)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_entry_is_ignored_and_rewritten(cache, fresh, monkeypatch, damage):
    load_builtin_map(MAP, CELL)
    [entry] = _entries(cache)
    good = entry.read_bytes()
    entry.write_bytes({"truncated": good[: len(good) // 2], "garbage": os.urandom(len(good)), "empty": b""}[damage])
    assert load_gridmap(entry) is None

    calls = _count_rasterizations(monkeypatch)
    _assert_same_map(_load_again(), fresh)
    assert calls == [(MAP, CELL)]
    assert _entries(cache) == [entry] and entry.read_bytes() == good


def test_a_new_rasterizer_version_misses_the_cache(cache, fresh, monkeypatch):
    load_builtin_map(MAP, CELL)
    monkeypatch.setattr(raster, "RASTER_VERSION", raster.RASTER_VERSION + "-next")
    calls = _count_rasterizations(monkeypatch)
    _assert_same_map(_load_again(), fresh)
    assert calls == [(MAP, CELL)]
    assert len(_entries(cache)) == 2


def test_edited_map_data_misses_the_cache(cache, monkeypatch):
    load_builtin_map(MAP, CELL)
    edited = load_builtin_map_data(MAP) | {"title": "edited map"}
    monkeypatch.setattr(raster, "load_builtin_map_data", lambda name: edited)
    calls = _count_rasterizations(monkeypatch)
    assert _load_again().features["title"] == "edited map"
    assert calls == [(MAP, CELL)]


def test_an_unwritable_cache_dir_still_gives_the_map(cache, fresh, monkeypatch):
    blocker = cache.parent / "not_a_dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("PROTEST_SIM_CACHE", str(blocker / "cache"))  # mkdir fails, even for root
    _assert_same_map(load_builtin_map(MAP, CELL), fresh)
    assert list(cache.parent.iterdir()) == [blocker]
