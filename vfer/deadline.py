"""When work must stop: a time limit, and a cancel flag that something outside can raise.

The core checks its deadline between frames and between windows, so a job stops within a frame
of its time limit or of being cancelled in every mode: a Celery worker's pool (where the hard
time limit would kill the process instead) and the embedded worker's thread (where nothing else
could stop it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vfer.errors import JobCancelledError, TimeLimitExceededError


class Deadline:
    def __init__(
        self, seconds: float | None = None, cancelled: Callable[[], bool] | None = None, *, poll_s: float = 1.0
    ) -> None:
        """`seconds` from now, or none; `cancelled` is asked at most every `poll_s` (it may be a
        round trip to the result backend)."""
        self.seconds = seconds
        self._ends = None if seconds is None else time.monotonic() + seconds
        self._cancelled = cancelled
        self._poll_s = poll_s
        self._next_poll = 0.0

    def check(self) -> None:
        """Raise TimeLimitExceededError or JobCancelledError when the work must stop."""
        now = time.monotonic()
        if self._ends is not None and now > self._ends:
            raise TimeLimitExceededError(f"the job took longer than its time limit of {self.seconds:.0f} s")
        if self._cancelled is not None and now >= self._next_poll:
            self._next_poll = now + self._poll_s
            if self._cancelled():
                raise JobCancelledError("the job was cancelled")
