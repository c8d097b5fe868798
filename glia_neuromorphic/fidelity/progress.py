"""A progress bar that appears only when a run lasts longer than a few seconds."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

#: Seconds a task must run before its bar is shown; shorter runs stay quiet.
DEFAULT_DELAY = 2.0


class DelayedProgress:
    """A rich progress bar shown after ``delay`` seconds on an interactive console.

    Use as a context manager and call :meth:`advance` after each unit of work
    (a chunk of steps, a level run). On a console that is not a terminal (CI
    logs, pytest capture) nothing is drawn.

    Parameters
    ----------
    console : rich.console.Console or None
        Where to draw; None draws nothing.
    total : int
        Units of work.
    description : str
        Text left of the bar.
    delay : float
        Seconds before the bar appears.
    """

    def __init__(
        self,
        console: Console | None,
        total: int,
        description: str,
        delay: float = DEFAULT_DELAY,
    ) -> None:
        self.enabled = console is not None and console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task(description, total=total)
        self._delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._started = False
        self._closed = False

    def __enter__(self) -> DelayedProgress:
        if self.enabled:
            self._timer = threading.Timer(self._delay, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _start(self) -> None:
        with self._lock:
            if not self._closed and not self._started:
                self._progress.start()
                self._started = True

    def advance(self, units: int = 1, description: str | None = None) -> None:
        """Mark ``units`` of work done and optionally change the description."""
        fields = {} if description is None else {"description": description}
        self._progress.update(self._task, advance=units, **fields)

    def __exit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._started:
                self._progress.stop()
