"""``trakt.filter``, ``trakt.dedupe`` and ``trakt.sort``: which rows, and in what order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from trakt.steps.builtins.chunks import (
    Frames,
    each,
    eager,
    names,
    scanned,
    untyped_nulls,
    whole,
)
from trakt.steps.builtins.expressions import parse
from trakt.steps.builtins.spec import (
    BOOL_OR_BOOLS,
    NAME_OR_NAMES,
    OPTIONAL_NAMES,
    TEXT,
    Param,
    builtin,
)


@builtin(
    "filter",
    [Param("where", TEXT, True, "SQL condition; rows where it is true are kept")],
    lazy=True,
)
def filter_rows(ctx: Any, input: Frames, output: str, where: str) -> dict[str, Frames]:
    """Keep the rows where a SQL condition is true (null counts as false)."""
    condition = parse(where)
    return {
        "output": each(input, lambda frame: untyped_nulls(frame, lambda f: f.filter(condition)))
    }


@builtin(
    "dedupe",
    [Param("subset", OPTIONAL_NAMES, False, "columns compared (default: all)")],
    stateful=True,  # the keys seen so far
    lazy=True,
)
def dedupe(
    ctx: Any, input: Frames, output: str, subset: str | list[str] | None = None
) -> dict[str, Frames]:
    """Drop repeated rows (equal in ``subset``, or in every column), keeping the first."""
    keys = names(subset) or None
    if scanned(input):  # polars' streaming engine keeps the keys seen, as the stream does
        return {"output": input.unique(subset=keys, keep="first", maintain_order=True)}
    if isinstance(input, pl.DataFrame | pl.LazyFrame):
        return {"output": _first(eager(input), keys)}
    return {"output": _dedupe_stream(input, keys)}


def _first(frame: pl.DataFrame, keys: list[str] | None) -> pl.DataFrame:
    return frame.unique(subset=keys, keep="first", maintain_order=True)


def _dedupe_stream(chunks: Any, keys: list[str] | None) -> Iterator[pl.DataFrame]:
    """Each chunk without the rows seen before: the keys seen so far are held (one row per
    distinct key), never the rows themselves."""
    seen: pl.DataFrame | None = None
    for chunk in chunks:
        frame = _first(eager(chunk), keys)
        columns = keys or frame.columns
        if seen is not None and len(seen):
            frame = frame.join(
                seen, on=columns, how="anti", nulls_equal=True, maintain_order="left"
            )
        new_keys = frame.select(columns)
        seen = new_keys if seen is None else pl.concat([seen, new_keys], how="vertical_relaxed")
        yield frame


@builtin(
    "sort",
    [
        Param("by", NAME_OR_NAMES, True, "the columns sorted on, in order"),
        Param("descending", BOOL_OR_BOOLS, False, "true, or one per column (default false)"),
    ],
    stream=False,
    lazy=True,
    keeps_rows=True,
)
def sort(
    ctx: Any,
    input: Frames,
    output: str,
    by: str | list[str],
    descending: bool | list[bool] = False,
) -> dict[str, Frames]:
    """Sort the rows (stable; nulls last); needs every row, so it runs as a batch step."""
    frame = input if scanned(input) else whole(input)  # a scan's query sorted by polars
    return {
        "output": frame.sort(names(by), descending=descending, nulls_last=True, maintain_order=True)
    }
