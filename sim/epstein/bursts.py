"""Outbursts in a series of active counts: what "punctuated equilibrium" means, made measurable.

An outburst is a stretch of steps with more than ``high`` actives; two outbursts are separate
only if the count falls to ``low`` or below for at least ``quiet_steps`` steps in between (a
quiet period). So a noisy plateau is one outburst, and bursts separated by calm are several.
"""

from __future__ import annotations

import numpy as np


def outbursts(active, high: float, low: float, quiet_steps: int = 5) -> list[tuple[int, int]]:
    """``(first, last)`` step index with more than ``high`` actives of each outburst, in order;
    an outburst ends with the first ``quiet_steps`` steps in a row at ``low`` or below."""
    found: list[tuple[int, int]] = []
    start, last_high, quiet_run = None, -1, 0
    for t, v in enumerate(np.asarray(active).tolist()):
        if v > high:
            if start is None:
                start = t
            last_high = t
        quiet_run = quiet_run + 1 if v <= low else 0
        if start is not None and quiet_run >= quiet_steps:
            found.append((start, last_high))
            start = None
    if start is not None:
        found.append((start, last_high))
    return found
