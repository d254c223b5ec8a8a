"""The README's commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("    python -m pip")]


def test_readme_starts_with_exactly_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    head = readme.split("## ")[0]
    commands = _commands(head)
    assert len(commands) == 2
    assert "protest-sim run scenarios/bishkek_2020_10_05.toml" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in [line.strip() for line in ci.splitlines()]
