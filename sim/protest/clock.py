"""Clock times of a scenario: "HH:MM" or "HH:MM:SS" local time, and seconds since midnight."""

from __future__ import annotations

import re

from ..errors import ScenarioError

DAY = 24 * 3600
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
NEXT_DAY = "+1"  # "03:30+1": the end of a run that goes past midnight


def clock_to_seconds(text: str, path: str = "") -> int:
    """"20:10" -> 72600 (seconds since midnight)."""
    m = _CLOCK.match(text) if isinstance(text, str) else None
    if not m:
        raise ScenarioError(f"expected a clock time \"HH:MM\" or \"HH:MM:SS\", got {text!r}", path=path)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ScenarioError(f"not a clock time: {text!r}", path=path)
    return h * 3600 + mi * 60 + s


def run_length(start: str, end: str) -> tuple[int, int]:
    """(start, duration) in seconds from the ``start`` and ``end`` clock times of a scenario. An end
    at or before the start is a mistake unless it says it is the next day ("03:30+1"): a wrap past
    midnight is never guessed."""
    start_s = clock_to_seconds(start, "scenario.start")
    next_day = isinstance(end, str) and end.endswith(NEXT_DAY)
    end_s = clock_to_seconds(end[: -len(NEXT_DAY)] if next_day else end, "scenario.end") + (DAY if next_day else 0)
    if end_s <= start_s:
        hint = f"; a run past midnight ends \"{end}{NEXT_DAY}\"" if end_s < start_s else ""
        raise ScenarioError(f"end {end} is not after start {start}{hint}", path="scenario.end")
    if end_s - start_s > DAY:
        raise ScenarioError(f"{start} to {end} is longer than a day", path="scenario.end")
    return start_s, end_s - start_s


def seconds_to_clock(seconds: float) -> str:
    """72600.5 -> "20:10:00"; wraps past midnight."""
    s = int(seconds) % DAY
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
