"""Catch a stream step whose output iterators each read the same input iterator themselves.

The naive way to give a stream step two outputs is two generators over one input::

    good = (c[c.ok] for c in input)
    bad = (c[~c.ok] for c in input)

They share one iterator, so each chunk goes to whichever output happens to pull next: in a
stream run the writers pull in turn and each output silently gets every other chunk; in a
batch run the first output takes the only chunk and the second is empty. Nothing fails, and
data is lost. The guard wraps each streamed input of a step with several outputs and looks at
who advances it: one of the step's own output generators, directly. When two different
outputs do, the run stops naming the step, the input and the outputs. Reading each chunk once
in a helper and sharing its parts out (``trakt.split_chunks``) is not flagged: the direct
reader is then the helper, not an output generator.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import Any

from trakt.errors import StepError


class SharedInputGuard:
    """Watches which of a step's output generators advance which of its streamed inputs."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self._frames: list[tuple[FrameType, str]] = []  # output generator frame, binding
        self._readers: dict[str, str] = {}  # input binding -> the output that read it first

    def watch(self, result: Mapping[str, Any]) -> None:
        """Note the step's returned output iterators (generators have a frame to recognise)."""
        for binding, value in result.items():
            frame = getattr(value, "gi_frame", None)
            if isinstance(frame, FrameType):
                self._frames.append((frame, binding))

    def wrap(self, binding: str, chunks: Iterator[Any]) -> Iterator[Any]:
        """``chunks`` as the step sees them, each ``next`` checked (after the end too: in a
        batch run the first output takes the only chunk and the second finds none)."""
        return _Watched(self, binding, chunks)

    def check(self, binding: str, caller: FrameType | None) -> None:
        output = next((name for frame, name in self._frames if frame is caller), None)
        if output is None:
            return
        first = self._readers.setdefault(binding, output)
        if first == output:
            return
        raise StepError(
            f"step '{self.step_id}': its outputs '{first}' and '{output}' both read input "
            f"'{binding}' chunk by chunk themselves, so they share one iterator: each chunk "
            "would go to only one of them and the other output would silently miss it. Read "
            "each chunk once and send its parts to every output, e.g. "
            f"`return trakt.split_chunks({binding}, {first}=lambda c: ..., "
            f"{output}=lambda c: ...)` (README: Stream steps with several outputs)",
            step_id=self.step_id,
            input=binding,
            outputs=[first, output],
        )


class _Watched:
    """An input's chunks, telling the guard who asks for each."""

    def __init__(self, guard: SharedInputGuard, binding: str, chunks: Iterator[Any]) -> None:
        self.guard, self.binding, self.chunks = guard, binding, chunks

    def __iter__(self) -> _Watched:
        return self

    def __next__(self) -> Any:
        self.guard.check(self.binding, sys._getframe(1))  # the frame that called next()
        return next(self.chunks)

    def close(self) -> None:
        """Close the chunks underneath (the scheduler closes what it handed out)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
