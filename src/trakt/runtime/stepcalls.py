"""What counts as a step's own failure, wherever its code runs: its call, the pulls of its
generators, and their ``finally`` blocks when they are closed."""

from __future__ import annotations

from typing import Any

from trakt.errors import Cancelled, StepError, TraktError
from trakt.runtime import cancel
from trakt.runtime.messages import describe
from trakt.runtime.planning import StepPlan
from trakt.runtime.timeouts import Overtime, deadline


def passes_through(exc: BaseException) -> bool:
    """What a step may raise that is not the step's own failure: a signal's cancellation, its
    timeout alarm, and Ctrl-C where Trakt has no SIGINT handler of its own (a library caller).
    Anything else (``SystemExit``, ``GeneratorExit``, a custom ``BaseException``, a
    ``KeyboardInterrupt`` the step raised itself under the CLI) fails the step."""
    if isinstance(exc, KeyboardInterrupt):
        return not cancel.handlers_installed() or cancel.requested() is not None
    return isinstance(exc, (Cancelled, Overtime))


def step_failure(step: StepPlan, exc: BaseException, chunk: int | None = None) -> StepError:
    """The StepError for whatever the step raised (its type and message kept)."""
    at = f" at chunk {chunk}" if chunk is not None else ""
    return StepError(
        f"step '{step.id}' raised {type(exc).__name__}{at}: {describe(exc)}",
        step_id=step.id,
        chunk_index=chunk,
        exception_type=type(exc).__name__,
    )


def close_step_iterator(step: StepPlan, chunks: Any, chunk: int | None, quiet: bool) -> None:
    """Close a step's generator now: its ``finally`` blocks are step code too (left to the
    garbage collector, their errors would only be printed). ``quiet``: another error is on its
    way already, and is the one reported."""
    close = getattr(chunks, "close", None)
    if close is None:
        return
    try:
        with deadline(step, chunk):
            close()
    except BaseException as exc:
        if passes_through(exc):
            raise
        if quiet:
            return
        if isinstance(exc, TraktError):
            raise
        raise step_failure(step, exc, chunk) from exc
