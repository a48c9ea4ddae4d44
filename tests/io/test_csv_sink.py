"""``CsvTableWriter.sink``: a polars LazyFrame streamed straight into the file writes the bytes
``write`` writes for the collected table (floats, missing values, quoting, dates, timestamps,
times), and declines (writing nothing) where it could not promise that."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt.io.csv import CsvTableWriter

TEXT = st.text(st.sampled_from(list('ab ,"\n\r\tʤ€')), max_size=5)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
STAMPS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
DATES = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
TIMES = st.times()


def _written(frame: pl.DataFrame, path: Path, sink: bool, sep: str = ",") -> bytes:
    writer = CsvTableWriter(path, {"sep": sep})
    try:
        if sink:
            assert writer.sink(frame.lazy()) == []
        else:
            writer.write(frame.to_arrow())
    finally:
        writer.close()
    return path.read_bytes()


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 8))
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    values = lambda s: draw(st.lists(maybe(s), min_size=n, max_size=n))  # noqa: E731
    return pl.DataFrame(
        {
            "i": pl.Series(values(st.integers(-(2**63), 2**63 - 1)), dtype=pl.Int64),
            "u8": pl.Series(values(st.integers(0, 255)), dtype=pl.UInt8),
            "f": pl.Series(values(FLOATS), dtype=pl.Float64),
            "f32": pl.Series(values(st.floats(width=32)), dtype=pl.Float32),
            "b": pl.Series(values(st.booleans()), dtype=pl.Boolean),
            "s": pl.Series(values(TEXT), dtype=pl.String),
            "d": pl.Series(values(DATES), dtype=pl.Date),
            "ts": pl.Series(values(STAMPS), dtype=pl.Datetime("us")),
            "ns": pl.Series(values(STAMPS), dtype=pl.Datetime("ns")),
            "t": pl.Series(values(TIMES), dtype=pl.Time),
        }
    )


@settings(max_examples=60, deadline=None)
@given(frame=frames(), sep=st.sampled_from([",", ";", "\t"]))
def test_a_sunk_query_writes_the_bytes_of_the_collected_table(
    frame: pl.DataFrame, sep: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sunk = _written(frame, Path(tmp) / "sunk.csv", sink=True, sep=sep)
        written = _written(frame, Path(tmp) / "written.csv", sink=False, sep=sep)
    assert sunk == written


def test_float_edges_and_nan_are_written_alike(tmp_path: Path) -> None:
    values = [0.1, 2.0, -0.0, 1e-7, 1e16, 123456789.125, float("nan"), float("inf"), None]
    frame = pl.DataFrame({"f": values, "s": ["x"] * len(values)})
    sunk = _written(frame, tmp_path / "a.csv", sink=True)
    assert sunk == _written(frame, tmp_path / "b.csv", sink=False)
    assert sunk.decode().splitlines()[1:] == [
        "0.1,x", "2.0,x", "-0.0,x", "1e-7,x", "1e+16,x", "123456789.125,x", ",x", "inf,x", ",x",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("frame", "options", "why"),
    [
        (pl.DataFrame({"a": [1]}), {}, "one column: its missing value is written as quotes"),
        (pl.DataFrame({"a,b": [1], "c": [2]}), {}, "a name the csv module quotes"),
        (pl.DataFrame({"a": [1], "c": [[1]]}), {}, "a list column is written value by value"),
        (
            pl.DataFrame({"a": [dt.datetime(2025, 1, 1)], "c": [1]}).with_columns(
                pl.col("a").dt.replace_time_zone("Europe/Paris")
            ),
            {},
            "zoned timestamps follow pandas' zone rules",
        ),
        (pl.DataFrame({"a": [1], "c": [2]}), {"compression": "gzip"}, "compressed"),
    ],
)
def test_the_sink_declines_what_it_cannot_write_alike(
    frame: pl.DataFrame, options: dict[str, str], why: str, tmp_path: Path
) -> None:
    writer = CsvTableWriter(tmp_path / "out.csv.gz", options)
    try:
        assert writer.sink(frame.lazy()) is None, why
        writer.write(pa.table(frame.to_arrow()))
    finally:
        writer.close()


def test_queries_run_along_with_the_sink_come_back_with_it(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2, None], "b": ["x", None, "z"]})
    query = frame.lazy().with_columns(pl.col("a") * 2)
    writer = CsvTableWriter(tmp_path / "out.csv", {})
    try:
        found = writer.sink(query, [query.select(pl.len(), pl.col("a").max())])
    finally:
        writer.close()
    assert found is not None and [f.row(0) for f in found] == [(3, 4)]
    assert (tmp_path / "out.csv").read_text() == "a,b\n2,x\n4,\n,z\n"
