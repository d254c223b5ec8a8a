"""What this machine can hold: runs estimate the memory they need before allocating anything, and are
refused with one line that says how much, instead of dying halfway (or swapping for an hour)."""

from __future__ import annotations

import os

from .errors import ScenarioError

SHARE = 0.8  # of the machine's memory a run may plan to use


def machine_memory() -> int:
    """Bytes of physical memory (a generous default where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_memory(need: float, what: str, *, path: str = "", file: str | None = None, hint: str = "") -> None:
    """Raise ScenarioError if ``need`` bytes are more than this machine can give a run. ``what``
    says what needs them ("at 0.05 m cells the map is ... cells"); ``hint`` what to change."""
    have = machine_memory()
    try:
        need = float(need)
    except OverflowError:
        need = float("inf")
    if need > SHARE * have:
        raise ScenarioError(f"{what}: a run needs about {gib(need)} of memory, this machine has {gib(have)}"
                            + (f"; {hint}" if hint else ""), path=path, file=file)
