"""Careless input, mutated from every shipped scenario and sweep file and every command's arguments: each
case ends with exit code 0 and a sensible result, or exit code 2 and exactly one line naming the file and
key path; never a traceback, never a hang, never an accepted NaN or infinity.

A sample runs with the suite (it changes every day: its seed is the date, printed with any failure, and
``PROTEST_SIM_FUZZ_SEED`` replays one); the whole corpus runs under the ``slow`` marker.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import random
import re
import signal
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.config import dumps_toml, load_toml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "scenarios" / "examples").glob("*.toml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
SMALL = [p for p in SCENARIOS if "examples" in p.parts or "epstein" in p.name]  # quick to run for real
DELETE, UNKNOWN = object(), object()
VALUES = (math.nan, math.inf, -math.inf, 0, -1, -0.5, 1e308, 1e-300, 10**29, 2**63, "", "../../outside/x", "nope",
          [], [1, 2], {}, {"x": 1}, True, 0.5, 3, 10**6, "20:10", "25:99", DELETE, UNKNOWN)
NON_FINITE = (math.nan, math.inf, -math.inf)
TIME_LIMIT_S = 90
SAMPLE = 40


def _seed() -> int:
    return int(os.environ.get("PROTEST_SIM_FUZZ_SEED") or time.strftime("%Y%m%d"))


def _leaves(node, path=()):
    """Every key path of a TOML document down to its values (lists of tables are walked too)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for k, value in enumerate(node):
            yield from _leaves(value, path + (k,))
    else:
        yield path


def _document(path: Path) -> dict:
    """The file's TOML with its relative file references made absolute, so a copy elsewhere reads them."""
    data = load_toml(path)
    sweep = data.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("scenario"), str):
        sweep["scenario"] = str((path.parent / sweep["scenario"]).resolve())
    m = data.get("map")
    for key in ("ascii_file", "file"):
        if isinstance(m, dict) and isinstance(m.get(key), str):
            m[key] = str((path.parent / m[key]).resolve())
    return data


def _mutate(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    elif value is UNKNOWN:
        node[f"{path[-1]}_typo"] = 1
    else:
        node[path[-1]] = value
    return data


def _write(data: dict, folder: Path, name: str) -> Path:
    out = folder / name
    try:
        out.write_text(dumps_toml(data).lstrip("\n"), encoding="utf-8")
    except TypeError:  # a value TOML cannot hold
        out.write_text("[broken\n", encoding="utf-8")
    return out


class _Timeout(Exception):
    pass


def _cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stderr of ``protest-sim ARGS`` in this process, killed (as a failure) after a limit."""
    def alarm(signum, frame):
        raise _Timeout(f"still running after {TIME_LIMIT_S} s: {args}")

    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(args)
            except SystemExit as stop:  # argparse: a mistake on the command line
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def _check_refusal(code: int, stderr: str, file: Path | None, *, key_path: bool) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, f"exit {code}: {stderr}"
    assert len(lines) == 1, f"not one line: {stderr!r}"
    if file is not None:
        assert str(file) in lines[0], f"the file is not named: {lines[0]}"
        if key_path:
            assert re.search(rf"{re.escape(str(file))}: [A-Za-z_][\w.-]*: ", lines[0]), \
                f"no key path named: {lines[0]}"


def _file_level(stderr: str) -> bool:
    return any(s in stderr for s in ("malformed TOML", "not UTF-8", "nested too deeply"))


def _cases():
    corpus = []
    for path in SCENARIOS + SWEEPS:
        data = _document(path)
        for leaf in _leaves(data):
            for value in VALUES:
                corpus.append((path, leaf, value))
    return corpus


CASES = _cases()


def _run_case(path: Path, leaf: tuple, value, tmp_path: Path) -> None:
    mutated = _write(_mutate(_document(path), leaf, value), tmp_path, path.name)
    code, stderr = _cli(["validate", str(mutated)])
    what = f"{path.name}: {'.'.join(map(str, leaf))} = {value if value not in (DELETE, UNKNOWN) else 'deleted' if value is DELETE else 'unknown key'}"
    assert "Traceback" not in stderr, what
    if code == 0:
        assert not (isinstance(value, float) and value in NON_FINITE) and not (
            isinstance(value, float) and math.isnan(value)), f"accepted a non-finite number: {what}"
        if path in SMALL:  # accepted: it must also run, and write numbers that mean something
            out = tmp_path / "run"
            code, stderr = _cli(["run", str(mutated), "--duration", "3", "--quiet", "--out", str(out)])
            if code == 0:
                summary = json.loads((out / "summary.json").read_text())
                assert summary["status"] == "complete", what
                text = (out / "summary.json").read_text()
                assert "NaN" not in text and "Infinity" not in text, what
            else:
                _check_refusal(code, stderr, mutated, key_path=not _file_level(stderr))
    else:
        _check_refusal(code, stderr, mutated, key_path=not _file_level(stderr))


def test_a_daily_sample_of_mutated_files(tmp_path):
    rng = random.Random(_seed())
    for path, leaf, value in rng.sample(CASES, SAMPLE):
        case = tmp_path / f"case{rng.randrange(10**9)}"
        case.mkdir()
        try:
            _run_case(path, leaf, value, case)
        except AssertionError as err:
            raise AssertionError(f"{err} (replay: PROTEST_SIM_FUZZ_SEED={_seed()})") from None


@pytest.mark.slow
@pytest.mark.parametrize("case", range(0, len(CASES), 25))
def test_the_whole_corpus_of_mutated_files(case, tmp_path):
    for k in range(case, min(case + 25, len(CASES))):
        folder = tmp_path / str(k)
        folder.mkdir()
        _run_case(*CASES[k], folder)


# --- command lines ------------------------------------------------------------------------------------
CORRIDOR = str(ROOT / "scenarios" / "examples" / "corridor.toml")
SWEEP = str(ROOT / "scenarios" / "sweeps" / "splinter_size.toml")
BAD_ARGS = [
    ["run", CORRIDOR, "--duration", d] for d in ("nan", "inf", "-inf", "1e308", "-1", "0", "abc", "")
] + [
    ["run", CORRIDOR, "--seed", s] for s in ("-1", str(10**29), "1.5", "abc")
] + [
    ["run", CORRIDOR, "--engine", "warp"], ["run", CORRIDOR, "--out", ""], ["run", CORRIDOR, "--out", "."],
    ["run", str(ROOT / "scenarios")], ["run", "/dev/zero"], ["validate", "/dev/urandom"], ["validate", "\x01"],
    ["batch", SWEEP, "--workers", "0"], ["batch", SWEEP, "--workers", "-3"], ["batch", SWEEP, "--workers", "x"],
    ["batch", SWEEP, "--out", ""], ["batch", str(ROOT / "README.md")],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "nan"],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "0.001"],
    ["map", "bishkek_center", "--png", "x.png", "--cell-size", "-1"], ["map", "atlantis", "--png", "x.png"],
    ["viz", "--port", "0"], ["viz", "--port", "99999"], ["viz", "--port", "http"], ["viz", "no_such.toml"],
    ["nonsense"], [],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=lambda a: " ".join(x.replace(str(ROOT), "") for x in a)[:60])
def test_a_mistake_on_the_command_line_is_one_line_and_exit_2(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stderr = _cli(args)
    assert "Traceback" not in stderr
    assert code == 2, f"exit {code}: {stderr}"
    assert stderr.strip(), "nothing said"
    if not stderr.startswith("usage:"):  # argparse's own: usage line and error line
        assert len(stderr.strip().splitlines()) == 1, stderr
    assert not list(tmp_path.iterdir()), "a refused command wrote something"
