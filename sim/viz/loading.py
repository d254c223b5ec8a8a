"""What the page's models share: built (or warmed) in a thread while the page shows a loading state,
``ready`` once done or failed, and a failure kept as a message for the page instead of a dead session.

Nothing here imports solara.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Callable

from ..errors import ScenarioError


class Loading:
    """Mixin of the page's Mesa models: :meth:`_load` runs the building work, in a thread or not."""

    error: str | None = None
    build_s: float | None = None  # seconds the work took

    def _load(self, work: Callable[[], None], *, background: bool, name: str) -> None:
        self._ready = threading.Event()
        if background:
            threading.Thread(target=self._run, args=(work,), name=name, daemon=True).start()
        else:
            self._run(work)

    def _run(self, work: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            work()
        except ScenarioError as err:
            self.error = str(err)
        except ValueError as err:  # e.g. a seed that is not a number
            self.error = f"{type(err).__name__}: {err}"
        except Exception:  # noqa: BLE001 - shown on the page instead of killing the session
            self.error = traceback.format_exc(limit=6)
        finally:
            self.build_s = time.perf_counter() - start
            if self.error:
                self.running = False
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the work is done (or failed); False if ``timeout`` ran out first."""
        return self._ready.wait(timeout)
