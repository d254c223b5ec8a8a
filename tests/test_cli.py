"""The command line: user mistakes are one line on stderr and exit code 2, never a traceback."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [
    ["run", "no_such_file.toml"],
    ["validate", "no_such_file.toml"],
    ["map", "atlantis", "--png", "x.png"],
    ["batch", "no_such_sweep.toml"],
    ["run", "scenarios/examples/corridor.toml", "--engine", "warp"],
    ["viz", "no_such_file.toml"],
    ["viz", "--port", "99999"],
])
def test_mistakes_exit_2_without_traceback(args):
    out = subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.strip()


def test_batch_has_its_own_help():
    out = subprocess.run([sys.executable, "-m", "sim", "batch", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--workers" in out.stdout and "--scheduler" in out.stdout
