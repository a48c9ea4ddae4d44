"""An input's CSV files before the fast reader sees them: decompressed (``.gz``, ``.bz2``,
``.zst``, ``.xz``; :mod:`trakt.io.compression`), transcoded to UTF-8 where bytes would mislead
(:mod:`trakt.io.encodings`), and malformed records set aside (``on_bad_lines: skip |
quarantine``, :mod:`trakt.io.badlines`), within the input's ``max_bad_lines``.

Copies go to the run's scratch dir (``new_file`` creates one there) and keep the user's file
as ``origin``, so every error names the user's file; transcoding keeps line breaks, so line
numbers stay the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from trakt.errors import InputError, OutputError
from trakt.io.badlines import BadLine, clean_copy, good_record_lines
from trakt.io.compression import codec_of, decompress
from trakt.io.csv_errors import fail
from trakt.io.encodings import ascii_safe, effective, to_utf8
from trakt.io.registry import ReadRequest
from trakt.io.sources import FileCounts, InputFiles, Prepared, SourceFile

DEFAULT_MAX_BAD_LINES = 1000


class _Input(Protocol):
    @property
    def artifact(self) -> str: ...
    @property
    def files(self) -> list[SourceFile]: ...
    @property
    def options(self) -> dict[str, Any]: ...


InputT = TypeVar("InputT", bound=_Input)


@contextmanager
def _reading(artifact: str, f: SourceFile) -> Iterator[None]:
    """An OS error on the user's file is that input's error, worded as a read's; one on the
    scratch copy is the output dir's."""
    try:
        yield
    except InputError as exc:
        exc.fields.setdefault("artifact", artifact)
        raise
    except OSError as exc:
        if exc.filename is not None and Path(exc.filename) != f.path:
            raise OutputError(
                f"cannot write the scratch copy {exc.filename} of {f.shown}: {exc.strerror or exc}",
                file=str(exc.filename),
            ) from None
        error = fail(ReadRequest(f.path, {}, origin=f.origin), exc)
        error.fields.setdefault("artifact", artifact)
        raise error from None


def decompressed(source: InputT, new_file: Callable[[str], Path], prefix: str) -> InputT:
    """``source`` with every compressed file (by its extension: ``data.csv.gz``) replaced by
    a decompressed copy in the scratch dir; the copy keeps the user's file as ``origin``, so
    errors and line numbers name it. Files without a compression extension stay as they are."""
    from dataclasses import replace

    files: list[SourceFile] = []
    for i, f in enumerate(source.files):
        codec = codec_of(f.origin or f.path)
        if codec is None:
            files.append(f)
            continue
        dest = new_file(f"{prefix}-{i}-decompressed.csv")
        with _reading(source.artifact, f):
            decompress(f.path, codec, dest, f.shown)
        files.append(SourceFile(dest, f.shown, f.size, f.origin or str(f.path)))
    if all(a is b for a, b in zip(files, source.files, strict=True)):
        return source
    return replace(source, files=files)  # type: ignore[type-var]


def to_utf8_where_needed(
    source: InputT, new_file: Callable[[str], Path], prefix: str, keep_bad: bool = False
) -> InputT:
    """``source`` with compressed files decompressed (:func:`decompressed`), then every file
    whose encoding is not ASCII-safe (UTF-16/32, Shift-JIS, a UTF-16/32 BOM with no
    ``encoding`` given, ...) replaced by a UTF-8 copy; ``keep_bad`` (``on_bad_lines: skip |
    quarantine``) keeps undecodable bytes for the scan to set aside."""
    from dataclasses import replace

    source = decompressed(source, new_file, prefix)
    declared = source.options.get("encoding")
    files: list[SourceFile] = []
    changed = False
    for i, f in enumerate(source.files):
        with _reading(source.artifact, f):
            encoding = effective(f.path, declared)
        if ascii_safe(encoding):
            files.append(f)
            continue
        dest = new_file(f"{prefix}-{i}-utf8.csv")
        with _reading(source.artifact, f):
            to_utf8(f.path, encoding, dest, str(f.path), keep_bad)
        files.append(SourceFile(dest, f.shown, f.size, f.origin or str(f.path)))
        changed = True
    if not changed:
        return source
    options: dict[str, Any] = {**source.options, "encoding": "utf-8"}
    if declared:  # every file was transcoded: messages about the copy's bytes name it
        options["transcoded_from"] = str(declared)
    return replace(source, files=files, options=options)  # type: ignore[type-var]


def limit_for(max_bad_lines: int | float | str, records: int) -> int:
    """How many set-aside records an input may have: an int is a count, a float a share of
    its records (``1.0`` is all of them, as validation says), a string a percentage."""
    if isinstance(max_bad_lines, str):
        return math.floor(float(max_bad_lines.strip().rstrip("%")) / 100 * records)
    if isinstance(max_bad_lines, float):
        return math.floor(max_bad_lines * records)
    return int(max_bad_lines)


def set_aside_bad_lines(
    source: _Input, new_file: Callable[[str], Path], max_bad_lines: int | float | str, prefix: str
) -> tuple[list[SourceFile], list[BadLine], dict[str, FileCounts]]:
    """Clean copies of ``source``'s files, the records set aside, and per-file counts.

    More set-aside records than ``max_bad_lines`` fail the run: a file that is mostly
    malformed (a wrong delimiter, a wrong encoding) is not published gutted."""
    clean: list[SourceFile] = []
    bad: list[BadLine] = []
    counts: dict[str, FileCounts] = {}
    for i, f in enumerate(source.files):
        dest = new_file(f"{prefix}-{i}.csv")
        with _reading(source.artifact, f):
            cleaned = clean_copy(f.path, dest, source.options, f.shown)
        bad += cleaned.bad
        counts[f.shown] = FileCounts(cleaned.records, len(cleaned.bad))
        clean.append(SourceFile(dest, f.shown, f.size, f.origin or str(f.path)))
    records = sum(c.records for c in counts.values())
    limit = limit_for(max_bad_lines, records)
    if len(bad) > limit:
        worst = max(counts.items(), key=lambda item: item[1].set_aside)
        per_file = ", ".join(f"{n}: {c.set_aside} of {c.records}" for n, c in counts.items())
        raise InputError(
            f"input '{source.artifact}': {len(bad)} of {records} records are malformed, more "
            f"than max_bad_lines ({max_bad_lines!r}, here {limit}); nothing was published "
            f"({per_file}). The first is {bad[0].file}:{bad[0].line}: {bad[0].reason}. Check "
            "the file (delimiter, encoding, quoting), or raise max_bad_lines on this input",
            artifact=source.artifact,
            file=worst[0],
            line=bad[0].line,
            count=len(bad),
        )
    return clean, bad, counts


def locate_rows(
    rows: list[BadLine],
    files: list[SourceFile],
    rows_per_file: Mapping[str, int],
    options: Mapping[str, Any],
) -> list[BadLine]:
    """Rows numbered across an input's files (line = index + 2, as data contracts number
    them) given their own file and their line in it (quoted line breaks counted)."""
    if not rows:
        return rows
    wanted: dict[int, list[tuple[int, BadLine]]] = {}
    offset = 0
    bounds: list[tuple[int, int, SourceFile]] = []
    for f in files:
        count = rows_per_file.get(f.shown, 0)
        bounds.append((offset, offset + count, f))
        offset += count
    located: list[BadLine] = []
    for position, row in enumerate(rows):
        index = row.line - 2
        for i, (start, end, _) in enumerate(bounds):
            if start <= index < end:
                wanted.setdefault(i, []).append((position, row))
                break
        else:
            located.append(row)
    for i, items in wanted.items():
        start, _, f = bounds[i]
        lines = good_record_lines(f.path, options, {row.line - 2 - start for _, row in items})
        for _, row in items:
            line = lines.get(row.line - 2 - start, row.line - start)
            located.append(BadLine(f.shown, line, row.raw, row.reason))
    return located


def prepare(inp: InputFiles, new_file: Callable[[str], Path]) -> Prepared:
    """An input's CSV files made ready for the fast reader: UTF-8 copies where needed, and
    (``on_bad_lines: skip | quarantine``) malformed records set aside."""
    keep_bad = inp.on_bad_lines != "error"
    converted = to_utf8_where_needed(inp, new_file, inp.prefix, keep_bad=keep_bad)
    if not keep_bad:
        return Prepared(converted.files, converted.options)
    clean, bad, counts = set_aside_bad_lines(converted, new_file, inp.max_bad_lines, inp.prefix)
    return Prepared(clean, converted.options, bad, counts, scanned=converted.files)
