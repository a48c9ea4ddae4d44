"""``trakt.join``: the main input (streamed) joined with a side input (read whole, once).

Columns: the input's, in order, then the side input's other columns in their order (``how:
semi`` and ``anti`` add none); the join keys appear once, as the input's columns. A side
column whose name the input already has gets the suffix ``_right``. Rows keep the input's
order (and, for several matches, the side input's). Null keys never match (SQL).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from trakt.steps.builtins.chunks import Frame, Frames, each, names, whole
from trakt.steps.builtins.spec import NAME_OR_NAMES, Param, builtin, choice

HOWS = ("inner", "left", "semi", "anti")


@builtin(
    "join",
    [
        Param("on", NAME_OR_NAMES, False, "key columns both inputs have"),
        Param("left_on", NAME_OR_NAMES, False, "the input's key columns (with right_on)"),
        Param("right_on", NAME_OR_NAMES, False, "the side input's key columns, in that order"),
        Param("how", choice(*HOWS), False, "inner (default), left, semi or anti"),
    ],
    inputs=("input", "right"),
    stream_inputs=("input",),
    lazy=True,
)
def join(
    ctx: Any,
    input: Frames,
    right: Frames,
    output: str,
    on: str | list[str] | None = None,
    left_on: str | list[str] | None = None,
    right_on: str | list[str] | None = None,
    how: str = "inner",
) -> dict[str, Frames]:
    """Join the input with a side input (inner, left, semi or anti) on key columns."""
    side = whole(right)
    left_keys = names(on) or names(left_on)
    right_keys = names(on) or names(right_on)
    if len(left_keys) != len(right_keys) or not left_keys:
        raise ValueError(
            f"trakt.join needs `on`, or `left_on` and `right_on` of the same length; found "
            f"left_on={left_keys}, right_on={right_keys}"
        )
    if how in ("semi", "anti"):
        # Only membership counts: one row per key keeps the input's rows from multiplying.
        side = side.select(right_keys).unique(maintain_order=True)

    def joined(frame: Frame) -> Frame:
        # A scanned input stays a query (polars' streaming engine joins it as it is read).
        other = side.lazy() if isinstance(frame, pl.LazyFrame) else side
        return frame.join(
            other,  # type: ignore[arg-type]  # a LazyFrame with a LazyFrame, a frame with a frame
            left_on=left_keys,
            right_on=right_keys,
            how=how,  # type: ignore[arg-type]
            coalesce=True,
            maintain_order="left_right",
        )

    return {"output": each(input, joined)}  # type: ignore[arg-type]  # takes both kinds
