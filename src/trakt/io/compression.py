"""Compressed files: ``.gz``, ``.bz2``, ``.zst``, ``.xz`` (:data:`COMPRESSION_BY_EXTENSION`).

Reading: a compressed input is decompressed, streaming in blocks (bounded memory), to a plain
copy that every reader then sees, so byte-level checks and line numbers work unchanged; a
corrupt or truncated archive is an :class:`InputError` naming the file and the codec.

Writing: :func:`open_compressed` gives a writer a file object whose bytes are the same from run
to run and whatever sizes the writes have: the compressor is fed fixed-size blocks, and gzip
gets no file name and a zero timestamp.

gzip, bz2 and xz come from the standard library; zstd from pyarrow (no new dependency).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from trakt.errors import InputError
from trakt.io.registry import COMPRESSION_BY_EXTENSION, split_compression

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

CODECS = tuple(COMPRESSION_BY_EXTENSION.values())
_BLOCK = 1 << 20
_HEAD_BLOCK = 64 << 10  # a header is read in small blocks: little past its end
# gzip's own default (the gzip tool's): level 9 is several times slower for a few % smaller.
_GZIP_LEVEL = 6
_XZ_PRESET = 6


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...
    def close(self) -> None: ...


class _Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...
    def close(self) -> None: ...


def codec_of(path: str | Path) -> str | None:
    """The codec a file name's last extension names (``data.csv.gz`` -> ``gzip``), or None."""
    return split_compression(str(path))[1]


def _reader(raw: BinaryIO, codec: str) -> _Readable:
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if codec == "bz2":
        return bz2.BZ2File(raw, "rb")
    if codec == "xz":
        return lzma.LZMAFile(raw, "rb")
    if codec == "zstd":
        import pyarrow as pa

        return cast(_Readable, pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd"))
    raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")


# What the decompressors raise for data that is not theirs, corrupt, or cut short (pyarrow's
# zstd raises OSError; gzip's BadGzipFile is one too).
_DECODE_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def decompress(path: Path, codec: str, dest: Path, shown: str) -> None:
    """Write ``path`` decompressed with ``codec`` to ``dest``, block by block.

    A corrupt or truncated archive is an :class:`InputError` naming ``shown`` (the user's
    file) and the codec; an OS error opening ``path`` or writing ``dest`` propagates with
    its file name set, for the caller to attribute.
    """
    with open(path, "rb") as raw, open(dest, "wb") as out:
        stream = _reader(raw, codec)
        try:
            while True:
                try:
                    block = stream.read(_BLOCK)
                except _DECODE_ERRORS as exc:
                    raise _corrupt(shown, codec, exc) from None
                if not block:
                    return
                try:
                    out.write(block)
                except OSError as exc:
                    raise OSError(exc.errno, exc.strerror or str(exc), str(dest)) from None
        finally:
            stream.close()


def head_lines(raw: BinaryIO, codec: str | None, at_least: int, shown: str) -> tuple[bytes, bool]:
    """The start of ``raw``, decompressed with ``codec`` (None: as it is): whole lines, at
    least ``at_least`` bytes where the file has them; and whether that is the whole file. It
    is read block by block, so a store file opened lazily is fetched only that far."""
    stream: _Readable = raw if codec is None else _reader(raw, codec)
    data = bytearray()
    try:
        while True:
            try:
                block = stream.read(_HEAD_BLOCK)
            except _DECODE_ERRORS as exc:
                if codec is None:
                    raise
                raise _corrupt(shown, codec, exc) from None
            if not block:
                return bytes(data), True
            data += block
            end = data.rfind(b"\n")
            if len(data) >= at_least and end >= 0:
                return bytes(data[: end + 1]), False
    finally:
        if stream is not raw:
            stream.close()


def _corrupt(shown: str, codec: str, exc: BaseException) -> InputError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, EOFError) or "truncated" in reason.lower():
        what = "is cut short (truncated)"
    else:
        what = "is not valid"
    return InputError(
        f"{shown}: the {codec} archive {what}: {reason}; the file is damaged or not {codec} "
        f"data. Copy it again, or rename it to match its compression "
        f"({', '.join(f'{e} = {c}' for e, c in COMPRESSION_BY_EXTENSION.items())})",
        file=shown,
        codec=codec,
    )


class _BlockWriter(io.BufferedIOBase):
    """Bytes written in any pieces reach the compressor in fixed blocks, so its output does
    not depend on how a writer split them (one table or one per chunk)."""

    def __init__(self, raw: BinaryIO, sink: _Sink) -> None:
        super().__init__()
        self._raw = raw
        self._sink = sink
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        view = memoryview(data).cast("B")
        self._pending += view
        if len(self._pending) >= _BLOCK:
            whole = len(self._pending) - len(self._pending) % _BLOCK
            for start in range(0, whole, _BLOCK):
                self._sink.write(bytes(self._pending[start : start + _BLOCK]))
            del self._pending[:whole]
        return len(view)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._pending:
                self._sink.write(bytes(self._pending))
                self._pending.clear()
            self._sink.close()
        finally:
            self._raw.close()
            super().close()


def _sink(raw: BinaryIO, codec: str) -> _Sink:
    if codec == "gzip":
        # No file name, zero mtime: the header is the same on every run.
        return gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL, mtime=0
        )
    if codec == "bz2":
        return bz2.BZ2File(raw, "wb")
    if codec == "xz":
        return lzma.LZMAFile(raw, "wb", preset=_XZ_PRESET)
    if codec == "zstd":
        import pyarrow as pa

        return cast(_Sink, pa.CompressedOutputStream(raw, "zstd"))
    raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")


def open_compressed(path: Path, codec: str | None) -> BinaryIO:
    """A file object creating ``path`` whose bytes written are compressed with ``codec``
    (``gzip``, ``bz2``, ``zstd``, ``xz``; None: written as they are). The caller closes it;
    closing finishes the archive. Same bytes in, same file out, however the writes split."""
    raw = open(path, "wb")  # noqa: SIM115 - closed by the returned object's close()
    if codec is None:
        return raw
    try:
        return cast(BinaryIO, _BlockWriter(raw, _sink(raw, codec)))
    except BaseException:
        raw.close()
        raise
