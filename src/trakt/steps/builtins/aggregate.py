"""``trakt.aggregate``: group by columns, then ``sum``, ``count``, ``min``, ``max``, ``mean``.

An aggregation is written ``function(column)``: ``sum(amount)``, ``mean("unit price")``,
``count()`` (rows; ``count(*)`` too) or ``count(column)`` (its non-null values).

Output: the ``by`` columns, then the aggregations in the order given; one row per group, in
the order each group first appears (a null key is a group of its own). Types: ``count``
Int64; ``sum`` the column's type (0 for a group without values); ``min``/``max`` the
column's type; ``mean`` Float64 (null for a group without values). Without ``by``: one row.

Streamed by partial aggregation: each chunk is reduced to one row per group (sums, non-null
counts, minima, maxima), the partials are combined when the input ends, and ``mean`` is the
sum over the count, so any chunk size gives the batch result. Memory: one row per group per
chunk until the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from trakt.steps.builtins.chunks import Frame, Frames, eager, names, scanned, untyped_nulls
from trakt.steps.builtins.spec import OPTIONAL_NAMES, ROWS, TEXT_MAP, Param, builtin

FUNCTIONS = ("sum", "count", "min", "max", "mean")
_CALL = re.compile(r'\s*(\w+)\s*\(\s*(?:\*|"([^"]+)"|([^()"]*?))\s*\)\s*')


@dataclass(frozen=True)
class Aggregation:
    """One output column: ``function(column)`` (column None: count the rows)."""

    name: str
    function: str
    column: str | None


def parse_aggregation(name: str, text: str) -> Aggregation:
    """``text`` (``sum(amount)``) as an aggregation, or ValueError saying what is expected."""
    call = _CALL.fullmatch(text)
    if call is None or call[1] not in FUNCTIONS:
        raise ValueError(
            f"cannot read the aggregation {text!r}: expected function(column) with function "
            f"one of {', '.join(FUNCTIONS)}, e.g. sum(amount), count()"
        )
    column = call[2] or call[3] or None
    if column is None and call[1] != "count":
        raise ValueError(f"{call[1]}() needs a column, e.g. {call[1]}(amount)")
    return Aggregation(name, call[1], column)


@builtin(
    "aggregate",
    [
        Param("by", OPTIONAL_NAMES, False, "the grouping columns (default: none, one row)"),
        Param("aggregations", TEXT_MAP, True, "output column: function(column)"),
    ],
    stateful=True,  # partial aggregates combined at the end
    lazy=True,
)
def aggregate(
    ctx: Any,
    input: Frames,
    output: str,
    aggregations: dict[str, str],
    by: str | list[str] | None = None,
) -> dict[str, Frames]:
    """Group by columns and compute sum, count, min, max and mean per group."""
    keys = names(by)
    aggs = [parse_aggregation(n, t) for n, t in aggregations.items()]
    if scanned(input):
        return {"output": _scanned(input, keys, aggs)}
    if isinstance(input, pl.DataFrame | pl.LazyFrame):
        return {"output": _finish(_partials(eager(input), keys, aggs), keys, aggs)}
    return {"output": _streamed(input, keys, aggs)}


def _scanned(query: pl.LazyFrame, keys: list[str], aggs: list[Aggregation]) -> pl.DataFrame:
    """A file scan's query (perhaps joined, filtered) aggregated: only the columns grouped by
    and aggregated are collected, by polars' streaming engine, with text keys held as
    categories (a 4-byte code a row; text again in the result). The sums are those of the
    whole frame, as in the eager path: polars' streaming group-by would add partial sums in
    another order, and a float total could differ in its last digit from a batch run's."""
    counted = getattr(query, ROWS, None)
    schema = query.collect_schema()
    read = {a.column for a in aggs if a.column}
    texts = [k for k in keys if schema.get(k) == pl.String() and k not in read]
    used = list(dict.fromkeys([*keys, *sorted(read)])) or schema.names()[:1]
    narrowed = query.select(used).with_columns(pl.col(texts).cast(pl.Categorical))
    frame = narrowed.collect(engine="streaming")
    if counted is not None:  # the runtime need not run the query again to count it
        counted(frame.height)
    result = _finish(_partials(frame, keys, aggs), keys, aggs)
    return result.with_columns(pl.col(texts).cast(pl.String))


def _streamed(chunks: Iterable[Frame], keys: list[str], aggs: list[Aggregation]) -> Iterator[Any]:
    parts = [_partials(eager(chunk), keys, aggs) for chunk in chunks]
    if parts:
        yield _finish(pl.concat(parts, how="vertical_relaxed"), keys, aggs)


def _group(frame: pl.DataFrame, keys: list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    if keys:
        return frame.group_by(keys, maintain_order=True).agg(exprs)
    return frame.select(exprs)


def _partials(frame: pl.DataFrame, keys: list[str], aggs: list[Aggregation]) -> pl.DataFrame:
    """One row per group of ``frame``: what each aggregation needs to be combined later."""
    return untyped_nulls(frame, lambda f: _reduce(f, keys, aggs))


def _reduce(frame: pl.DataFrame, keys: list[str], aggs: list[Aggregation]) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for i, agg in enumerate(aggs):
        col = pl.col(agg.column) if agg.column else None
        if col is None:
            exprs.append(pl.len().cast(pl.Int64).alias(f"__n{i}"))
        elif agg.function in ("count", "mean"):
            exprs.append(col.count().cast(pl.Int64).alias(f"__n{i}"))
        if col is not None and agg.function in ("sum", "mean"):
            exprs.append(_sum(col).alias(f"__s{i}"))
        if col is not None and agg.function in ("min", "max"):
            exprs.append(getattr(col, agg.function)().alias(f"__m{i}"))
    return _group(frame, keys, exprs)


def _sum(column: pl.Expr) -> pl.Expr:
    """A group's sum of its values in row order, the same in every run.

    A bare ``sum()`` lets polars split a large frame among its threads and add the threads'
    partial sums in the order they finish: a float sum then changes in its last digits from
    one run to the next. Dropping the nulls first (which a sum skips anyway) makes the
    expression one polars does not split: each group's values are gathered in row order and
    summed as one array, as ``Series.sum`` sums it."""
    return column.drop_nulls().sum()


def _finish(parts: pl.DataFrame, keys: list[str], aggs: list[Aggregation]) -> pl.DataFrame:
    """Partials (of one or many chunks) combined into the result's columns."""
    exprs: list[pl.Expr] = []
    for i, agg in enumerate(aggs):
        count, total, extreme = pl.col(f"__n{i}"), pl.col(f"__s{i}"), pl.col(f"__m{i}")
        if agg.function == "count":
            value = count.sum().cast(pl.Int64)
        elif agg.function == "sum":
            value = _sum(total)
        elif agg.function == "mean":
            n = count.sum()
            value = pl.when(n > 0).then(_sum(total).cast(pl.Float64) / n).otherwise(None)
        else:
            value = getattr(extreme, agg.function)()
        exprs.append(value.alias(agg.name))
    return _group(parts, keys, exprs)
