"""The one exception hierarchy of Trakt.

Every error Trakt raises on purpose is a :class:`TraktError`. Each carries structured fields
(step id, artifact, file, line, ...) that go straight into the run manifest, and the exit code
the CLI uses for it. Messages read: where, what was expected, what was found, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_INVALID = 2


class TraktError(Exception):
    """Base of every error Trakt raises on purpose."""

    exit_code: int = EXIT_RUN_FAILED

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "message": self.message, **self.fields}


@dataclass(frozen=True)
class Problem:
    """One validation problem, located in the pipeline file where possible."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        where = self.file or "<pipeline>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return where

    def __str__(self) -> str:
        return f"{self.location()}: {self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


class PipelineValidationError(TraktError):
    """The pipeline is invalid; ``problems`` lists every problem found, in file order."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[Problem], file: str | None = None) -> None:
        ordered = sorted(problems, key=lambda p: (p.line or 0, p.column or 0, p.path))
        self.problems: tuple[Problem, ...] = tuple(ordered)
        count = len(ordered)
        head = f"{file or 'pipeline'}: {count} problem{'s' if count != 1 else ''} found"
        message = head + "\n" + "\n".join(f"  {p}" for p in ordered)
        super().__init__(message, file=file)

    @classmethod
    def whole_file(
        cls, file: str | None, message: str, line: int | None = None, column: int | None = None
    ) -> PipelineValidationError:
        """A problem with the document as a whole (unreadable, not YAML, too large...)."""
        return cls([Problem("<root>", message, file, line, column)], file=file)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["problems"] = [p.to_dict() for p in self.problems]
        return data


class UsageError(TraktError):
    """Wrong command-line usage or runner arguments."""

    exit_code = EXIT_INVALID


class StepResolutionError(TraktError):
    """A ``uses:`` reference could not be turned into a callable."""

    exit_code = EXIT_INVALID


class RegistryError(TraktError):
    """Conflicting or invalid step alias registration."""

    exit_code = EXIT_INVALID


class InputError(TraktError):
    """An input could not be found or read (file, line and reason in the fields)."""


class OutputError(TraktError):
    """An output could not be written."""


class StepError(TraktError):
    """A step raised, or returned something other than its declared outputs."""


class EngineUnavailable(TraktError):
    """A distributed engine (Spark) cannot start: its package or Java missing or too old."""

    exit_code = EXIT_INVALID


class OutputConflict(TraktError):
    """An output would overwrite one of the run's own inputs."""

    exit_code = EXIT_INVALID


class Cancelled(BaseException):
    """SIGINT / SIGTERM arrived: the run stops, records ``cancelled`` and exits 130 / 143.

    A BaseException, so that ``except Exception`` in a step does not swallow it.
    """

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    import difflib  # only needed when something is wrong; keeps start-up lean

    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
