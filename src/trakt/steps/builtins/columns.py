"""``trakt.select``, ``trakt.rename``, ``trakt.cast`` and ``trakt.derive``: column changes,
row by row, so each streams chunk by chunk."""

from __future__ import annotations

from typing import Any

import polars as pl

from trakt.steps.builtins.chunks import Frames, each, untyped_nulls
from trakt.steps.builtins.expressions import parse
from trakt.steps.builtins.spec import NAMES, TEXT_MAP, Param, builtin
from trakt.steps.builtins.types import cast_expr


@builtin(
    "select",
    [Param("columns", NAMES, True, "the columns kept, in this order")],
    lazy=True,
    keeps_rows=True,
)
def select(ctx: Any, input: Frames, output: str, columns: list[str]) -> dict[str, Frames]:
    """Keep only the listed columns, in the listed order."""
    return {"output": each(input, lambda frame: frame.select(columns))}


@builtin(
    "rename", [Param("mapping", TEXT_MAP, True, "old name: new name")], lazy=True, keeps_rows=True
)
def rename(ctx: Any, input: Frames, output: str, mapping: dict[str, str]) -> dict[str, Frames]:
    """Rename columns (old: new); the order of the columns is kept."""
    return {"output": each(input, lambda frame: frame.rename(mapping))}


@builtin(
    "cast",
    [Param("columns", TEXT_MAP, True, "column: type (int, float, string, ...)")],
    lazy=True,
    keeps_rows=True,
)
def cast(ctx: Any, input: Frames, output: str, columns: dict[str, str]) -> dict[str, Frames]:
    """Convert columns to a contract type (int, float, string, bool, date, datetime,
    decimal(p,s)); a value that does not convert fails the step."""

    def convert(frame: pl.DataFrame) -> pl.DataFrame:
        schema = frame.collect_schema()
        return frame.with_columns(
            cast_expr(name, schema[name], kind) if name in schema else pl.col(name)
            for name, kind in columns.items()
        )

    return {"output": each(input, convert)}


@builtin(
    "derive",
    [Param("columns", TEXT_MAP, True, "column: SQL expression")],
    lazy=True,
    keeps_rows=True,
)
def derive(ctx: Any, input: Frames, output: str, columns: dict[str, str]) -> dict[str, Frames]:
    """Add or replace columns computed by SQL expressions, one after another."""
    exprs = [(name, parse(text)) for name, text in columns.items()]

    def compute(frame: pl.DataFrame) -> pl.DataFrame:
        # One at a time, so a column may use one derived before it in the list.
        for name, expr in exprs:
            frame = frame.with_columns(expr.alias(name))
        return frame

    return {"output": each(input, lambda frame: untyped_nulls(frame, compute))}
