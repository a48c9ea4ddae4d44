"""Creating files and directories in the output dir without following symbolic links.

Whatever Trakt creates or truncates there must be its own: a link planted at one of its paths
(``.trakt.lock``, ``_rejected``, a temporary file) would send writes to the link's target.
Those paths are opened with ``O_NOFOLLOW`` / ``O_EXCL`` and checked with ``lstat``; a link is
refused with an :class:`~trakt.errors.OutputError` naming it, and so is a file written in place
(the lock) that has another, hard-linked, name. Renames (``os.replace``) act on
a link itself, never on its target, so publishing over a link is safe.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from trakt.errors import OutputConflict, OutputError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def link_refused(path: Path, what: str) -> OutputError:
    """The error for a symbolic link found where Trakt writes."""
    return OutputError(
        f"{what} {path} is a symbolic link; Trakt does not write through links it did not "
        "create: remove the link (or choose another --output-dir)",
        file=str(path),
    )


def open_regular(path: Path, what: str) -> int:
    """Open (creating if absent) the regular file ``path`` for reading and writing; return
    the descriptor. A link, a file with other (hard-linked) names, or anything but a regular
    file there is refused."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise link_refused(path, what) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OutputError(f"{what} {path} is not a regular file; remove it", file=str(path))
    if info.st_nlink > 1:  # a hard link: writing in place would change the other file too
        os.close(fd)
        raise OutputError(
            f"{what} {path} is a hard link to another file ({info.st_nlink} names); Trakt does "
            "not write into a file that has other names: remove it (the other names keep "
            "their content)",
            file=str(path),
        )
    os.set_blocking(fd, True)
    return fd


def create_new(path: Path, what: str) -> Path:
    """Create ``path`` as a new empty file of this run (never through a link) and return it.

    A regular file already there is a leftover of an earlier run with the same run id and is
    replaced; a link is refused."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(2):
        try:
            os.close(os.open(path, flags, 0o666))
            return path
        except FileExistsError:
            if path.is_symlink() or not path.is_file():
                raise (
                    link_refused(path, what)
                    if path.is_symlink()
                    else OutputError(f"{what} {path} is in the way; remove it", file=str(path))
                ) from None
            path.unlink()
        except OSError as exc:  # ENAMETOOLONG, EACCES, ENOSPC...: name the file and why
            raise OutputError(
                f"cannot create {what} {path}: {exc.strerror or exc}", file=str(path)
            ) from None
    raise OutputError(f"cannot create {what} {path}: it keeps reappearing", file=str(path))


def ensure_dir(path: Path, what: str) -> Path:
    """Make sure ``path`` is a real directory (created if absent), not a link to one."""
    with contextlib.suppress(FileExistsError):
        path.mkdir()
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        raise link_refused(path, what)
    if not stat.S_ISDIR(mode):
        raise OutputError(f"{what} {path} is not a directory; remove it", file=str(path))
    return path


def places(path: Path) -> set[Path]:
    """Where writing ``path`` may really land: its own name in its real directory (a rename
    replaces a link there) and, when it is a link, the link's target (an open follows it)."""
    absolute = path.absolute()  # not abspath: 'link/..' must go where the kernel goes
    return {absolute.parent.resolve() / absolute.name, absolute.resolve()}


def distinct_places(targets: list[tuple[Path, str]]) -> dict[Path, str]:
    """Each place (see :func:`places`) of each (path, what is written there); two targets at
    one place would overwrite each other: :class:`OutputConflict` naming both."""
    found: dict[Path, tuple[Path, str]] = {}
    for path, what in targets:
        for place in places(path):
            other = found.setdefault(place, (path, what))
            if other[1] != what:
                manifest = "the manifest" in (what, other[1])
                raise OutputConflict(
                    f"{other[1]} ({other[0]}) and {what} ({path}) would be written to the same "
                    f"file {place}; choose another "
                    f"{'--manifest-path' if manifest else 'output or input name'}",
                    file=str(place),
                    target="manifest" if manifest else "output",
                )
    return {place: what for place, (_, what) in found.items()}
