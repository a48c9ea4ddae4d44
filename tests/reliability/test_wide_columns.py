"""Wide tables: conform, which every stream chunk goes through, keeps thousands of columns right.

Its speed (it was quadratic in the number of columns: 5,000 columns took minutes in stream
mode) is measured by ``benchmarks/wide_columns.py``, not here."""

from __future__ import annotations

import pyarrow as pa

from trakt.io.base import conform

COLUMNS = 4000


def test_conform_of_a_wide_chunk_keeps_every_column() -> None:
    names = [f"c{i}" for i in range(COLUMNS)]
    table = pa.table({name: pa.array([i, i + 1], pa.int64()) for i, name in enumerate(names)})
    schema = pa.schema([pa.field(name, pa.float64()) for name in names] + [("extra", pa.string())])
    result = conform(table, schema)
    assert result.schema == schema
    assert result.column("c3999").to_pylist() == [3999.0, 4000.0]
    assert result.column("extra").null_count == 2


class _CountingTable:
    """A table that counts how often its whole column list is asked for."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self.listings = 0

    @property
    def column_names(self) -> list[str]:
        self.listings += 1
        return list(self._table.column_names)

    @property
    def schema(self) -> pa.Schema:
        self.listings += 1
        return self._table.schema

    def __getattr__(self, name: str) -> object:
        return getattr(self._table, name)


def test_conform_lists_the_columns_once_not_once_per_column() -> None:
    """Listing every column for every column was the quadratic cost (5,000 columns: minutes)."""
    table = pa.table({f"c{i}": [i] for i in range(500)})
    schema = pa.schema([pa.field(f"c{i}", pa.int64()) for i in range(500)])
    counting = _CountingTable(table)
    result = conform(counting, schema)  # type: ignore[arg-type]
    assert result.equals(table)
    assert counting.listings <= 2
