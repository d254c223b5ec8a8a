"""benchmarks/walking_ab.py: a checkout against itself walks the same crowd the same way, both ways round."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_checkout_against_itself_walks_the_same():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "walking_ab.py"), str(ROOT), str(ROOT),
                          "--agents", "2000", "--steps", "4"], check=True, capture_output=True, text=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["same"] is True
    assert report["new_over_old"] > 0 and report["agents"] == 2000


def test_not_a_checkout_is_refused(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "walking_ab.py"), str(tmp_path), str(ROOT),
                           "--one-way"], capture_output=True, text=True)
    assert done.returncode != 0 and "not a protest-sim checkout" in done.stderr
