"""An output location on an object store (``s3://bucket/prefix``, any store fsspec knows).

Formats write local files, so a run writes its outputs and quarantine files into a local
staging directory (``path``: under the scratch location, ``/tmp`` on AWS Lambda) exactly as
into a local output dir; only the publish differs: uploaded, journalled and copied into
place (:mod:`trakt.runtime.store_publish`), one run at a time per prefix by a lease on a lock
object (:mod:`trakt.runtime.store_lock`). The manifest is written locally (atomically) and
uploaded after each write (:class:`StoreFile`): one PUT, so a reader sees a whole manifest.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from trakt.errors import OutputError
from trakt.io.locations import open_store, redacted, secret_values, store_error_text, upload
from trakt.runtime.outdir import TEMP_PREFIX
from trakt.runtime.store_lock import StoreLock
from trakt.runtime.store_publish import publish, recover, remove_leftovers


class StoreOutputDir:
    """An output prefix on a store (see the module docstring); ``storage_options`` go to
    fsspec, their secrets never into a message."""

    def __init__(self, uri: str, storage_options: Mapping[str, Any], staging: Path) -> None:
        self.uri = uri.rstrip("/")
        self.shown = redacted(self.uri)
        self.path = staging
        self.options = dict(storage_options)
        self.secrets = secret_values(self.options)
        try:
            self.fs, root = open_store(self.uri, self.options)
        except Exception as exc:
            raise self.fail("cannot open it", exc) from None
        self.root: str = str(root).rstrip("/")
        self._own: dict[str, Any] = {}  # final name -> filesystem of an output's own options
        self._lock: StoreLock | None = None

    def use_options(self, name: str, options: Mapping[str, Any]) -> None:
        """An output's own storage_options (over the pipeline's): its objects use them."""
        if dict(options) == self.options:
            return
        self.secrets = sorted({*self.secrets, *secret_values(options)}, key=len, reverse=True)
        try:
            self._own[name] = open_store(self.uri, options)[0]
        except Exception as exc:
            raise self.fail(f"cannot open it for output file {name}", exc) from None

    def fs_for(self, name: str) -> Any:
        """The filesystem the objects of ``name`` (a final name) are written with."""
        return self._own.get(name, self.fs)

    def fail(self, doing: str, exc: BaseException, after: str = "") -> OutputError:
        """A store's failure as an :class:`OutputError` naming the prefix (secrets scrubbed)."""
        text = store_error_text(exc, self.uri, self.secrets)
        tail = f"; {after}" if after else "; check the uri, the credentials and the endpoint"
        return OutputError(f"output dir {self.shown}: {doing}: {text}{tail}", file=self.shown)

    def uri_of(self, name: str) -> str:
        """The URI a final name is published at, as shown (no password)."""
        return f"{self.shown}/{name}"

    def create(self) -> None:
        """Create the local staging directory (the prefix needs no creating on a store)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the staging dir {self.path} for output dir {self.shown}: "
                f"{exc.strerror or exc}; set TMPDIR to a writable directory",
                file=str(self.path),
            ) from None

    @contextlib.contextmanager
    def locked(self, run_id: str) -> Iterator[None]:
        """Hold the prefix's lock object; the staging dir is removed when the run ends."""
        lock = StoreLock(self.fs, self.root, self.shown, run_id, self.fail)
        lock.acquire()
        self._lock = lock
        try:
            yield
        finally:
            self._lock = None
            lock.release()
            shutil.rmtree(self.path, ignore_errors=True)

    def recover(self) -> list[dict[str, Any]]:
        """Finish a publish a crash interrupted (its journal is the commit point)."""
        return recover(self)

    def remove_leftovers(self) -> list[str]:
        """Delete the temporary keys of runs that never published; their names."""
        return remove_leftovers(self)

    def temporary(self, run_id: str, name: str) -> Path:
        """Where this run writes ``name`` locally until it publishes (in the staging dir)."""
        relative = PurePosixPath(name)
        return self.path / relative.parent / f"{TEMP_PREFIX}{run_id}-{relative.name}"

    def publish(self, run_id: str, pending: Mapping[str, Path]) -> None:
        """Upload every temporary file and copy it into place (all, or none visible)."""
        if self._lock is not None and self._lock.lost:
            raise OutputError(
                f"output dir {self.shown}: {self._lock.lost}; nothing was published",
                file=self.shown,
            )
        publish(self, run_id, pending)

    def manifest_file(self, name: str) -> StoreFile:
        """The manifest at ``name`` under this prefix."""
        return StoreFile(self.fs, f"{self.root}/{name}", self.uri_of(name), self.fail)


class StoreFile:
    """One object on a store mirrored by a local file (the manifest): fetched before a run
    looks at it, uploaded whole after each local write."""

    def __init__(self, fs: Any, key: str, shown: str, fail: Any) -> None:
        self.fs = fs
        self.key = key
        self.shown = shown
        self.fail = fail

    @classmethod
    def open(cls, uri: str, storage_options: Mapping[str, Any]) -> StoreFile:
        """The object at a store URI (the manifest anywhere else than the output prefix)."""
        secrets = secret_values(storage_options)
        shown = redacted(uri)

        def fail(doing: str, exc: BaseException, after: str = "") -> OutputError:
            text = store_error_text(exc, uri, secrets)
            return OutputError(f"manifest {shown}: {doing}: {text}", file=shown)

        try:
            fs, key = open_store(uri, storage_options)
        except Exception as exc:
            raise fail("cannot open it", exc) from None
        return cls(fs, key, shown, fail)

    def fetch(self, dest: Path) -> bool:
        """Copy the object to ``dest`` if it exists; whether it did."""
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(self.key, str(dest))
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise self.fail("cannot read the previous manifest", exc) from None
        return True

    def upload(self, local: Path) -> None:
        """Put the local file's bytes at the object (one PUT: readers see it whole)."""
        try:
            upload(self.fs, str(local), self.key)
        except Exception as exc:
            raise self.fail("cannot write the manifest", exc) from None
