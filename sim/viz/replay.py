"""What the page drives to replay a recorded run: ``protest-sim viz RUN_DIR``.

:class:`ReplayModel` has the interface of :class:`~sim.viz.session.VizModel` the page uses (``sim``,
``renderer``, ``ready``, ``step``, ``frame_png``...), so the same map, charts and events cards show a
replay; ``sim`` is a :class:`~sim.viz.recording.RecordedState` updated in place. Nothing is computed:
``seek(t)`` looks the moment up in the recording (:class:`~sim.viz.recording.RunRecording`), forward
or back, at any speed. One Mesa step is one second, as live, so Play and the render interval work
the same.

Nothing here imports solara.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import mesa

from .loading import Loading
from .recording import RunRecording

RUN_DIR_ENV = "PROTEST_SIM_RUN_DIR"  # the run folder serve() replays


class ReplayModel(Loading, mesa.Model):
    """A recorded run at a moment; ``background=True`` opens the recording in a thread."""

    def __init__(self, run_dir: str | None = None, background: bool = True):
        super().__init__()
        self.run_dir = str(run_dir or os.environ.get(RUN_DIR_ENV, ""))
        self.scenario_file = self.run_dir  # what the page names when opening fails
        self.recording: RunRecording | None = None
        self.sim = None
        self.spec = None
        self.renderer = None
        self.error: str | None = None
        self.status = "reading the recording"
        self.busy: str | None = None
        self.t = 0.0  # seconds since the scenario's start; the picture is the last frame at or before it
        self.lock = threading.RLock()
        self._load(self._build, background=background, name="protest-sim-replay")

    def _build(self) -> None:
        from .frame import renderer_for

        rec = RunRecording(self.run_dir)
        self.spec = rec.spec
        self.renderer = renderer_for(rec.gridmap)
        self.recording = rec
        self.sim = rec.at(0.0)
        self.running = self.sim.running

    @property
    def title(self) -> str:
        return f"the run in {Path(self.run_dir).name}"

    @property
    def end_s(self) -> float:
        """The last recorded moment, seconds since the scenario's start."""
        return self.recording.end_s

    @property
    def clock(self) -> str:
        return self.sim.clock if self.sim is not None else "--:--:--"

    def seek(self, t: float) -> None:
        """Show the recording at ``t`` (clipped to what was recorded): a look-up, forward or back."""
        if self.recording is None:
            return
        with self.lock:
            self.t = min(max(0.0, float(t)), self.end_s)
            state = self.recording.at(self.t)
            self.sim.__dict__.update(state.__dict__)  # the same object: the charts keep their figure
            self.running = self.sim.running

    def step(self) -> None:
        """One second on (Play and Step, as live)."""
        if self.sim is not None:
            self.seek(self.t + 1.0)  # frames recorded less often show a little longer

    def frame_png(self, *, zoom: bool = False) -> bytes:
        from .frame import encode_png

        with self.lock:  # drawn under the lock, encoded outside it: stepping waits only for the drawing
            img = self.renderer.picture(self.sim, zoom=zoom)
        return encode_png(img)
