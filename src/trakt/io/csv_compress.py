"""Compressed output for the CSV writer, with bytes that never depend on the chunking.

``open_compressed`` stands in for ``trakt.io.compression.open_compressed`` (same signature)
until that module lands; it writes deterministic bytes: gzip without a time stamp or name.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO, Any, cast

_BLOCK = 1 << 20


class _Gzip(gzip.GzipFile):
    """A gzip stream that closes the file it writes to (``fileobj`` is not closed by gzip)."""

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        try:
            # No file name and mtime 0: the same rows give the same bytes, whatever the path
            # (a temporary name) or the time.
            super().__init__(filename="", mode="wb", fileobj=self._raw, mtime=0)
        except BaseException:
            self._raw.close()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def open_compressed(path: Path, codec: str | None) -> IO[bytes]:
    """A new file at ``path`` that compresses with ``codec`` (None: plain)."""
    if codec is None:
        return open(path, "wb")
    if codec == "gzip":
        return cast(IO[bytes], _Gzip(path))  # a binary file object; typeshed says otherwise
    if codec == "bz2":
        return bz2.open(path, "wb")
    if codec == "xz":
        return lzma.open(path, "wb")
    if codec == "zstd":
        import pyarrow as pa

        stream: Any = pa.CompressedOutputStream(str(path), "zstd")
        return stream  # type: ignore[no-any-return]
    raise ValueError(f"unknown compression {codec!r}")


class BlockWriter:
    """Bytes handed on in blocks of one fixed size (the rest when closed), whatever the sizes
    of the writes: a compressor fed this way writes the same bytes for the same data."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._pending = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Keep ``data``; hand on every whole block."""
        self._pending += data
        whole = len(self._pending) - len(self._pending) % _BLOCK
        if whole:
            with memoryview(self._pending) as view:
                for start in range(0, whole, _BLOCK):
                    self._raw.write(view[start : start + _BLOCK])
            del self._pending[:whole]
        return len(data)

    def flush(self) -> None:
        """Nothing: a flush would make the compressed bytes depend on when it came."""

    def close(self) -> None:
        """Hand on the rest and close the compressed stream."""
        try:
            if self._pending:
                self._raw.write(bytes(self._pending))
                self._pending.clear()
        finally:
            self._raw.close()
