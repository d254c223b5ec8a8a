"""The command line: user mistakes are one line on stderr and exit code 2, never a traceback."""

import subprocess
import sys
from pathlib import Path

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


def test_validate_checks_sweep_files_too(tmp_path):
    shipped = subprocess.run([sys.executable, "-m", "sim", "validate", "scenarios/sweeps/splinter_size.toml"],
                             capture_output=True, text=True)
    assert shipped.returncode == 0 and "sweep of 9 points x 3 replicates" in shipped.stdout
    bad = tmp_path / "bad.toml"
    base = Path("scenarios/bishkek_2020_10_05.toml").resolve().as_posix()
    bad.write_text(f'[sweep]\nscenario = "{base}"\n[parameters]\n"tear_gas.no_such_key" = [1, 2]\n')
    out = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "tear_gas.no_such_key" in out.stderr and str(bad) in out.stderr
