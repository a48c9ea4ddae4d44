"""Malformed CSV rows: find them with their line numbers, and set them aside.

pyarrow's fast parser does not report line numbers once quoted line breaks are allowed, so
this module re-reads a file record by record (RFC 4180: a record goes on while its quotes are
unbalanced) in bounded memory. It runs only where needed: to locate the first bad row when
the fast reader failed (``on_bad_lines: error``), or to write a clean copy of a file whose
input asked for ``skip`` or ``quarantine``. Encodings must be ASCII-compatible (UTF-8,
Latin-1, cp1252, ...), which is what line-based CSV files are in practice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLICIES = ("error", "skip", "quarantine")


@dataclass(frozen=True)
class BadLine:
    file: str
    line: int  # 1-based line where the record starts
    raw: bytes
    reason: str


@dataclass(frozen=True)
class _Dialect:
    encoding: str
    delimiter: str
    quotechar: str
    escapechar: str | None
    skiprows: int

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> _Dialect:
        return cls(
            encoding=str(options.get("encoding") or "utf-8"),
            delimiter=str(options.get("sep") or options.get("delimiter") or ","),
            quotechar=str(options.get("quotechar") or '"'),
            escapechar=str(options["escapechar"]) if options.get("escapechar") else None,
            skiprows=int(options.get("skiprows") or 0),
        )


def _records(
    handle: io.BufferedReader,
    quote: bytes,
    escape: bytes | None,
    delimiter: bytes,
    line_no: int = 0,
) -> Iterator[tuple[int, bytes, bool]]:
    """(first line number, raw bytes, complete?) for every record; blank lines skipped.

    A record goes on while a quoted field is open."""
    start = 0
    parts: list[bytes] = []
    inside = False
    q, e, d = quote[0], (escape[0] if escape else None), delimiter[0]
    for line in handle:
        line_no += 1
        if not parts:
            start = line_no
            if not line.strip(b"\r\n"):
                continue
        parts.append(line)
        if quote in line:
            inside = _ends_inside(line, inside, q, e, d)
        if not inside:
            yield start, b"".join(parts), True
            parts = []
    if parts:
        yield start, b"".join(parts), False


def _ends_inside(line: bytes, inside: bool, q: int, e: int | None, d: int) -> bool:
    """Whether ``line`` ends inside a quoted field. As RFC 4180 (and pyarrow) read it: a
    quote opens a field only at its start; inside, a doubled quote is a literal quote."""
    field_start = not inside
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if inside:
            if c == e:
                i += 2
                continue
            if c == q:
                if i + 1 < n and line[i + 1] == q:
                    i += 2
                    continue
                inside = False
        else:
            if c == q and field_start:
                inside = True
            field_start = c == d
        i += 1
    return inside


def _fields(text: str, dialect: _Dialect) -> int:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=dialect.delimiter,
        quotechar=dialect.quotechar,
        escapechar=dialect.escapechar,
    )
    return len(next(reader, []))


def scan(
    path: Path, options: Mapping[str, Any], shown: str | None = None
) -> Iterator[tuple[bytes, BadLine | None]]:
    """Every record of ``path`` with the problem it has, if any (the header included).

    Lines before the header (``skiprows``) come first, unchecked, so a clean copy keeps them
    and reads the same way; line numbers count them."""
    dialect = _Dialect.of(options)
    name = shown or str(path)
    expected: int | None = None
    encoding = dialect.encoding.lower().replace("_", "-")
    if encoding in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a BOM is not part of the first field
    escape = dialect.escapechar.encode("ascii") if dialect.escapechar else None
    with open(path, "rb") as handle:
        for _ in range(dialect.skiprows):
            yield handle.readline(), None
        records = _records(
            handle,
            dialect.quotechar.encode("ascii"),
            escape,
            dialect.delimiter.encode("ascii"),
            dialect.skiprows,
        )
        for line, raw, complete in records:
            if not complete:
                yield raw, BadLine(name, line, raw, "unterminated quote: the quoted field runs "
                                   "to the end of the file")  # fmt: skip
                return
            try:
                text = raw.decode(encoding if expected is None else dialect.encoding)
            except UnicodeDecodeError as exc:
                reason = f"bytes not valid {dialect.encoding} at column {exc.start + 1}"
                yield raw, BadLine(name, line, raw, reason)
                continue
            count = _fields(text.rstrip("\r\n"), dialect)
            if expected is None:
                expected = count
                yield raw, None
            elif count != expected:
                yield raw, BadLine(name, line, raw, f"expected {expected} fields, found {count}")
            else:
                yield raw, None


def first_bad_line(path: Path, options: Mapping[str, Any]) -> BadLine | None:
    for _, bad in scan(path, options):
        if bad is not None:
            return bad
    return None


def clean_copy(path: Path, dest: Path, options: Mapping[str, Any], shown: str) -> list[BadLine]:
    """Write the well-formed records of ``path`` to ``dest``; return the others."""
    bad: list[BadLine] = []
    with open(dest, "wb") as out:
        for raw, problem in scan(path, options, shown):
            if problem is None:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
            else:
                bad.append(problem)
    return bad


def write_rejected(dest: Path, bad: list[BadLine], encoding: str) -> None:
    """The quarantine file: file, line, reason and the raw text of each rejected record."""
    with open(dest, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "line", "reason", "raw"])
        for b in bad:
            raw = b.raw.decode(encoding, errors="backslashreplace").rstrip("\r\n")
            writer.writerow([b.file, b.line, b.reason, raw])


def unbalanced_quotes(path: Path, options: Mapping[str, Any]) -> bool:
    """A fast first look (bytes.count, no parsing): an odd number of unescaped quotes means
    a quoted field may run to the end of the file, which pyarrow accepts silently."""
    dialect = _Dialect.of(options)
    quote = dialect.quotechar.encode("ascii")
    escaped = dialect.escapechar.encode("ascii") + quote if dialect.escapechar else None
    count = 0
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(16 << 20):
            count += block.count(quote)
            if escaped:
                data = tail + block
                count -= data.count(escaped) - tail.count(escaped)
                tail = data[-1:]
    return count % 2 == 1
