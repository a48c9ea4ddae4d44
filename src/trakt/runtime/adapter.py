"""The one adapter between the Arrow seams and the frames steps take.

Sources produce Arrow tables and targets take them; a table becomes a pandas frame only when
it is handed to a step (or checked by a data contract, whose rules are pandas'), and a step's
frame becomes Arrow only when a target writes it. ``Data`` is either, whichever it is now.
"""

from __future__ import annotations

from typing import TypeAlias

import pandas as pd
import pyarrow as pa

from trakt.io.frames import from_pandas, to_pandas

Data: TypeAlias = pa.Table | pd.DataFrame


def as_pandas(data: Data) -> pd.DataFrame:
    """``data`` as a pandas frame (Trakt's dtype rules; a new frame for a table)."""
    return to_pandas(data) if isinstance(data, pa.Table) else data


def step_frame(data: Data) -> pd.DataFrame:
    """A frame of its own for a step, which may change it in place (even through
    ``.array`` or a numpy view made writable).

    A table's conversion is a new frame, but Arrow lends columns without nulls (floats,
    timestamps) zero-copy and read-only: such a table is converted into memory of the frame's
    own. A frame (a step's result) is copied shallowly; copy-on-write protects the original."""
    if not isinstance(data, pa.Table):
        return data.copy(deep=False)
    return to_pandas(data, own=any(_lent(column) for column in data.columns))


def _lent(column: pa.ChunkedArray) -> bool:
    """Whether pandas may get this column's memory zero-copy (read-only)."""
    kind = column.type
    numeric = pa.types.is_floating(kind) or pa.types.is_temporal(kind)
    return bool(numeric and column.null_count == 0 and column.num_chunks <= 1)


def as_arrow(data: Data) -> pa.Table:
    """``data`` as an Arrow table (a step's frame converted by Trakt's writing rules)."""
    return data if isinstance(data, pa.Table) else from_pandas(data)


def rows(data: Data) -> int:
    """How many rows ``data`` has."""
    return data.num_rows if isinstance(data, pa.Table) else len(data)


def column_names(data: Data) -> list[str]:
    """``data``'s column names, as text."""
    names = data.column_names if isinstance(data, pa.Table) else data.columns
    return [str(c) for c in names]
