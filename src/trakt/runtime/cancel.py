"""Cancellation that sticks: a signal asks for it once, the run ends ``cancelled`` whatever the
step does about the exception it raised (``except BaseException: pass`` included).

The CLI's SIGINT / SIGTERM handlers :func:`request` a cancel; every step call, chunk pull and
generator close checks it when it ends (``timeouts.deadline``), and so does the run before it
publishes. Library callers that install no handlers keep Python's own Ctrl-C behaviour.
"""

from __future__ import annotations

from trakt.errors import Cancelled

_requested: tuple[str, int] | None = None
_handlers = 0  # how many runs have Trakt's own signal handlers installed (nested: CLI in tests)


def request(signal_name: str, exit_code: int) -> Cancelled:
    """Record that a signal asked the run to stop; the exception to raise for it."""
    global _requested
    if _requested is None:
        _requested = (signal_name, exit_code)
    return Cancelled(*_requested)


def requested() -> Cancelled | None:
    """The cancellation asked for, if any (a fresh exception each time)."""
    return Cancelled(*_requested) if _requested is not None else None


def check() -> None:
    """Raise the requested cancellation, if a signal asked for one."""
    pending = requested()
    if pending is not None:
        raise pending


def handlers_installed() -> bool:
    """Whether Trakt's SIGINT handler is in place: a ``KeyboardInterrupt`` no signal caused
    (none :func:`requested`) is then the step's own."""
    return _handlers > 0


def begin() -> None:
    """Trakt's handlers were installed: start with no cancel requested."""
    global _requested, _handlers
    _requested = None
    _handlers += 1


def end() -> None:
    """Trakt's handlers were removed: forget the request."""
    global _requested, _handlers
    _requested = None
    _handlers = max(_handlers - 1, 0)
