"""Compressed output for the CSV writer, with bytes that never depend on the chunking: the
compressor (:func:`trakt.io.compression.open_compressed`) is fed blocks of one size."""

from __future__ import annotations

from typing import IO

_BLOCK = 1 << 20


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
