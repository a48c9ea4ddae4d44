"""The output location: where a run publishes its outputs, quarantine files and manifest, all
or nothing.

The runtime asks the location for what all-or-nothing output needs, and nothing else: to be
created, a lock (one run writes at a time), recovery of a publish a crash interrupted, removal
of what a killed run left, a temporary place per file of this run, and one publish of them
all. :class:`LocalOutputDir` does it on a local directory: temporary files renamed into place
by the journal protocol (:mod:`trakt.runtime.publish`, ARCHITECTURE.md) under an ``flock``
(:mod:`trakt.runtime.outdir`). A store has neither rename nor lock: its location implements
the same protocol by copying then deleting, and says what it cannot enforce.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from trakt.errors import OutputError
from trakt.runtime.outdir import TEMP_PREFIX, OutputDirLock, remove_leftovers
from trakt.runtime.publish import publish, recover_publish


class OutputLocation(Protocol):
    """What the runtime needs of the place a run publishes to (see the module docstring)."""

    path: Path  # the absolute local directory (fixed when the run starts)

    def create(self) -> None: ...
    def locked(self, run_id: str) -> AbstractContextManager[None]: ...
    def recover(self) -> list[dict[str, Any]]: ...
    def remove_leftovers(self) -> list[str]: ...
    def temporary(self, run_id: str, name: str) -> Path: ...
    def publish(self, run_id: str, pending: Mapping[str, Path]) -> None: ...


class LocalOutputDir:
    """A local output directory: renamed into place under an ``flock``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> None:
        """Create the directory (and its parents) if absent."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create output dir {self.path}: {exc.strerror or exc}",
                file=str(self.path),
            ) from None

    @contextmanager
    def locked(self, run_id: str) -> Iterator[None]:
        """Hold the directory's lock (``OutputDirLocked`` if another run holds it)."""
        lock = OutputDirLock(self.path, run_id)
        lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def recover(self) -> list[dict[str, Any]]:
        """Finish or undo a publish a crash interrupted; what was done, per file."""
        return recover_publish(self.path)

    def remove_leftovers(self) -> list[str]:
        """Remove the temporary files of runs that never finished; their names."""
        return remove_leftovers(self.path)

    def temporary(self, run_id: str, name: str) -> Path:
        """Where this run writes ``name`` (``o.csv``, ``_rejected/x.csv``) until it publishes:
        beside its final place, so the publish is a rename within one file system."""
        relative = PurePosixPath(name)
        return self.path / relative.parent / f"{TEMP_PREFIX}{run_id}-{relative.name}"

    def publish(self, run_id: str, pending: Mapping[str, Path]) -> None:
        """Move every temporary file into place (by final name), all or none."""
        publish(self.path, run_id, pending)
