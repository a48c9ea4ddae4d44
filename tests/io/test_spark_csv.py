"""What Spark's CSV reader is given: which inputs, which options, where quoted line breaks
are (a law checked against Python's csv writer), how text is typed back."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.io.spark_csv import quoted_line_breaks, spark_csv, typed_column

FIELD = st.text(alphabet=st.sampled_from(["a", "b", ",", '"', "\n", " ", "1"]), max_size=6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=1, max_size=4), min_size=1, max_size=20))
def test_quoted_line_breaks_is_found_exactly_when_a_field_has_one(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("q") / "data.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    assert quoted_line_breaks(path) == any("\n" in field for row in rows for field in row)


def test_a_file_of_many_blocks_keeps_the_quote_parity(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b'a,"x""y"\n' * 100_000 + b'b,"two\nlines"\n')
    assert quoted_line_breaks(path)


@pytest.mark.parametrize(("fmt", "options", "expected"), [
    ("csv", {}, ","),
    ("csv", {"sep": ";", "encoding": "UTF-8"}, ";"),
    ("csv", {"skiprows": 2}, None),  # Spark has no such option: Trakt reads it
    ("csv", {"encoding": "latin-1"}, None),
    ("parquet", {}, None),
])  # fmt: skip
def test_which_inputs_spark_reads(
    fmt: str, options: dict[str, object], expected: str | None
) -> None:
    found = spark_csv(fmt, options)
    assert (found.sep if found is not None else None) == expected


def test_markers_follow_the_local_readers_options() -> None:
    assert "NA" in spark_csv("csv", {}).markers  # type: ignore[union-attr]
    only = spark_csv("csv", {"na_values": ["-"], "keep_default_na": False})
    assert only is not None and only.markers == ("-",)


def test_text_is_typed_with_missing_markers_and_checked_casts() -> None:
    markers = pa.array(["", "NA"])
    column = pa.array(["1", None, "NA", "30"])
    assert typed_column(column, pa.int64(), markers).to_pylist() == [1, None, None, 30]
    assert typed_column(
        pa.array(["x", None]), pa.string(), pa.array([], pa.string())
    ).to_pylist() == ["x", ""]
    with pytest.raises(pa.ArrowInvalid):
        typed_column(pa.array(["1.5"]), pa.int64(), markers)
