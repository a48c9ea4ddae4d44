"""How a run ends, in words: the manifest's ``error`` and the one stderr line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trakt.errors import Cancelled, StepError, TraktError
from trakt.runtime import cancel
from trakt.runtime.messages import describe, one_line
from trakt.runtime.tracebacks import location, shown_location, user_traceback

if TYPE_CHECKING:
    from trakt.runtime.manifest import InputRecord


def failure_map(exc: TraktError) -> dict[str, BaseException]:
    """Which span each exception belongs on: its step (or input read), and the run."""
    cause = exc.__cause__ or exc
    found: dict[str, BaseException] = {"": cause}
    if exc.fields.get("step_id"):
        found[exc.fields["step_id"]] = cause
    elif exc.fields.get("artifact"):
        found[f"input:{exc.fields['artifact']}"] = cause
    return found


def describe_failure(run_id: str, error: Mapping[str, Any] | None, manifest_path: str) -> str:
    """The one stderr line for a failed run: where, what, and where the manifest is (control
    characters escaped: a step's message can neither break nor forge the line)."""
    error = error or {}
    if error.get("step_id"):
        where = f"step '{error['step_id']}'"
    elif error.get("artifact"):
        where = f"input '{error['artifact']}'"
    elif error.get("output"):
        where = f"writing output '{error['output']}'"
    else:
        where = "writing outputs"
    chunk = f" (chunk {error['chunk_index']})" if error.get("chunk_index") is not None else ""
    raised = error.get("location")
    at = f" (at {shown_location(raised)})" if isinstance(raised, Mapping) else ""
    hints = "".join(f"; {hint}" for hint in error.get("hints") or ())
    line = (
        f"run {run_id} failed at {where}{chunk}: {error.get('type')}: {error.get('message')}"
        f"{at}{hints} (manifest: {manifest_path})"
    )
    return one_line(line)


def cancellation(exc: BaseException) -> BaseException | None:
    """Whether the run ends cancelled: a signal asked for it (whatever the step then raised),
    or Ctrl-C reached a library caller's run."""
    pending = cancel.requested()
    if pending is not None:
        return exc if isinstance(exc, Cancelled) else pending
    if isinstance(exc, Cancelled):
        return exc
    if isinstance(exc, KeyboardInterrupt) and not cancel.handlers_installed():
        return exc
    return None


def error_dict(exc: BaseException) -> dict[str, Any]:
    """The manifest's ``error``: type, message, the user's ``location`` (file, line, function
    of the innermost frame of their code, when it ran through any) and the ``traceback``
    (Trakt's frames collapsed: see :mod:`trakt.runtime.tracebacks`)."""
    cause = exc.__cause__ if isinstance(exc, StepError) and exc.__cause__ else exc
    kind = exc.fields.get("exception_type") if isinstance(exc, TraktError) else None
    data: dict[str, Any] = {
        "step_id": None,
        "type": kind if kind and cause is exc else type(cause).__name__,
        "message": exc.message if cause is exc and isinstance(exc, TraktError) else describe(cause),
        "traceback": user_traceback(cause),
    }
    where = location(cause)
    if where is not None:
        data["location"] = where
    if isinstance(exc, TraktError):
        data.update({k: v for k, v in exc.fields.items() if k != "exception_type"})
    return data


# What a step raises for a column its frame lacks (pandas and pyarrow, polars).
MISSING_COLUMN = ("KeyError", "ColumnNotFoundError")


def with_header_hints(error: dict[str, Any], inputs: Mapping[str, InputRecord]) -> dict[str, Any]:
    """A step that failed for a missing column while an input's header was read as one column
    holding another separator (``id;amount`` read with ``,``): the fix as the error's
    ``hints``, said on the last stderr line (``inputs``: the manifest's input records)."""
    if not error.get("step_id") or error.get("type") not in MISSING_COLUMN:
        return error
    hints = [
        f"input '{name}': {event['message']}"
        for name, record in inputs.items()
        for event in record.events or ()
        if event.get("rule") == "separator"
    ]
    return {**error, "hints": hints} if hints else error
