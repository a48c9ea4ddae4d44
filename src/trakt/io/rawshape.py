"""A fast byte-level look at a CSV file (bytes.count and a compiled regex, in blocks; no
parsing): whether the fast reader may merge or split records silently, so the careful
record-by-record re-read (:mod:`trakt.io.badlines`) is needed, and its line count."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trakt.io.badlines import Dialect


def unbalanced_quotes(path: Path, options: Mapping[str, Any]) -> bool:
    """A fast first look (bytes.count, no parsing): an odd number of unescaped quotes means
    a quoted field may run to the end of the file, which pyarrow accepts silently."""
    return _shape_of(path, options).odd


def needs_careful_read(path: Path, options: Mapping[str, Any]) -> bool:
    """Whether the fast reader may merge or split records silently, by a byte-level look (no
    parsing): an odd number of quotes, a quote between two ordinary characters (text after a
    closing quote, or a literal quote inside an unquoted field), or a lone ``\\r`` in a file
    that also has ``\\n`` line ends. Only then the careful re-read settles it."""
    shape = _shape_of(path, options)
    return shape.odd or shape.glued or (shape.lone_cr and shape.newline)


def line_count(path: Path, options: Mapping[str, Any]) -> int:
    """Lines as CSV readers count them (``\\n``, ``\\r\\n``, a lone ``\\r``), a last line
    without a line break included; a byte count, no parsing."""
    return _shape_of(path, options).lines


@dataclass(frozen=True)
class _Shape:
    odd: bool  # an odd number of unescaped quotes
    lines: int
    glued: bool  # a quote with an ordinary character on both sides
    lone_cr: bool
    newline: bool


def _shape_of(path: Path, options: Mapping[str, Any]) -> _Shape:
    d = Dialect.of(options)
    return _shape(path, *_stamp(path), d.quotechar, d.escapechar, d.delimiter)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _glued(quotechar: str, delimiter: str) -> re.Pattern[bytes]:
    q, sep = re.escape(quotechar.encode("ascii")), re.escape(delimiter.encode("ascii"))
    other = b"[^" + q + sep + b"\\r\\n]"
    return re.compile(other + q + other)


@functools.lru_cache(maxsize=64)
def _shape(
    path: Path, size: int, mtime: int, quotechar: str, escapechar: str | None, delimiter: str
) -> _Shape:
    """The file's shape in one pass over the bytes, in blocks; cached by the file's size and
    modification time, as the probe and the read both ask."""
    quote = quotechar.encode("ascii")
    escaped = escapechar.encode("ascii") + quote if escapechar else None
    glued_at = _glued(quotechar, delimiter) if len(delimiter.encode()) == 1 else None
    count = lines = lone = newlines = 0
    glued = False
    tail = last = edge = b""
    with open(path, "rb") as handle:
        while block := handle.read(16 << 20):
            count += block.count(quote)
            if escaped:
                data = tail + block
                count -= data.count(escaped) - tail.count(escaped)
                tail = data[-1:]
            if not glued and glued_at is not None and quote in block:
                glued = glued_at.search(edge + block) is not None
            edge = block[-2:]
            newlines += block.count(b"\n")
            if b"\r" in block or last == b"\r":
                data = last + block  # a CRLF split across blocks counts once
                lone += data.count(b"\r") - data.count(b"\r\n") - (last == b"\r")
            last = block[-1:]
    lone -= last == b"\r"  # the CR ending the file was counted as lone; it ends the last line
    lines = newlines + lone + (1 if last == b"\r" else 0)
    return _Shape(
        odd=count % 2 == 1,
        lines=lines + (1 if last not in (b"", b"\n", b"\r") else 0),
        glued=glued,
        lone_cr=lone > 0,
        newline=newlines > 0,
    )
