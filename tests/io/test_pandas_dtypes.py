"""``pandas_dtypes.dtype_names`` names, without pandas, what ``frames.to_pandas`` makes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from trakt.io.frames import to_pandas
from trakt.io.pandas_dtypes import dtype_names

TYPES = [
    pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(),
    pa.uint64(), pa.bool_(), pa.float16(), pa.float32(), pa.float64(), pa.string(),
    pa.large_string(), pa.string_view(), pa.null(), pa.date32(), pa.timestamp("us"),
    pa.timestamp("ns", "UTC"), pa.decimal128(10, 2), pa.binary(),
]  # fmt: skip


@pytest.mark.parametrize("kind", TYPES, ids=str)
def test_each_name_is_the_conversions(kind: pa.DataType) -> None:
    schema = pa.schema([("a", pa.int64()), ("b", kind)])
    expected = [str(d) for d in to_pandas(schema.empty_table()).dtypes]
    assert dtype_names(schema) == expected


def test_a_table_with_values_converts_to_the_same_dtypes() -> None:
    table = pa.table({"i": [1, None], "f": [1.5, None], "s": ["x", None], "b": [True, None]})
    assert dtype_names(table.schema) == [str(d) for d in to_pandas(table).dtypes]
