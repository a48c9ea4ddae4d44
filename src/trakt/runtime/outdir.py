"""One run at a time per output directory, and what a crashed run left behind.

The lock is an ``flock`` on ``<output-dir>/.trakt.lock``: the kernel releases it when the
process dies, however it dies, so a crashed run never leaves the directory stuck. The file's
text names the run holding it, for the message a second run gets. A run that ends removes the
file while still holding the lock; one that opened it just before then finds, once it holds
the lock, that the name no longer leads to the file it locked, and starts over on the new
one. So the file is left behind only by a run whose process was ended (killed, or a step
that never stops its timeout); the next run takes it over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
from pathlib import Path
from typing import IO, Any

from trakt.errors import OutputError, TraktError
from trakt.runtime.safefs import open_regular

LOCK_NAME = ".trakt.lock"
TEMP_PREFIX = ".trakt-tmp-"
RESERVED_PREFIX = ".trakt-"  # temporary files, publish journals: the next run acts on them
NAME_MAX = 255  # bytes in one file name on the usual file systems


class OutputDirLocked(TraktError):
    """Another run is writing into the same output directory."""


class OutputDirLock:
    def __init__(self, output_dir: Path, run_id: str) -> None:
        self.path = output_dir / LOCK_NAME
        self.run_id = run_id
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        while True:
            handle = self._open()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another run"
                handle.close()
                raise OutputDirLocked(
                    f"output dir {self.path.parent} is in use by {holder}; wait for it to "
                    "finish or choose another --output-dir",
                    file=str(self.path.parent),
                ) from None
            if self._still_named(handle):
                break
            handle.close()  # the run before removed it between our open and our lock
        handle.seek(0)
        handle.truncate()
        handle.write(f"run {self.run_id} (pid {os.getpid()})\n")
        handle.flush()
        self._file = handle

    def _open(self) -> IO[str]:
        try:
            # Never through a link: truncating below would empty the link's target.
            fd = open_regular(self.path, "the lock file")
            return open(fd, "r+", encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"cannot use output dir {self.path.parent}: {exc.strerror or exc}",
                file=str(self.path.parent),
            ) from None

    def _still_named(self, handle: IO[str]) -> bool:
        """Whether the lock file's name still leads to the file ``handle`` has open."""
        try:
            named = os.lstat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(handle.fileno())
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def release(self) -> None:
        if self._file is not None:
            # Removed while held, so no run can lock the file once it is nameless but unseen.
            if self._still_named(self._file):
                with contextlib.suppress(OSError):  # left behind: the next run takes it over
                    os.unlink(self.path)
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def stale_run(manifest_path: Path) -> dict[str, Any] | None:
    """The previous run recorded at ``manifest_path`` if it never finished (killed)."""
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") != "running":
        return None
    return {"run_id": data.get("run_id"), "started_at": data.get("started_at")}


def foreign_file(manifest_path: Path) -> bool:
    """Whether ``manifest_path`` holds something other than a Trakt manifest (an output or an
    input named by mistake), which a run that never started must not replace."""
    try:
        if manifest_path.stat().st_size > 64 << 20:  # far larger than any manifest
            return True
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return not (isinstance(data, dict) and "manifest_version" in data)


def unusable_manifest_path(manifest_path: Path, output_dir: Path) -> str | None:
    """Why no manifest can be written at ``manifest_path`` (told before anything runs, rather
    than a run whose status is not recorded, or a name a later run would act on), or None."""
    name = manifest_path.name
    if name.startswith(RESERVED_PREFIX) or name == LOCK_NAME:
        return (
            f"names starting with '{RESERVED_PREFIX}' and '{LOCK_NAME}' are reserved for "
            "Trakt's own files (a later run would take it for one of them)"
        )
    size = len(os.fsencode(name))
    if size > NAME_MAX:
        return f"its file name is {size} bytes long; at most {NAME_MAX} fit"
    try:
        where = manifest_path.absolute().parent.resolve()
        rejected = output_dir.absolute().resolve() / "_rejected"
        if where == rejected or where.is_relative_to(rejected):
            return "the output dir's _rejected/ holds only quarantine files"
        if manifest_path.exists() and not manifest_path.is_file():
            kind = "a directory" if manifest_path.is_dir() else "not a regular file"
            return f"it is {kind}, where the manifest must be a file"
        for parent in manifest_path.absolute().parents:
            try:
                mode = parent.stat().st_mode
            except (FileNotFoundError, NotADirectoryError):
                continue  # created when the manifest is written, up to one that exists
            if not stat.S_ISDIR(mode):
                return f"{parent} is not a directory"
            break
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def remove_leftovers(output_dir: Path) -> list[str]:
    """Delete temporary files of earlier runs (only ever called while holding the lock)."""
    removed = []
    rejected = output_dir / "_rejected"
    found = sorted(output_dir.glob(f"{TEMP_PREFIX}*"))
    if rejected.is_dir() and not rejected.is_symlink():  # never look through a link
        found += sorted(rejected.glob(f"{TEMP_PREFIX}*"))
    for path in found:
        try:
            if path.is_dir() and not path.is_symlink():  # a link is removed, never followed
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:  # left for a later run: it only takes room, and the run goes on
            continue
        removed.append(str(path.relative_to(output_dir)))
    return removed
