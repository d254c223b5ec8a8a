"""``protest-sim run`` starts with Python's garbage collector paused.

Starting a run (importing Mesa, pandas, scipy and numba, numba setting itself up, building the
model) allocates about a million objects that live as long as the process, and the collector
walks them again and again as they arrive: 0.2-0.4 s of a three-second start. The command
pauses it; the run loop resumes it before the first step, with what start-up made frozen
(never walked again: it would never be freed anyway). Code that did not pause it (tests,
notebooks, batch workers) sees no change.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Pause the collector until :func:`resume` (nothing to do if it is already off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Resume the collector if :func:`pause` stopped it, freezing what exists by now."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
