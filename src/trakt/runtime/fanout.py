"""One chunk iterator split into branches for the readers of one artifact (stream mode)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from trakt.io.base import is_pandas
from trakt.runtime.adapter import Data

Chunks = Iterator[Data]


class Fanout:
    """Split one chunk iterator into ``n`` branches.

    Unlike ``itertools.tee`` (which frees its buffer in blocks of 57 items), a chunk is
    dropped from the buffer as soon as every open branch has passed it, so branches that
    advance together hold one chunk in flight. A closed branch stops holding chunks back.
    Each branch but the last to pass a chunk gets a deep copy of it: a consumer that changes
    its chunk in place (``.array`` writes, writable numpy views) cannot change its siblings'.
    """

    def __init__(self, source: Chunks, n: int) -> None:
        self.source = source
        self.buffer: deque[Data] = deque()
        self.offset = 0  # index (in the source) of buffer[0]
        self.positions: list[int | None] = [0] * n

    def branches(self) -> list[Chunks]:
        return [self._branch(i) for i in range(len(self.positions))]

    def _branch(self, i: int) -> Chunks:
        try:
            while True:
                position = self.positions[i]
                assert position is not None
                if position - self.offset < len(self.buffer):
                    chunk = self.buffer[position - self.offset]
                else:
                    try:
                        chunk = next(self.source)
                    except StopIteration:
                        return
                    self.buffer.append(chunk)
                self.positions[i] = position + 1
                last = all(p is None or p > position for p in self.positions)
                self._trim()
                if is_pandas(chunk) and not last:  # tables never change
                    yield chunk.copy(deep=True)
                else:
                    yield chunk
        finally:
            self.positions[i] = None
            self._trim()

    def _trim(self) -> None:
        open_positions = [p for p in self.positions if p is not None]
        lowest = min(open_positions) if open_positions else self.offset + len(self.buffer)
        while self.offset < lowest and self.buffer:
            self.buffer.popleft()
            self.offset += 1
