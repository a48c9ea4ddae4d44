"""``timeout_s``: a step past its limit is stopped, whatever the step does about it.

SIGALRM raises :class:`Overtime` inside the step. A step may catch it (``except
BaseException``, a bare ``except``, a ``finally`` that loops), so once the limit has passed the
alarm keeps firing every :data:`REPEAT_S` and raising again, and when the step ends — by
returning, raising something else, or yielding a chunk — it is a ``StepTimeout`` regardless.
A step that turns the alarm off (``signal.alarm(0)``, ``SIG_IGN``) is still measured: past its
limit when it ends is a ``StepTimeout``, and a watchdog thread that needs no signal ends it
after the grace period. A step still not stopped then ends the process through the
last-resort hook the execution installs (it records the run as failed, then exits 1).

Every step call and chunk pull also gets back the SIGALRM handler and real-time timer it found,
so nothing a step sets there reaches the next step or run; and it checks, when it ends, whether
a signal asked for the run to be cancelled (:mod:`trakt.runtime.cancel`).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from trakt.errors import Cancelled, StepError
from trakt.runtime import cancel
from trakt.runtime.planning import StepPlan

REPEAT_S = 0.1  # how often the alarm fires again once a step is past its limit
WATCHDOG_MARGIN_S = 1.0  # the watchdog acts this long after the alarm's own last resort would
_RUNTIME = os.path.dirname(os.path.abspath(__file__)) + os.sep
_last_resort: Callable[[StepError], None] | None = None
_governing: list[deadline] = []  # Trakt's own armed deadlines (an outer step pulling chunks)


def grace_s(limit: float) -> float:
    """How long a step may keep swallowing the timeout before the process is ended."""
    return min(max(limit, 1.0), 30.0)


def set_last_resort(hook: Callable[[StepError], None] | None) -> None:
    """Install (or remove) what ends the process when a step cannot be stopped."""
    global _last_resort
    _last_resort = hook


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a step stopped for its ``timeout_s`` (it would be again: no run
    starts over for it)."""
    return isinstance(exc, StepError) and exc.fields.get("exception_type") == "StepTimeout"


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


class _Watchdog:
    """One daemon thread that ends a step past its limit and grace, even with SIGALRM off."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: float | None = None
        self._owner: deadline | None = None
        self._wake: float | None = None  # what the thread waits until (None: forever)
        self._thread: threading.Thread | None = None

    def arm(self, due: float, owner: deadline) -> None:
        with self._cond:
            self._due, self._owner = due, owner
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="trakt-watchdog")
                self._thread.daemon = True
                self._thread.start()
            if self._wake is None or due < self._wake:  # per chunk: no wake-up unless needed
                self._cond.notify()

    def disarm(self, owner: deadline) -> None:
        with self._cond:
            if self._owner is owner:
                self._due = self._owner = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    self._wake = self._due
                    now = time.monotonic()
                    if self._due is not None and now >= self._due:
                        break
                    self._cond.wait(None if self._due is None else self._due - now)
                owner, self._due, self._owner = self._owner, None, None
            hook = _last_resort
            if owner is not None and hook is not None:
                hook(owner.error())


_watchdog = _Watchdog()


class deadline:  # used like a function: ``with deadline(step): ...``
    """Around every step call and chunk pull: stop the step with a ``StepTimeout`` StepError if
    it runs past ``timeout_s``, give back the SIGALRM state it found, and stop it if a cancel
    was requested.

    Uses SIGALRM, so it applies in the main thread (the CLI, and API callers running there);
    while one of Trakt's deadlines is armed (an outer step pulling this one's chunks), that one
    governs alone.
    """

    def __init__(self, step: StepPlan, chunk: int | Callable[[], int | None] | None = None):
        self.step = step
        self.chunk = chunk
        self.armed = False
        self.guarded = False
        self.measured = False  # this deadline's own limit applies (no outer one governs)
        self.expired_at: float | None = None
        self.started = 0.0
        self.saved_handler: Any = None
        self.saved_timer: tuple[float, float] = (0.0, 0.0)

    def __enter__(self) -> None:
        self.started = time.monotonic()
        if threading.current_thread() is not threading.main_thread():
            return
        self.saved_handler = signal.getsignal(signal.SIGALRM)
        self.saved_timer = signal.getitimer(signal.ITIMER_REAL)
        self.guarded = True
        limit = self.step.timeout_s
        if not limit or _governing:
            return
        signal.signal(signal.SIGALRM, self._on_alarm)
        self.armed = self.measured = True
        _governing.append(self)
        signal.setitimer(signal.ITIMER_REAL, limit)
        _watchdog.arm(self.started + limit + grace_s(limit) + WATCHDOG_MARGIN_S, self)

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
        if self.guarded:
            # First, so that no alarm (Trakt's or one the step set) fires in what follows.
            current = signal.setitimer(signal.ITIMER_REAL, 0)
            self.guarded = False
            self._give_back(current)
        if self.armed:
            self.armed = False
            _watchdog.disarm(self)
            _governing.remove(self)
        if kind is not None and issubclass(kind, Cancelled):
            return
        cancel.check()  # a signal asked to stop: that sticks, whatever the step did about it
        limit = self.step.timeout_s
        over = limit is not None and time.monotonic() - self.started > limit
        if self.expired_at is not None or isinstance(exc, Overtime) or (self.measured and over):
            # Whatever the step did after the limit passed (returned, raised something else,
            # yielded a chunk, turned the alarm off), it timed out.
            raise self.error() from None

    def _give_back(self, current: tuple[float, float]) -> None:
        """Restore the SIGALRM handler and timer found on entry. An outer step's alarm that
        kept running (or fired and repeats) continues as it is; one the step turned off is
        re-armed for what was left of it."""
        handler = signal.getsignal(signal.SIGALRM)
        if self.saved_handler is not None:
            signal.signal(signal.SIGALRM, self.saved_handler)
        value, interval = self.saved_timer
        if not value:
            return
        if not self.armed and handler == self.saved_handler and current[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *current)
            return
        left = value - (time.monotonic() - self.started)
        signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)
