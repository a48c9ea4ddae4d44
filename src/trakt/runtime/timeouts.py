"""``timeout_s``: a step past its limit is stopped, whatever the step does about it.

SIGALRM raises :class:`Overtime` inside the step. A step may catch it (``except
BaseException``, a bare ``except``, a ``finally`` that loops), so once the limit has passed the
alarm keeps firing every :data:`REPEAT_S` and raising again, and when the step ends — by
returning, raising something else, or yielding a chunk — it is a ``StepTimeout`` regardless.
A step still not stopped after a grace period ends the process through the last-resort hook
the execution installs (it records the run as failed, then exits 1).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from trakt.errors import StepError
from trakt.runtime.planning import StepPlan

REPEAT_S = 0.1  # how often the alarm fires again once a step is past its limit
_RUNTIME = os.path.dirname(os.path.abspath(__file__)) + os.sep
_last_resort: Callable[[StepError], None] | None = None


def grace_s(limit: float) -> float:
    """How long a step may keep swallowing the timeout before the process is ended."""
    return min(max(limit, 1.0), 30.0)


def set_last_resort(hook: Callable[[StepError], None] | None) -> None:
    """Install (or remove) what ends the process when a step cannot be stopped."""
    global _last_resort
    _last_resort = hook


class Overtime(BaseException):
    """Raised by the alarm inside a step; a BaseException so ``except Exception`` in the step
    cannot swallow it. Carries the timeout error, in case it surfaces outside the step."""

    def __init__(self, error: StepError) -> None:
        super().__init__(error.message)
        self.error = error


def disarm() -> None:
    """Stop the alarm (a timeout that surfaced where no deadline could handle it)."""
    if threading.current_thread() is threading.main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)


class deadline:  # used like a function: ``with deadline(step): ...``
    """Stop the step with a ``StepTimeout`` StepError if it runs past ``timeout_s``.

    Uses SIGALRM, so it applies in the main thread (the CLI, and API callers running there);
    an alarm already running (an outer step pulling this one's chunks) governs alone.
    """

    def __init__(self, step: StepPlan, chunk: int | Callable[[], int | None] | None = None):
        self.step = step
        self.chunk = chunk
        self.armed = False
        self.expired_at: float | None = None
        self.previous: Any = None

    def __enter__(self) -> None:
        limit = self.step.timeout_s
        if (
            not limit
            or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0
        ):
            return
        self.previous = signal.signal(signal.SIGALRM, self._on_alarm)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, limit)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.expired_at is None:
            self.expired_at = now
            signal.setitimer(signal.ITIMER_REAL, REPEAT_S, REPEAT_S)  # until the step stops
        elif now - self.expired_at > grace_s(self.step.timeout_s or 0) and _last_resort:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _last_resort(self.error())
        elif frame is not None and frame.f_code.co_filename.startswith(_RUNTIME):
            return  # a repeat landing in Trakt's own bookkeeping: the next one, in step code
        if frame is not None and frame.f_code is deadline.__exit__.__code__:
            return  # the step has ended already; __exit__ reports the timeout
        raise Overtime(self.error())

    def error(self) -> StepError:
        """The StepTimeout error for this step (at its current chunk)."""
        chunk = self.chunk() if callable(self.chunk) else self.chunk
        at = f" at chunk {chunk}" if chunk is not None else ""
        return StepError(
            f"step '{self.step.id}' did not finish within timeout_s={self.step.timeout_s:g}"
            f"{at}; it was stopped",
            step_id=self.step.id,
            chunk_index=chunk,
            exception_type="StepTimeout",
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        self.armed = False
        if self.expired_at is not None or isinstance(exc, Overtime):
            # Whatever the step did after the limit passed (returned, raised something else,
            # yielded a chunk), it timed out.
            raise self.error() from None
