"""Wide tables: per-chunk work is linear in the number of columns (5,000 columns took minutes)."""

from __future__ import annotations

import time

import pyarrow as pa

from trakt.io.base import conform

COLUMNS = 4000


def test_conform_of_a_wide_chunk_is_linear_in_columns() -> None:
    # Quadratic code (a name lookup that rebuilt the column-name list per column) took ~10 s
    # here; linear code takes well under 0.1 s, so the bound leaves room for a busy machine.
    names = [f"c{i}" for i in range(COLUMNS)]
    table = pa.table({name: pa.array([i, i + 1], pa.int64()) for i, name in enumerate(names)})
    schema = pa.schema([pa.field(name, pa.float64()) for name in names] + [("extra", pa.string())])
    start = time.perf_counter()
    result = conform(table, schema)
    elapsed = time.perf_counter() - start
    assert result.schema == schema
    assert result.column("c3999").to_pylist() == [3999.0, 4000.0]
    assert result.column("extra").null_count == 2
    assert elapsed < 2.0, f"conform of {COLUMNS} columns took {elapsed:.1f} s"
