"""One value's CSV text, for columns written value by value (object columns, and dtypes polars
cannot write as the table says): the same text polars writes for a typed column of that value
(``trakt.io.csv_writer`` has the table; tests/reliability/test_writer.py compares the two).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def _fraction(nanos: int) -> str:
    """Fractional seconds as polars writes them: none, or 3, 6 or 9 digits."""
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1_000 == 0:
        return f".{nanos // 1_000:06d}"
    return f".{nanos:09d}"


def _float_text(value: float | np.floating[Any]) -> str:
    """Shortest round-trip text laid out as polars lays it out: positional for decimal
    exponents -5..15 (float32: -6..12), else ``1e-7`` / ``1.5e+300``."""
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    scientific = np.format_float_scientific(value, unique=True, trim="-", exp_digits=1)
    exponent = int(scientific.partition("e")[2])
    low, high = (-6, 12) if isinstance(value, np.float32) else (-5, 15)
    if low <= exponent <= high:
        return np.format_float_positional(value, unique=True, trim="0")
    return scientific


def _timestamp_text(value: pd.Timestamp) -> str:
    text = f"{value:%Y-%m-%dT%H:%M:%S}" + _fraction(value.microsecond * 1000 + value.nanosecond)
    if value.tzinfo is None:
        return text
    offset = value.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:5]}"


def _time_text(value: dt.time) -> str:
    return f"{value:%H:%M:%S}" + _fraction(value.microsecond * 1000)


def value_text(value: Any) -> str | None:
    """One value's text by the writer's table; None for missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, dt.timedelta | np.timedelta64):  # before ints: numpy's is one
        delta = pd.Timedelta(value)
        return None if pd.isna(delta) else delta.isoformat()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        # float32 keeps its own shortest form, as polars writes a float32 column.
        return None if math.isnan(value) else _float_text(value)
    if isinstance(value, Decimal):
        return None if value.is_nan() else format(value, "f")
    if isinstance(value, dt.datetime | np.datetime64):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else _timestamp_text(stamp)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _time_text(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, np.ndarray):  # list cells of arrow-backed columns
        return str(value.tolist())
    return str(value)


def texts(values: Any) -> pa.Array:
    """The values' texts (missing ones null), for polars to write as they are."""
    return pa.array([value_text(v) for v in values], pa.large_string())
