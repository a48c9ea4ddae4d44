"""Arrow <-> pandas conversion with Trakt's dtype rules, the same for every format and mode.

Arrow -> pandas (:func:`to_pandas`, what a step gets):

- integers -> ``Int64`` (nullable), so ``11`` never turns into ``11.0`` when a value is missing
- booleans -> ``boolean`` (nullable)
- floats -> ``float64``; strings -> pandas' string dtype
- a column with no values at all -> string
Dates and timestamps are never inferred from text (readers keep them as strings, so they
round-trip byte for byte); declare a dtype to get something else.

pandas -> Arrow (:func:`from_pandas`, what a step's result becomes, once, for every writer):
each column keeps its type where Arrow has one (table in :mod:`trakt.io.pandas_arrow`).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from trakt.io.base import normalize_table
from trakt.io.pandas_arrow import from_pandas

__all__ = ["from_pandas", "normalize_table", "to_pandas"]

_MAPPING: dict[pa.DataType, object] = {
    **{t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64())},
    **{t: pd.Int64Dtype() for t in (pa.uint8(), pa.uint16(), pa.uint32())},
    pa.bool_(): pd.BooleanDtype(),
}


def to_pandas(table: pa.Table, own: bool = False) -> pd.DataFrame:
    """The table as a pandas frame by the dtype rules above.

    ``own``: the frame holds memory of its own (columns of one dtype copied into one block),
    never Arrow's, which pandas may otherwise get zero-copy and read-only."""
    frame: pd.DataFrame = normalize_table(table).to_pandas(
        types_mapper=_MAPPING.get, split_blocks=not own
    )
    return frame
