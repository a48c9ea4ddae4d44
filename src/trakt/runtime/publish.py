"""Publishing a run's outputs so that a crash at any instant loses nothing.

At every instant the output dir holds either the complete previous set of published files
(outputs and ``_rejected/`` quarantine files) or the complete new one, counting the files a
journal names; the next run in the dir finishes or undoes an interrupted publish before it does
anything else (:func:`recover_publish`). The protocol is written down in ARCHITECTURE.md
("Publish protocol"):

1. every new file is complete in a temporary file, fsynced;
2. the journal ``.trakt-publish-<run>.json`` (state ``moving``: for each file its final name,
   its temporary name, and the backup name of the file it replaces) is written atomically and
   fsynced, with its directory;
3. each file being replaced is renamed to its backup; 4. each new file is renamed into place;
   the directories are fsynced;
5. the journal is rewritten with state ``committed`` — the commit point;
6. backups are deleted, then the journal.

Recovery: ``moving`` → roll back (backups renamed back, new files that replaced nothing
removed); ``committed`` → finish step 6. Both are idempotent, so a crash during recovery is
recovered by the next run too.

``TRAKT_FAULT_PUBLISH=<point>`` (test hook, read only by :func:`fault`) kills the process
with SIGKILL at one of :data:`FAULT_POINTS`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trakt.errors import OutputError
from trakt.runtime.outdir import TEMP_PREFIX

JOURNAL_PREFIX = ".trakt-publish-"
REJECTED_DIR = "_rejected"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
FAULT_POINTS = ("journal", "backup", "backups", "new", "moved", "committed", "cleaned")


def fault(point: str) -> None:
    """Crash-test hook: die here, outright, if the environment asks for this point (a
    store's publish, :mod:`trakt.runtime.store_publish`, has points of its own)."""
    if os.environ.get("TRAKT_FAULT_PUBLISH") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; the renames still happened
        pass
    finally:
        os.close(fd)


def _is_dir(path: Path) -> bool:
    """A real directory (not a link to one)."""
    return path.is_dir() and not path.is_symlink()


def _remove(path: Path) -> None:
    """Remove a published file, or a directory (a partitioned output) with its contents."""
    if _is_dir(path):
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    if _is_dir(path):  # a partitioned output: every file in it, then the directories
        for root, dirs, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root, name))
            for name in dirs:
                _fsync_dir(Path(root, name))
        _fsync_dir(path)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _write_journal(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # A new file, never one planted there: a link or a hard link would be written through.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def publish(output_dir: Path, run_id: str, pending: Mapping[str, Path]) -> None:
    """Move every temporary file (or directory: a partitioned output) in ``pending`` (final
    name in the output dir -> temporary one) into place, following the protocol above."""
    moves = [(tmp, output_dir / name) for name, tmp in pending.items()]
    for tmp, final in moves:
        if final.is_dir() and not _is_dir(tmp):
            raise OutputError(
                f"cannot publish {final}: a directory is in the way; remove or rename it",
                file=str(final),
            )
    if not moves:
        return
    entries: list[dict[str, Any]] = []
    for i, (tmp, final) in enumerate(moves):
        backup = final.with_name(f"{TEMP_PREFIX}{run_id}-old{i}") if _exists(final) else None
        entries.append(
            {
                "final": _rel(final, output_dir),
                "new": _rel(tmp, output_dir),
                "backup": None if backup is None else _rel(backup, output_dir),
            }
        )
    journal = output_dir / f"{JOURNAL_PREFIX}{run_id}.json"
    dirs = {output_dir, *(final.parent for _, final in moves)}
    try:
        for tmp, _ in moves:
            _fsync_file(tmp)
        _write_journal(journal, {"run_id": run_id, "state": "moving", "files": entries})
    except OSError as exc:
        journal.unlink(missing_ok=True)
        raise _cannot(output_dir, exc, "nothing was changed") from None
    fault("journal")
    try:
        for entry in entries:
            if entry["backup"] is not None:
                os.replace(output_dir / entry["final"], output_dir / entry["backup"])
                fault("backup")
        fault("backups")
        for entry in entries:
            os.replace(output_dir / entry["new"], output_dir / entry["final"])
            fault("new")
        for folder in dirs:
            _fsync_dir(folder)
        fault("moved")
        _write_journal(journal, {"run_id": run_id, "state": "committed", "files": entries})
    except OSError as exc:
        try:
            _roll_back(output_dir, entries)
            journal.unlink(missing_ok=True)
        except OSError:
            raise _cannot(
                output_dir, exc, f"the next run in {output_dir} restores the previous outputs"
            ) from None
        raise _cannot(output_dir, exc, "the previous outputs were restored") from None
    fault("committed")
    _finish(output_dir, journal, entries)


def recover_publish(output_dir: Path) -> list[dict[str, Any]]:
    """Finish or undo a publish that a crash interrupted (before anything else touches the
    dir; only called while holding its lock). What was done, for the manifest."""
    done = []
    for half_written in output_dir.glob(f"{JOURNAL_PREFIX}*.json.tmp"):
        try:
            half_written.unlink(missing_ok=True)  # never became a journal: nothing was moved
        except OSError as exc:  # a directory of that name, say: not Trakt's
            raise _unusable(half_written, exc.strerror or str(exc)) from None
    for journal in sorted(output_dir.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            data = json.loads(_read_journal(journal))
            state = data["state"]
            entries = [_checked(e, output_dir) for e in data["files"]]
            if state not in ("moving", "committed"):
                raise ValueError(f"unknown state {state!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _unusable(journal, str(exc)) from None
        try:
            if state == "committed":
                _finish(output_dir, journal, entries)
            else:
                _roll_back(output_dir, entries)
                for entry in entries:
                    (output_dir / entry["new"]).unlink(missing_ok=True)
                journal.unlink()
                _fsync_dir(output_dir)
        except OSError as exc:
            raise _cannot(output_dir, exc, f"its journal {journal.name} is kept") from None
        action = "completed" if state == "committed" else "rolled back"
        done.append({"run_id": data.get("run_id"), "action": action})
    return done


def _finish(output_dir: Path, journal: Path, entries: list[dict[str, Any]]) -> None:
    """After the commit point: the backups go, then the journal."""
    try:
        for entry in entries:
            if entry["backup"] is not None:
                _remove(output_dir / entry["backup"])
        fault("cleaned")
        journal.unlink(missing_ok=True)
        _fsync_dir(output_dir)
    except OSError:  # published already; the next run removes what is left
        pass


def _roll_back(output_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Before the commit point: put every previous file back, remove new ones that replaced
    nothing. Each case is decided from what is on disk, so this can be repeated."""
    for entry in reversed(entries):
        final = output_dir / entry["final"]
        new = output_dir / entry["new"]
        backup = None if entry["backup"] is None else output_dir / entry["backup"]
        if backup is not None:
            if _exists(backup) and (not _exists(new) or not _exists(final)):
                if _is_dir(final):  # a rename cannot replace a directory that has files
                    _remove(final)
                os.replace(backup, final)  # the previous file, over the new one if it moved in
        elif not _exists(new):
            _remove(final)  # the new file moved in where there was none
    for folder in {output_dir, *((output_dir / e["final"]).parent for e in entries)}:
        _fsync_dir(folder)


def _rel(path: Path, output_dir: Path) -> str:
    return path.relative_to(output_dir).as_posix()


def _read_journal(journal: Path) -> str:
    """The journal's text; it must be a regular file of its own (a link is never followed)."""
    try:
        fd = os.open(journal, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP or journal.is_symlink():
            raise ValueError("it is a symbolic link") from None
        raise
    with open(fd, encoding="utf-8") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("it is not a regular file")
        return handle.read(64 << 20)


def _checked(entry: Any, output_dir: Path) -> dict[str, Any]:
    """A journal entry naming only places Trakt publishes to: ``<name>`` or
    ``_rejected/<name>`` in the output dir, through no link; anything else is not acted on."""
    names = [entry["final"], entry["new"], entry["backup"]]
    if names[0] is None or names[1] is None:
        raise ValueError("an entry without its final or new name")
    for name in names:
        if name is None:
            continue
        parts = name.split("/") if isinstance(name, str) else [""]
        if not (
            (len(parts) == 1 or (len(parts) == 2 and parts[0] == REJECTED_DIR))
            and parts[-1] not in ("", ".", "..")
            and "\0" not in str(name)
        ):
            raise ValueError(
                f"file name {name!r} is not one Trakt publishes to "
                f"(<name> or {REJECTED_DIR}/<name> in the output dir)"
            )
        if len(parts) == 2:
            try:
                mode = (output_dir / REJECTED_DIR).lstat().st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(mode):  # a link to a directory elsewhere, or not a directory
                raise ValueError(f"{output_dir / REJECTED_DIR} is not a directory of its own")
    return {"final": names[0], "new": names[1], "backup": names[2]}


def _unusable(journal: Path, why: str) -> OutputError:
    return OutputError(
        f"publish journal {journal} of an interrupted run cannot be used ({why}); Trakt did not "
        "act on it: check the outputs in this dir by hand, then delete the journal",
        file=str(journal),
    )


def _cannot(output_dir: Path, exc: OSError, after: str) -> OutputError:
    return OutputError(
        f"cannot publish outputs in {output_dir}: {exc.strerror or exc}; {after}",
        file=str(output_dir),
    )
