"""Where a command's text goes: ``-o FILE``, or standard output."""

from __future__ import annotations

import sys

from trakt.errors import EXIT_OK, EXIT_RUN_FAILED


def write_text(text: str, path: str | None) -> int:
    """Write ``text`` to ``path`` (UTF-8), or to stdout when ``path`` is None or ``-``; the
    exit code (a file that cannot be written is reported on stderr, exit 1)."""
    if path is None or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return EXIT_OK
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        print(
            f"cannot write {path}: {exc.strerror or exc}; check that its directory exists and "
            "is writable, or leave out -o to print to standard output",
            file=sys.stderr,
        )
        return EXIT_RUN_FAILED
    return EXIT_OK
