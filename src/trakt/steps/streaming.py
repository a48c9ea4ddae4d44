"""Helpers for writing stream steps."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def split_chunks(chunks: Iterable[Any], **parts: Callable[[Any], Any]) -> dict[str, Iterator[Any]]:
    """One iterator per name in ``parts``: each input chunk is read once and ``parts[name]``
    of it goes to that name's iterator (the way to give a stream step several outputs).

    Chunks wait in a queue per output until it is pulled; Trakt's writers pull the outputs in
    turn, so at most a chunk or two wait. Returning the dict as is works when the output
    bindings are the names: ``return split_chunks(input, good=..., bad=...)``.
    """
    source = iter(chunks)
    queues: dict[str, deque[Any]] = {name: deque() for name in parts}
    done = False

    def pull() -> bool:
        """Read one chunk and queue its parts; False at the end of the input."""
        nonlocal done
        if done:
            return False
        try:
            chunk = next(source)
        except StopIteration:
            done = True
            return False
        for name, part in parts.items():
            queues[name].append(part(chunk))
        return True

    def output(name: str) -> Iterator[Any]:
        queue = queues[name]
        while queue or pull():
            if queue:
                yield queue.popleft()

    return {name: output(name) for name in parts}
