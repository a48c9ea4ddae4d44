"""Tracebacks for people who wrote the step: where in their code it failed, Trakt's own frames
collapsed into one line, and a debugger that opens at the user's frame."""

from __future__ import annotations

import contextlib
import os
import pdb
import site
import sysconfig
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
# This module's package's parent: the trakt package (not imported: it imports the edge).
_TRAKT_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def _library_dirs() -> tuple[str, ...]:
    """The standard library's and the installed packages' directories (not the user's)."""
    paths = sysconfig.get_paths()
    found = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    found.update(site.getsitepackages())
    found.add(site.getusersitepackages())
    return tuple(str(Path(p).resolve()) + os.sep for p in found if p)


def is_trakt_file(filename: str) -> bool:
    """Whether ``filename`` is a module of the trakt package itself."""
    return _resolved(filename).startswith(_TRAKT_DIR)


def is_user_file(filename: str) -> bool:
    """A file the user wrote: not Trakt's, not the standard library's or an installed
    package's, and a real file (not ``<frozen ...>`` or ``<string>``)."""
    if filename.startswith("<"):
        return False
    resolved = _resolved(filename)
    if resolved.startswith(_TRAKT_DIR):
        return False
    return not any(resolved.startswith(d) for d in _library_dirs())


def _resolved(filename: str) -> str:
    try:
        return str(Path(filename).resolve())
    except (OSError, RuntimeError):
        return filename


def _frames(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def location(exc: BaseException) -> dict[str, Any] | None:
    """The innermost frame of the user's code that ``exc`` passed through: file, line and
    function; None where it never ran through user code (a Trakt or library failure)."""
    found = None
    for tb in _frames(exc.__traceback__):
        code = tb.tb_frame.f_code
        if is_user_file(code.co_filename):
            found = {"file": code.co_filename, "line": tb.tb_lineno, "function": code.co_name}
    return found


def shown_location(where: Mapping[str, Any], start: Path | None = None) -> str:
    """``file:line in function``, the file relative to ``start`` (the cwd) when under it."""
    file = str(where.get("file"))
    base = start or Path.cwd()
    with contextlib.suppress(ValueError):
        file = str(Path(file).relative_to(base))
    return f"{file}:{where.get('line')} in {where.get('function')}"


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (its causes and contexts first, as Python prints them) with
    each run of Trakt frames collapsed into ``  [N Trakt frames]`` where the stack holds user
    code, so the user's frames lead; a stack without user code (a Trakt bug) is shown whole."""
    te = traceback.TracebackException.from_exception(exc)
    chain: list[tuple[traceback.TracebackException, str | None]] = []
    seen: set[int] = set()
    link: str | None = None
    current: traceback.TracebackException | None = te
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for item, linked in reversed(chain):  # oldest first; ``linked``: how the next relates
        if item.stack:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(_stack_lines(item.stack))
        parts.extend(item.format_exception_only())
        if linked is not None:
            parts.append(linked)
    return "".join(parts)


def _stack_lines(stack: traceback.StackSummary) -> list[str]:
    if not any(is_user_file(f.filename) for f in stack):
        return list(stack.format())
    lines: list[str] = []
    run: list[traceback.FrameSummary] = []
    for frame in stack:
        if is_trakt_file(frame.filename):
            run.append(frame)
            continue
        if run:
            lines.append(_collapsed(len(run)))
            run = []
        lines.extend(traceback.StackSummary.from_list([frame]).format())
    if run:
        lines.append(_collapsed(len(run)))
    return lines


def _collapsed(count: int) -> str:
    return f"  [{count} Trakt frame{'s' if count != 1 else ''}]\n"


def step_exception(exc: BaseException) -> BaseException:
    """The exception a step raised, behind the StepError that reports it."""
    from trakt.errors import StepError

    return exc.__cause__ if isinstance(exc, StepError) and exc.__cause__ else exc


class _UserPdb(pdb.Pdb):
    """pdb positioned at the user's innermost frame rather than a library's."""

    def setup(self, f: Any, tb: Any) -> Any:
        result = super().setup(f, tb)
        for index in range(len(self.stack) - 1, -1, -1):
            if is_user_file(self.stack[index][0].f_code.co_filename):
                self.curindex = index
                self.curframe = self.stack[index][0]
                self.curframe_locals = self.curframe.f_locals
                break
        return result


def post_mortem(exc: BaseException) -> None:
    """The debugger on ``exc``'s traceback (stdin/stdout), opened at the user's frame."""
    tb = exc.__traceback__
    if tb is None:
        return
    debugger = _UserPdb()
    debugger.reset()
    debugger.interaction(None, tb)
