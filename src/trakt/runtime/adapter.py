"""The one adapter between the Arrow seams and the frames steps take.

Sources produce Arrow tables and targets take them; a table becomes a step's frame only when
it is handed to a step, in the library the step asked for (``run.frame`` / ``frame:``):

- pandas: Trakt's dtype rules (:mod:`trakt.io.frames`), memory of the frame's own;
- polars: ``pl.from_arrow`` (zero-copy: polars' columns are Arrow's);
- arrow: the ``pa.Table`` itself (immutable, so it is never copied; text as ``large_string``).

A step may return any of the three (or a polars ``LazyFrame``); a result becomes Arrow only at
a boundary (a writer, a contract, a step of another library) by :func:`result_table`, whose
text columns are ``large_string`` whichever library made them, as pandas' are, so a pandas, a
polars and an Arrow version of a step write the same bytes. ``Data`` is any of these, whichever
it is now. pandas and polars are imported only when a step or frame of theirs is there.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
from typing_extensions import TypeIs

from trakt.io.base import is_pandas, normalize_table

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

Data: TypeAlias = "pa.Table | pd.DataFrame | pl.DataFrame | pl.LazyFrame"


def preload_pandas(frames: Iterable[str]) -> threading.Thread | None:
    """Import pandas (and Trakt's conversion to it) in a thread of its own where a step takes
    pandas frames (``frames``: each step's library), while the inputs are read: the import
    takes about 0.2 s, a sixth of a small run, and pyarrow's reader lets go of the GIL. The
    thread, for the run to join; None where no step takes pandas (then none is imported)."""
    if "pandas" not in frames or "trakt.io.frames" in sys.modules:
        return None
    thread = threading.Thread(target=_import_quietly, args=("trakt.io.frames",))
    thread.name = "trakt-import-pandas"
    thread.start()
    return thread


def _import_quietly(name: str) -> None:
    """A module imported ahead of need: a failure is left to the import that needs it, which
    raises it where it can be reported (the step's conversion), not in this thread."""
    with contextlib.suppress(ImportError):
        import_module(name)


def is_polars(value: object) -> TypeIs[pl.DataFrame | pl.LazyFrame]:
    """Whether ``value`` is a polars DataFrame or LazyFrame (told by its class, so polars is
    not imported, nor looked up while a background import is still initializing it)."""
    kind = type(value)
    return kind.__module__.startswith("polars.") and kind.__name__ in ("DataFrame", "LazyFrame")


def is_lazy(value: object) -> TypeIs[pl.LazyFrame]:
    """Whether ``value`` is a polars LazyFrame (a query not run yet)."""
    return is_polars(value) and type(value).__name__ == "LazyFrame"


def is_frame(value: object) -> bool:
    """Whether a step may return ``value`` as an output: a frame of one of the libraries."""
    return is_pandas(value) or isinstance(value, pa.Table) or is_polars(value)


def library(value: object) -> str:
    """The frame library ``value`` belongs to: pandas, polars or arrow."""
    if is_pandas(value):
        return "pandas"
    return "arrow" if isinstance(value, pa.Table) else "polars"


def as_pandas(data: Data) -> pd.DataFrame:
    """``data`` as a pandas frame (Trakt's dtype rules; a new frame for a table)."""
    from trakt.io.frames import to_pandas

    if is_pandas(data):
        return data
    return to_pandas(data if isinstance(data, pa.Table) else result_table(data))


def step_frame(data: Data) -> pd.DataFrame:
    """A frame of its own for a step, which may change it in place (even through
    ``.array`` or a numpy view made writable).

    A table's conversion is a new frame, but Arrow lends columns without nulls (floats,
    timestamps) zero-copy and read-only: such a table is converted into memory of the frame's
    own. A frame (a step's result) is copied shallowly; copy-on-write protects the original."""
    from trakt.io.frames import to_pandas

    if is_pandas(data):
        return data.copy(deep=False)
    table = data if isinstance(data, pa.Table) else result_table(data)
    return to_pandas(table, own=any(_lent(column) for column in table.columns))


def step_input(data: Data, frame: str) -> Any:
    """``data`` in the library a step asked for (``frame``), converted only if it is not.

    polars: a LazyFrame stays lazy (the next polars step extends the query: fusion); a
    DataFrame is cloned (its columns are shared, not copied), so in-place methods such as
    ``insert_column`` stay the step's own. arrow: tables are immutable and handed out as they
    are, text as ``large_string`` (the offsets widened, the characters shared).
    """
    if frame == "pandas":
        return step_frame(data)
    if frame == "arrow":
        return result_table(data)  # text as large_string, whatever made the table
    if is_polars(data):
        return data.clone() if not is_lazy(data) else data
    import polars as pl

    if is_pandas(data):
        from trakt.io.frames import from_pandas

        data = from_pandas(data)
    table = normalize_table(data)
    converted = pl.from_arrow(table, rechunk=False)
    assert isinstance(converted, pl.DataFrame)
    return converted


def _lent(column: pa.ChunkedArray) -> bool:
    """Whether pandas may get this column's memory zero-copy (read-only)."""
    kind = column.type
    numeric = pa.types.is_floating(kind) or pa.types.is_temporal(kind)
    return bool(numeric and column.null_count == 0 and column.num_chunks <= 1)


def _large_text(table: pa.Table) -> pa.Table:
    """Text columns as ``large_string`` (what pandas' text becomes), so the library that made
    a table does not show in a Parquet file's schema."""
    kinds = table.schema.types
    if not any(pa.types.is_string(t) or pa.types.is_string_view(t) for t in kinds):
        return table
    fields = [
        pa.field(f.name, pa.large_string(), f.nullable)
        if pa.types.is_string(f.type) or pa.types.is_string_view(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def result_table(value: Data) -> pa.Table:
    """A step's result as Arrow, the same types whichever library made it (a LazyFrame is
    collected here)."""
    if is_pandas(value):
        from trakt.io.frames import from_pandas

        return from_pandas(value)
    if isinstance(value, pa.Table):
        return _large_text(value)
    if is_lazy(value):
        value = value.collect()
    table: pa.Table = value.to_arrow()
    return _large_text(table)


def passed_on(value: Data) -> Data:
    """A step's stream chunk as it flows on: a LazyFrame run (chunks are not fused), a
    table's text as pandas' would be; pandas and polars frames as they are."""
    return result_table(value) if is_lazy(value) or isinstance(value, pa.Table) else value


def settle(data: Data) -> pa.Table | pd.DataFrame:
    """``data`` for a writer, a contract or a summary: a polars frame becomes Arrow."""
    return data if isinstance(data, pa.Table) or is_pandas(data) else result_table(data)


def as_arrow(data: Data) -> pa.Table:
    """``data`` as an Arrow table (a step's frame converted by Trakt's writing rules)."""
    return data if isinstance(data, pa.Table) else result_table(data)


def rows(data: Data) -> int:
    """How many rows ``data`` has (a LazyFrame's count is a query of its own: polars prunes
    it to the columns a filter needs)."""
    if isinstance(data, pa.Table):
        counted: int = data.num_rows
        return counted
    if is_pandas(data):
        return len(data)
    if is_lazy(data):
        import polars as pl

        count: int = data.select(pl.len()).collect().item()
        return count
    height: int = data.height
    return height


def column_names(data: Data) -> list[str]:
    """``data``'s column names, as text."""
    if isinstance(data, pa.Table):
        return [str(c) for c in data.column_names]
    if is_pandas(data):
        return [str(c) for c in data.columns]
    if is_lazy(data):
        return list(data.collect_schema().names())
    return list(data.columns)
