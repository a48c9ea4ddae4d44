"""The one adapter between the Arrow seams and the frames steps take.

Sources produce Arrow tables and targets take them; a table becomes a pandas frame only when
it is handed to a step (or checked by a data contract, whose rules are pandas'), and a step's
frame becomes Arrow only when a target writes it. ``Data`` is either, whichever it is now.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from trakt.io.frames import from_pandas, to_pandas

Data: TypeAlias = pa.Table | pd.DataFrame


def as_pandas(data: Data) -> pd.DataFrame:
    """``data`` as a pandas frame (Trakt's dtype rules; a new frame for a table).

    A frame made from a table owns writable memory: Arrow lends some columns (floats without
    nulls) zero-copy and read-only, and a step may change its frame in place."""
    if not isinstance(data, pa.Table):
        return data
    frame = to_pandas(data)
    for i, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, np.dtype):
            values = frame.iloc[:, i].to_numpy()
            if not values.flags.writeable:
                frame.isetitem(i, values.copy())
    return frame


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
