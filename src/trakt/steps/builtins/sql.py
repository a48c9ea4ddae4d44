"""``trakt.sql``: a polars SQL query over the step's inputs, each a table named after its
artifact (``pl.SQLContext``; no database involved).

Inputs are bound by name, like a step without declarations: ``input`` and ``input_*`` keys
(``input_customers: customers`` makes the table ``customers``). The result's columns are the
query's, in its order; rows in the order the query gives (say ``ORDER BY`` for a fixed one).
A query needs every row (a ``GROUP BY``, a join), so it runs as a batch step; an input that
arrives as a scan of its file (trakt.runtime.scans) stays a query the SQL extends, so the
file goes through polars once. Float ``SUM``/``AVG`` are polars' parallel ones: their last
digits may change between runs (``trakt.aggregate`` sums in row order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from trakt.steps.builtins.chunks import TYPE_ERRORS, Frames, blank_columns, scanned, whole
from trakt.steps.builtins.spec import TEXT, Param, builtin


def tables(ctx: Any, inputs: Mapping[str, Frames]) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Each input under its artifact's name (the binding's, where the context has no map);
    an input file's scan stays a query."""
    artifacts: Mapping[str, str] = getattr(ctx, "inputs", None) or {}
    return {
        artifacts.get(binding, binding): data if scanned(data) else whole(data)
        for binding, data in inputs.items()
        if binding == "input" or binding.startswith("input_")
    }


@builtin(
    "sql",
    [Param("query", TEXT, True, "a SELECT over the inputs, named by their artifacts")],
    inputs=None,
    outputs=None,
    stream=False,
    lazy=True,
)
def sql(ctx: Any, output: str, query: str, **inputs: Frames) -> dict[str, Frames]:
    """Run a polars SQL query over the inputs, each a table named after its artifact."""
    frames = tables(ctx, inputs)
    if any(isinstance(frame, pl.LazyFrame) for frame in frames.values()):
        # The query extends the scans: the files go through polars once. (A scan's first
        # block had no blank column, and one later is a scan gone wrong: the run starts over,
        # every input read whole, below.)
        return {"output": pl.SQLContext(frames=frames).execute(query, eager=False)}
    whole_frames = {n: f for n, f in frames.items() if isinstance(f, pl.DataFrame)}  # all
    try:
        return {"output": pl.SQLContext(frames=whole_frames, eager=True).execute(query, eager=True)}
    except TYPE_ERRORS:
        # A column that is text only for having no values (see chunks.untyped_nulls).
        if not any(blank_columns(frame) for frame in whole_frames.values()):
            raise
        untyped = {
            name: frame.with_columns(pl.col(blank_columns(frame)).cast(pl.Null))
            for name, frame in whole_frames.items()
        }
    return {"output": pl.SQLContext(frames=untyped, eager=True).execute(query, eager=True)}
