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


def test_a_run_starts_without_the_garbage_collector_and_steps_with_it(tmp_path):
    """``protest-sim run`` pauses the collector while it starts (sim.gc_pause) and resumes it for
    the run: a run must never go on without one."""
    probe = f"""
import gc, sys
import sim.protest.model
seen = {{}}
build, step = sim.protest.model.ProtestModel.__init__, sim.protest.model.ProtestModel.step
def init(self, *a, **k):
    seen["build"] = gc.isenabled()
    build(self, *a, **k)
def first_step(self):
    seen.setdefault("step", gc.isenabled())
    step(self)
sim.protest.model.ProtestModel.__init__, sim.protest.model.ProtestModel.step = init, first_step
sys.argv = ["protest-sim", "run", "scenarios/examples/corridor.toml", "--duration", "5", "--quiet",
            "--out", {str(tmp_path / "run")!r}]
from sim.cli import console_main
code = console_main()
print(code, seen["build"], seen["step"], gc.isenabled())
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.split()[-4:] == ["0", "False", "True", "True"], out.stderr


def test_a_run_imports_mesa_first(tmp_path):
    """``protest-sim run`` imports Mesa before numba: Mesa's loggers scan every loaded module for each
    frame on the stack as it imports, so importing it first saves a tenth of a second."""
    probe = f"""
import sys
sys.argv = ["protest-sim", "run", "scenarios/examples/corridor.toml", "--duration", "1", "--quiet",
            "--out", {str(tmp_path / "run")!r}]
from sim.cli import console_main
code = console_main()
loaded = list(sys.modules)  # in the order imports finished
print(code, loaded.index("mesa") < loaded.index("numba"))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.split()[-2:] == ["0", "True"], out.stderr


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_either_engine_runs_in_a_fresh_process(tmp_path, engine):
    """Each engine's first step in a new process, twice (the first may compile the kernels, the second
    loads them from numba's cache)."""
    for k in range(2):
        out = subprocess.run([sys.executable, "-m", "sim", "run", "scenarios/examples/corridor.toml", "--engine",
                              engine, "--duration", "2", "--quiet", "--out", str(tmp_path / f"run{k}")],
                             capture_output=True, text=True)
        assert out.returncode == 0 and (tmp_path / f"run{k}").is_dir(), out.stderr


def test_numba_threads_are_up_once_the_kernels_are_imported():
    """Importing the kernels starts numba's threads (sim.core.parallel): a serial kernel calling a parallel
    one, loaded from the cache in a process whose threads were not started, crashed it."""
    probe = "import numba, sim.core.walk.movement; print(numba.threading_layer())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr
