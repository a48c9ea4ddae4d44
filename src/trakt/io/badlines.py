"""Malformed CSV rows: find them with their line numbers, and set them aside.

pyarrow's fast parser does not report line numbers once quoted line breaks are allowed, so
this module re-reads a file record by record (RFC 4180: a record goes on while its quotes are
unbalanced) in bounded memory. It runs only where needed: to locate the first bad row when
the fast reader failed (``on_bad_lines: error``), or to write a clean copy of a file whose
input asked for ``skip`` or ``quarantine``.

Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``, as pyarrow and Python's ``csv`` module
read them. A quoted field may span lines, but not without bound: one stray quote would
otherwise swallow every line up to the next quote into one field. A record that is still
inside quotes after ``max_field_lines`` lines (or ``max_field_bytes``), or at the end of the
file, is bad; only its first line is set aside and reading goes on from the next line.

The file must be in an encoding where quotes, delimiters and line breaks are single ASCII
bytes (UTF-8, Latin-1, cp1252, ...); others are transcoded to UTF-8 first
(:mod:`trakt.io.encodings`). Undecodable bytes are kept (``surrogateescape``), so a clean copy
holds exactly the bytes of the good records.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from trakt.errors import InputError

# Huge fields are fine (the fast reader takes them too); the csv module's default cap is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
MAX_FIELD_LINES = 100
MAX_FIELD_BYTES = 16 << 20


@dataclass(frozen=True)
class BadLine:
    file: str
    line: int  # 1-based line where the record starts
    raw: bytes
    reason: str


@dataclass(frozen=True)
class Dialect:
    """What the careful re-read needs of an input's reader options."""

    encoding: str
    declared: str  # the user's encoding, where the file was transcoded to a UTF-8 copy
    delimiter: str
    quotechar: str
    escapechar: str | None
    skiprows: int
    max_lines: int
    max_bytes: int

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Dialect:
        return cls(
            encoding=str(options.get("encoding") or "utf-8"),
            declared=str(options.get("transcoded_from") or options.get("encoding") or "utf-8"),
            delimiter=str(options.get("sep") or options.get("delimiter") or ","),
            quotechar=str(options.get("quotechar") or '"'),
            escapechar=str(options["escapechar"]) if options.get("escapechar") else None,
            skiprows=int(options.get("skiprows") or 0),
            max_lines=int(options.get("max_field_lines") or MAX_FIELD_LINES),
            max_bytes=int(options.get("max_field_bytes") or MAX_FIELD_BYTES),
        )

    @property
    def read_encoding(self) -> str:
        name = self.encoding.lower().replace("_", "-")
        # A BOM is not part of the first field.
        return "utf-8-sig" if name in ("utf-8", "utf8") else self.encoding


def _ends_inside(line: str, inside: bool, d: Dialect) -> bool | None:
    """Whether ``line`` ends inside a quoted field. As RFC 4180 (and pyarrow) read it: a
    quote opens a field only at its start; inside, a doubled quote is a literal quote.

    None when a quote inside a quoted field is followed by anything but a quote, the
    delimiter or the line end: pyarrow would drop that quote and read on, so ``"ab"c`` loses
    a character and ``"Smith ... Brown" Jr`` merges every line in between into one value."""
    q, e, sep = d.quotechar, d.escapechar, d.delimiter
    field_start = not inside
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if inside:
            if c == e:
                i += 2
                continue
            if c == q:
                after = line[i + 1] if i + 1 < n else ""
                if after == q:
                    i += 2
                    continue
                if after not in ("", sep, "\r", "\n"):
                    return None
                inside = False
        else:
            if c == q and field_start:
                inside = True
            field_start = c == sep
        i += 1
    return inside


AFTER_QUOTE = (
    "a quote inside the quoted field opened here is followed by other text (a quote in a "
    "quoted field must be doubled, or close it just before the delimiter or the line end; "
    "a stray quote?)"
)
STRAY_CR = (
    "a stray carriage return (\\r) splits this record: the file's lines end with \\n, but "
    "this line has a lone \\r outside quotes; remove it, or quote the field that holds it"
)


def _size(parts: list[str]) -> int:
    return sum(len(p.encode("utf-8", "surrogateescape")) for p in parts)


def _records(lines: Iterator[tuple[int, str]], d: Dialect) -> Iterator[tuple[int, str, str | None]]:
    """(first line number, text, problem or None) for every record; blank lines skipped."""
    again: deque[tuple[int, str]] = deque()  # lines to read once more after a bad record
    newline_file: bool | None = None  # the header's line end decides: \n / \r\n, or \r

    def following() -> tuple[int, str] | None:
        return again.popleft() if again else next(lines, None)

    while (item := following()) is not None:
        start, line = item
        if not line.strip("\r\n"):
            continue
        parts = [line]
        inside = _ends_inside(line, False, d) if d.quotechar in line else False
        problem = None if inside is not None else AFTER_QUOTE
        while inside:
            nxt = following()
            if nxt is None:
                problem = "unterminated quote: the quoted field runs to the end of the file"
                break
            parts.append(nxt[1])
            if d.quotechar in nxt[1]:
                inside = _ends_inside(nxt[1], True, d)
                if inside is None:
                    problem = AFTER_QUOTE
                    break
            if inside and len(parts) >= d.max_lines:
                problem = (
                    f"a quoted field opened here runs over more than {d.max_lines} lines "
                    "(a stray quote?); fix the quoting, or raise options.max_field_lines"
                )
                break
            if inside and _size(parts) > d.max_bytes:
                problem = (
                    f"a quoted field opened here runs over more than {d.max_bytes} bytes "
                    "(a stray quote?); fix the quoting, or raise options.max_field_bytes"
                )
                break
        if problem is not None:  # set aside the first line only; the lines after it are read again
            again.extendleft(reversed([(start + 1 + i, p) for i, p in enumerate(parts[1:])]))
            yield start, line, problem
            continue
        if newline_file is None:
            newline_file = parts[-1].endswith("\n")
        elif newline_file and parts[-1].endswith("\r") and (nxt := following()) is not None:
            # A lone \r in a \n file: readers end a record there, splitting it in two.
            # The record goes on to the file's own line end, and is set aside whole.
            parts.append(nxt[1])
            while parts[-1].endswith("\r") and len(parts) < d.max_lines:
                if (nxt := following()) is None:
                    break
                parts.append(nxt[1])
            yield start, "".join(parts), STRAY_CR
            continue
        yield start, "".join(parts), None


def _numbered(handle: IO[str], first: int) -> Iterator[tuple[int, str]]:
    yield from enumerate(handle, start=first)


def _fields(text: str, d: Dialect) -> int:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=d.delimiter,
        quotechar=d.quotechar,
        escapechar=d.escapechar,
        strict=False,
    )
    try:
        return len(next(reader, []))
    except csv.Error:
        return -1


def _raw(text: str, d: Dialect) -> bytes:
    return text.encode(d.encoding if d.read_encoding != "utf-8-sig" else "utf-8", "surrogateescape")


def scan(
    path: Path, options: Mapping[str, Any], shown: str | None = None
) -> Iterator[tuple[bytes, BadLine | None]]:
    """Every record of ``path`` with the problem it has, if any (the header included).

    Lines before the header (``skiprows``) come first, unchecked, so a clean copy keeps them
    and reads the same way; line numbers count them."""
    d = Dialect.of(options)
    for _, text, bad in _checked(path, options, shown or str(path)):
        yield (bad.raw if bad is not None else _raw(text, d)), bad


def _checked(
    path: Path, options: Mapping[str, Any], name: str
) -> Iterator[tuple[int, str, BadLine | None]]:
    """(first line, text, problem) of every record, the skipped lines first."""
    d = Dialect.of(options)
    expected: int | None = None
    with open(path, encoding=d.read_encoding, errors="surrogateescape", newline="") as handle:
        for number in range(1, d.skiprows + 1):
            yield number, handle.readline(), None
        for line, text, problem in _records(_numbered(handle, d.skiprows + 1), d):
            if problem is not None:
                yield line, text, BadLine(name, line, _raw(text, d), problem)
                continue
            undecodable = _undecodable(text)
            if undecodable is not None:
                reason = f"bytes not valid {d.declared} at column {undecodable + 1}"
                yield line, text, BadLine(name, line, _raw(text, d), reason)
                continue
            count = _fields(text.rstrip("\r\n"), d)
            if expected is None:
                expected = count
                yield line, text, None
            elif count != expected:
                reason = f"expected {expected} fields, found {count}"
                yield line, text, BadLine(name, line, _raw(text, d), reason)
            else:
                yield line, text, None


def _undecodable(text: str) -> int | None:
    """The position of the first byte that did not decode (kept as a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def first_bad_line(
    path: Path, options: Mapping[str, Any], shown: str | None = None
) -> BadLine | None:
    for _, bad in scan(path, options, shown):
        if bad is not None:
            return bad
    return None


def record_line(path: Path, options: Mapping[str, Any], index: int) -> int | None:
    """The line where data record ``index`` (0-based, after the header) starts."""
    d = Dialect.of(options)
    with open(path, encoding=d.read_encoding, errors="surrogateescape", newline="") as handle:
        for _ in range(d.skiprows):
            handle.readline()
        for i, (line, _, _) in enumerate(_records(_numbered(handle, d.skiprows + 1), d)):
            if i == index + 1:
                return line
    return None


def good_record_lines(path: Path, options: Mapping[str, Any], indices: set[int]) -> dict[int, int]:
    """Line numbers of the well-formed data records at ``indices`` (0-based, counting only
    well-formed records after the header: the records a clean copy keeps, in order)."""
    found: dict[int, int] = {}
    if not indices:
        return found
    skip = Dialect.of(options).skiprows
    index = -1  # the header is not a data record
    for position, (line, _, bad) in enumerate(_checked(path, options, str(path))):
        if position < skip or bad is not None:
            continue
        if index in indices:
            found[index] = line
        index += 1
        if len(found) == len(indices):
            break
    return found


@dataclass(frozen=True)
class Cleaned:
    """What a clean copy kept and set aside (records exclude the header)."""

    records: int
    bad: list[BadLine]


def clean_copy(path: Path, dest: Path, options: Mapping[str, Any], shown: str) -> Cleaned:
    """Write the well-formed records of ``path`` to ``dest``, blank lines in place of the
    others (so every line keeps its number); count and return the others."""
    bad: list[BadLine] = []
    records = -1  # the header is not a record
    skip = Dialect.of(options).skiprows
    with open(dest, "wb") as out:
        for i, (raw, problem) in enumerate(scan(path, options, shown)):
            if i >= skip:
                records += 1
            if problem is not None and records == 0:  # the header: nothing reads without it
                raise InputError(
                    f"{shown}:{problem.line}: the header is malformed: {problem.reason}; fix "
                    "the header line (on_bad_lines sets aside data records only)",
                    file=shown,
                    line=problem.line,
                )
            if problem is None:
                out.write(raw if raw.endswith((b"\n", b"\r")) else raw + b"\n")
            else:  # blank lines in its place (readers skip them): line numbers stay the same
                out.write(b"\n" * max(1, _breaks(problem.raw)))
                bad.append(problem)
    return Cleaned(max(records, 0), bad)


def _breaks(raw: bytes) -> int:
    return raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")


def write_rejected(dest: Path, bad: list[BadLine], encoding: str) -> None:
    """The quarantine file: file, line, reason and the raw text of each rejected record."""
    # The csv module quotes a field only for the characters of its line terminator: with
    # "\r\n" a raw record holding a lone \r is quoted too; each row then ends with "\n".
    row = io.StringIO()
    writer = csv.writer(row, lineterminator="\r\n")
    with open(dest, "w", encoding="utf-8", newline="") as out:
        for fields in [["file", "line", "reason", "raw"]] + [
            [b.file, b.line, b.reason, b.raw.decode(encoding, "backslashreplace").rstrip("\r\n")]
            for b in bad
        ]:
            row.seek(0)
            row.truncate()
            writer.writerow(fields)
            out.write(row.getvalue()[:-2] + "\n")


def rejected_file_name(name: str) -> str:
    """The quarantine file of input or output ``name`` (in ``_rejected/``)."""
    return f"{name}.csv"
