"""What every built-in shares: one frame or a stream of chunks, handled alike.

A stream-capable step is handed an iterator of chunks for its streamed inputs (in batch runs
too: an iterator of one frame), and a whole frame when it runs as a ``mode: batch`` step; it
answers in kind. Chunks are transformed one at a time and never held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeAlias, TypeGuard

import polars as pl

from trakt.steps.builtins.spec import SCANNED

Frame: TypeAlias = pl.DataFrame | pl.LazyFrame
Frames: TypeAlias = Frame | Iterable[Frame]


def scanned(data: Frames) -> TypeGuard[pl.LazyFrame]:
    """Whether ``data`` is an input file's scan (trakt.runtime.scans), which a built-in
    extends, so the file goes through polars once, straight into the output."""
    return isinstance(data, pl.LazyFrame) and bool(getattr(data, SCANNED, False))


def eager(frame: Frame) -> pl.DataFrame:
    """A frame collected (a LazyFrame from an upstream polars step)."""
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def each(data: Frames, transform: Callable[[pl.DataFrame], pl.DataFrame]) -> Frames:
    """``transform`` applied to the frame, or to each chunk as it is pulled."""
    if scanned(data):
        return transform(data)  # type: ignore[arg-type]  # the transforms take both
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        return transform(eager(data))
    return _each(data, transform)


def _each(
    chunks: Iterable[Frame], transform: Callable[[pl.DataFrame], pl.DataFrame]
) -> Iterator[pl.DataFrame]:
    for chunk in chunks:
        yield transform(eager(chunk))


def whole(data: Frames) -> pl.DataFrame:
    """All of ``data`` as one frame (chunks concatenated)."""
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        return eager(data)
    parts = [eager(c) for c in data]
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]


def names(value: str | list[str] | None) -> list[str]:
    """A ``with:`` value that is one column name or a list of them, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# What polars raises for an operation on a type that does not take it.
TYPE_ERRORS = (
    pl.exceptions.InvalidOperationError,
    pl.exceptions.SchemaError,
    pl.exceptions.ComputeError,
)


def blank_columns(frame: pl.DataFrame) -> list[str]:
    """The text columns of ``frame`` without any value."""
    return [
        name
        for name, kind in frame.schema.items()
        if kind == pl.String() and frame[name].null_count() == frame.height
    ]


def untyped_nulls(
    frame: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """``compute(frame)``, tolerant of columns whose type says nothing for having no values.

    A column without any value is read as text (an empty file, a column left blank), and
    ``amount * 2`` on text is a type error; one that comes untyped (polars' Null, Arrow's
    null) makes ``UPPER(country)`` one. Where ``compute`` fails so and such columns exist,
    it runs again with them the other way (text untyped, untyped text), and those it left as
    they were get their type back. A genuine type error fails the second time too."""
    try:
        return compute(frame)
    except TYPE_ERRORS:
        blank = blank_columns(frame)
        untyped = [n for n, kind in frame.schema.items() if kind == pl.Null()]
        if not blank and not untyped:
            raise
    swapped = frame.with_columns(pl.col(blank).cast(pl.Null), pl.col(untyped).cast(pl.String))
    result = compute(swapped)
    back = [
        pl.col(n).cast(kind)
        for n, kind in frame.schema.items()
        if n in blank + untyped and n in result.columns and result.schema[n] == swapped.schema[n]
    ]
    return result.with_columns(back)
