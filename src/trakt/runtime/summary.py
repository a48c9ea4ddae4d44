"""Per-column summaries for the manifest: dtype, null count, and min/max of numeric columns.

Built chunk by chunk (stream mode) or once (batch); merging is exact, so both modes give the
same summary for the same data.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype


class ColumnSummaries:
    def __init__(self) -> None:
        self._columns: dict[str, dict[str, Any]] = {}

    def add(self, frame: pd.DataFrame) -> None:
        nulls = frame.isna().sum()
        for name in frame.columns:
            key = str(name)
            series = frame[name]
            entry = self._columns.setdefault(
                key, {"dtype": str(series.dtype), "nulls": 0, "min": None, "max": None}
            )
            entry["nulls"] += int(nulls[name])
            if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype) and len(series):
                low, high = series.min(), series.max()
                if not pd.isna(low):
                    entry["min"] = _plain(low if entry["min"] is None else min(entry["min"], low))
                    entry["max"] = _plain(high if entry["max"] is None else max(entry["max"], high))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {
            name: {k: v for k, v in entry.items() if v is not None or k == "nulls"}
            for name, entry in self._columns.items()
        }


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers, for JSON."""
    return value.item() if hasattr(value, "item") else value
