"""The one exception type for user mistakes, so the CLI can print one line instead of a traceback."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario, sweep or map the user wrote is wrong.

    ``path`` is the dotted key path inside the file (``crowds.main.count``), empty when the
    problem is the file as a whole. ``str()`` gives the single line the CLI prints.
    """

    def __init__(self, message: str, *, file: str | None = None, path: str = "") -> None:
        self.message = message
        self.file = file
        self.path = path
        super().__init__(self._line())

    def _line(self) -> str:
        where = ": ".join(p for p in (self.file, self.path) if p)
        return f"{where}: {self.message}" if where else self.message

    def with_file(self, file: str) -> "ScenarioError":
        """The same error, now naming the file it came from."""
        return ScenarioError(self.message, file=file, path=self.path)
