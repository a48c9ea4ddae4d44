"""A fast byte-level look at a CSV file (bytes.count and a compiled regex, in blocks; no
parsing): whether the fast reader may merge or split records silently, so the careful
record-by-record re-read (:mod:`trakt.io.badlines`) is needed, and its line count."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trakt.io.badlines import Dialect
from trakt.io.base import lines_block


def unbalanced_quotes(path: Path, options: Mapping[str, Any]) -> bool:
    """A fast first look (bytes.count, no parsing): an odd number of unescaped quotes means
    a quoted field may run to the end of the file, which pyarrow accepts silently."""
    return _shape_of(path, options).odd


def needs_careful_read(path: Path, options: Mapping[str, Any]) -> bool:
    """Whether the fast reader may merge or split records silently, by a byte-level look (no
    parsing): an odd number of quotes, a quote out of place (text after a closing quote, or a
    literal quote inside an unquoted field: :func:`_misplaced`), or a lone ``\\r`` in a file
    that also has ``\\n`` line ends. Only then the careful re-read settles it."""
    shape = _shape_of(path, options)
    return shape.odd or shape.glued or (shape.lone_cr and shape.newline)


def line_count(path: Path, options: Mapping[str, Any]) -> int:
    """Lines as CSV readers count them (``\\n``, ``\\r\\n``, a lone ``\\r``), a last line
    without a line break included; a byte count, no parsing."""
    return _shape_of(path, options).lines


@dataclass(frozen=True)
class Shape:
    """What one pass over a file's bytes found (see :func:`file_shape`)."""

    odd: bool  # an odd number of unescaped quotes
    lines: int
    glued: bool  # a quote out of place (see _misplaced)
    lone_cr: bool
    newline: bool


def _shape_of(path: Path, options: Mapping[str, Any]) -> Shape:
    d = Dialect.of(options)
    return _shape(path, *_stamp(path), d.quotechar, d.escapechar, d.delimiter)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _misplaced(
    a: np.ndarray, at: np.ndarray, first: int, before: int, q: int, sep: int, parity: bool
) -> bool:
    """Whether a quote in ``a[first:-1]`` is out of place, looking at the quotes' neighbours
    only (numpy; a regex over every byte is several times slower). ``at``: the positions of
    every quote in ``a``.

    Counting quotes (``before`` of them in the file ahead of ``a[first]``), one with an
    even number ahead of it opens a quoted field, or is the second of a doubled quote: the
    byte before it must be the delimiter, a line break or a quote. One with an odd number
    ahead closes the field, or is the first of a doubled quote: the byte after it must be a
    quote, the delimiter or a line break. In a well-formed file every quote passes; the first
    that does not is a literal quote inside an unquoted field, or one that pyarrow would drop
    (text after a closing quote). Without ``parity`` (an escapechar makes the count
    unreliable) a quote is out of place only with an ordinary byte on both sides."""
    ordinary = np.ones(256, dtype=bool)
    ordinary[[q, sep, 0x0D, 0x0A]] = False
    # The quotes looked at are a contiguous run of ``at`` (it is sorted); the parity of the
    # count ahead alternates along it, so openers and closers are every other one.
    ahead_first = int(np.searchsorted(at, first))
    start = int(np.searchsorted(at, max(first, 1)))
    stop = int(np.searchsorted(at, len(a) - 1))
    at = at[start:stop]
    if not parity:
        return bool(np.any(ordinary[a[at - 1]] & ordinary[a[at + 1]]))
    odd = (before + start - ahead_first) % 2  # parity of the count ahead of at[0]
    openers, closers = at[odd::2], at[1 - odd :: 2]
    return bool(np.any(ordinary[a[openers - 1]]) or np.any(ordinary[a[closers + 1]]))


@functools.lru_cache(maxsize=64)
def _shape(
    path: Path, size: int, mtime: int, quotechar: str, escapechar: str | None, delimiter: str
) -> Shape:
    """The file's shape in one pass over the bytes, in blocks; cached by the file's size and
    modification time, as the probe and the read both ask."""
    quote = quotechar.encode("ascii")
    escaped = escapechar.encode("ascii") + quote if escapechar else None
    sep = delimiter.encode("utf-8")  # a multi-byte one is not looked at
    count = lines = lone = newlines = 0
    glued = False
    tail = last = edge = b""
    with open(path, "rb") as handle:
        # 1 MiB blocks: numpy's temporaries stay in the cache (4x faster than 16 MiB ones).
        while block := handle.read(1 << 20):
            a = np.frombuffer(edge + block, dtype=np.uint8)
            at = np.flatnonzero(a == quote[0])
            in_block = len(at) - edge.count(quote)
            if not glued and len(sep) == 1 and len(at):
                # ``edge``: the last bytes of the block before, so a quote at its end is
                # looked at with the byte after it.
                first = max(0, len(edge) - 1)
                ahead = count - edge[first:].count(quote)
                glued = _misplaced(a, at, first, ahead, quote[0], sep[0], not escaped)
            count += in_block
            if escaped:
                data = tail + block
                count -= data.count(escaped) - tail.count(escaped)
                tail = data[-1:]
            edge = block[-2:]
            newlines += int(np.count_nonzero(a[len(a) - len(block) :] == 0x0A))
            if b"\r" in block or last == b"\r":
                data = last + block  # a CRLF split across blocks counts once
                lone += data.count(b"\r") - data.count(b"\r\n") - (last == b"\r")
            last = block[-1:]
    lone -= last == b"\r"  # the CR ending the file was counted as lone; it ends the last line
    lines = newlines + lone + (1 if last == b"\r" else 0)
    return Shape(
        odd=count % 2 == 1,
        lines=lines + (1 if last not in (b"", b"\n", b"\r") else 0),
        glued=glued,
        lone_cr=lone > 0,
        newline=newlines > 0,
    )


@dataclass(frozen=True)
class Counts:
    """Line breaks and delimiter bytes in a file, counted without looking at quotes."""

    lines: int  # as :func:`line_count` counts them when ``stray_cr`` is False
    seps: int
    stray_cr: bool  # a ``\r`` not followed by ``\n`` (an old Mac line end, or in a value)


def counts(path: Path, sep: str) -> Counts:
    """How many ``\n`` and ``sep`` bytes the file has, and whether any ``\r`` stands alone:
    three vectorised comparisons a block (no quote positions: several times cheaper than
    :func:`needs_careful_read`'s look)."""
    code = ord(sep)
    lines = seps = crs = pairs = 0
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    last = b""
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            a = np.frombuffer(buffer, dtype=np.uint8, count=size)
            lines += int(np.count_nonzero(a == 0x0A))
            seps += int(np.count_nonzero(a == code))
            found = int(np.count_nonzero(a == 0x0D))
            if found or last == b"\r":
                crs += found
                block = last + bytes(view[:size])  # a CRLF split across blocks counts once
                pairs += block.count(b"\r\n")
            last = bytes(view[size - 1 : size])
    if last not in (b"", b"\n"):
        lines += 1  # a last line without a line break
    return Counts(lines, seps, stray_cr=crs != pairs)


def block_for_rows(path: Path, smallest: int, largest: int, rows: int = 4096) -> int:
    """:func:`trakt.io.base.lines_block` for the file at ``path`` (its first bytes read)."""
    with open(path, "rb") as handle:
        head = handle.read(smallest)
    return lines_block(head, smallest, largest, rows)
