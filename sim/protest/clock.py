"""Clock times of a scenario: "HH:MM" or "HH:MM:SS" local time, and seconds since midnight."""

from __future__ import annotations

import re

from ..errors import ScenarioError

DAY = 24 * 3600
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def clock_to_seconds(text: str, path: str = "") -> int:
    """"20:10" -> 72600 (seconds since midnight)."""
    m = _CLOCK.match(text) if isinstance(text, str) else None
    if not m:
        raise ScenarioError(f"expected a clock time \"HH:MM\" or \"HH:MM:SS\", got {text!r}", path=path)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ScenarioError(f"not a clock time: {text!r}", path=path)
    return h * 3600 + mi * 60 + s


def seconds_to_clock(seconds: float) -> str:
    """72600.5 -> "20:10:00"; wraps past midnight."""
    s = int(seconds) % DAY
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
