"""Numba's cache is keyed by all kernel sources: a change to a helper in one file can never leave a
kernel of another file running the helper's old machine code."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sim.caches import STALE_S, kernel_sources_key

ROOT = Path(__file__).resolve().parents[1]


def _copy_kernels(dest: Path) -> Path:
    for package in ("core", "geo"):
        shutil.copytree(ROOT / "sim" / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_key_changes_with_any_kernel_source_and_only_with_them(tmp_path):
    sim_dir = _copy_kernels(tmp_path / "sim")
    key = kernel_sources_key(sim_dir)
    assert key == kernel_sources_key(sim_dir)  # stable
    (sim_dir / "cli.py").write_text("# not a kernel\n")
    assert kernel_sources_key(sim_dir) == key
    swaps = sim_dir / "core" / "walk" / "swaps.py"
    swaps.write_text(swaps.read_text() + "\n# a helper another file's kernel compiles in\n")
    assert kernel_sources_key(sim_dir) != key


def _numba_cache_dir(env: dict) -> dict:
    code = ("import json, os, sim.core.walk.movement, numba.core.config as c; "
            "print(json.dumps([os.environ.get('NUMBA_CACHE_DIR'), c.CACHE_DIR]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_numba_caches_under_the_key_unless_the_user_chose(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"PROTEST_SIM_CACHE": str(tmp_path)}
    want = str(tmp_path / "numba" / kernel_sources_key())
    assert _numba_cache_dir(env) == [want, want]
    mine = str(tmp_path / "mine")
    assert _numba_cache_dir(env | {"NUMBA_CACHE_DIR": mine}) == [mine, mine]


def test_caches_of_other_sources_go_after_a_week_unused(tmp_path):
    old, recent = tmp_path / "numba" / "old", tmp_path / "numba" / "recent"
    for p in (old, recent):
        p.mkdir(parents=True)
    then = time.time() - STALE_S - 60
    os.utime(old, (then, then))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"PROTEST_SIM_CACHE": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import sim"], cwd=ROOT, env=env, check=True)
    assert not old.exists() and recent.exists() and (tmp_path / "numba" / kernel_sources_key()).is_dir()
