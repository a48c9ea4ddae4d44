"""The CSV writer takes Arrow tables, and a step's pandas frame reaches it through one adapter,
``frames.from_pandas``: every row of the formatting table gives the bytes the pandas writer gave,
chunking never changes the bytes, and every compression codec round-trips deterministically.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import io
import lzma
import math
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.test_writer import CASES, expected
from trakt.errors import OutputError, UsageError
from trakt.io import csv_writer
from trakt.io.csv import CsvFormat, CsvTableWriter
from trakt.io.csv_values import value_text
from trakt.io.frames import from_pandas

CSV = CsvFormat()
PARIS = ZoneInfo("Europe/Paris")


def written(tables: list[pa.Table], path: Path, **options: Any) -> bytes:
    writer = CsvTableWriter(path, options)
    try:
        for table in tables:
            writer.write(table)
    finally:
        writer.close()
    return path.read_bytes()


def chunks(frame: pd.DataFrame, sizes: list[int]) -> list[pd.DataFrame]:
    """The frame cut into pieces of ``sizes`` rows (cycled), each converted on its own."""
    pieces, start, i = [], 0, 0
    while start < len(frame) or not pieces:
        size = sizes[i % len(sizes)]
        pieces.append(frame.iloc[start : start + size])
        start, i = start + size, i + 1
    return pieces


# --- the formatting table, row by row -------------------------------------------------------


@pytest.mark.parametrize("lone", [False, True], ids=["with_index_column", "lone_column"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_row_of_the_table_gives_the_pandas_writers_bytes(
    case: str, lone: bool, tmp_path: Path
) -> None:
    values = CASES[case][0]()
    frame = pd.DataFrame({"v": values}) if lone else pd.DataFrame({"i": range(5), "v": values})
    want = expected(case, lone).encode()
    assert written([from_pandas(frame)], tmp_path / "whole.csv") == want
    for size in (1, 2):  # each chunk through the adapter alone, as a stream run does
        tables = [from_pandas(piece) for piece in chunks(frame, [size])]
        assert written(tables, tmp_path / f"by{size}.csv") == want, size


def _arrow_type(case: str) -> pa.DataType:
    return from_pandas(pd.DataFrame({"v": CASES[case][0]()})).schema.field("v").type


@pytest.mark.parametrize(
    ("case", "kind"),
    [
        ("Int64_na", pa.int64()),
        ("uint64", pa.uint64()),
        ("boolean_na", pa.bool_()),
        ("float32", pa.float32()),
        ("float16", pa.float16()),
        ("datetime_ns", pa.timestamp("ns")),
        ("datetime_paris", pa.timestamp("us", "Europe/Paris")),  # pandas' unit kept
        ("datetime_utc", pa.timestamp("us", "UTC")),
        ("timestamp_tz_arrow", pa.timestamp("us", "Europe/Paris")),
        ("categorical_zoned", pa.timestamp("us", "UTC")),
        ("timedelta", pa.duration("us")),
        ("decimal_arrow", pa.decimal128(12, 3)),
        ("decimal_objects", pa.large_string()),  # scales differ: text
        ("date_objects", pa.date32()),
        ("time_objects", pa.time64("us")),
        ("object_ints", pa.large_string()),  # 2**70 does not fit int64
        ("object_floats", pa.float64()),
        ("object_mixed", pa.large_string()),
        ("categorical", pa.large_string()),
        ("categorical_ints", pa.int64()),
        ("period", pa.large_string()),
        ("list_arrow", pa.list_(pa.int64())),
    ],
)
def test_the_adapter_keeps_each_columns_type(case: str, kind: pa.DataType) -> None:
    assert _arrow_type(case) == kind


def test_adapter_floats_lose_nan_and_zoned_timestamps_stay_timestamps() -> None:
    frame = pd.DataFrame(
        {
            "f": pd.array([1.5, None, math.nan], dtype="Float64"),
            "x": [0.5, math.nan, 2.0],
            "z": pd.Series([dt.datetime(2025, 7, 9, 10, tzinfo=PARIS)] * 3, dtype=object),
        }
    )
    table = from_pandas(frame)
    assert table.column("f").to_pylist() == [1.5, None, None]
    assert table.column("x").to_pylist() == [0.5, None, 2.0]
    assert table.schema.field("z").type == pa.timestamp("us", "Europe/Paris")


def test_adapter_decimals_of_one_scale_become_decimal128() -> None:
    frame = pd.DataFrame({"d": pd.Series([Decimal("1.10"), None, Decimal("-3.25")], dtype=object)})
    table = from_pandas(frame)
    assert table.schema.field("d").type == pa.decimal128(38, 2)
    assert table.column("d").to_pylist() == [Decimal("1.10"), None, Decimal("-3.25")]
    negative_zero = pd.DataFrame({"d": pd.Series([Decimal("-0.00")], dtype=object)})
    assert from_pandas(negative_zero).column("d").to_pylist() == ["-0.00"]


def test_adapter_names_indexes_and_stringifies_names() -> None:
    frame = pd.DataFrame({"n": [1, 2], 7: ["a", "b"]}).set_index("n")
    table = from_pandas(frame)
    assert table.column_names == ["n", "7"]
    assert table.schema.field("n").type == pa.int64()
    empty = pd.DataFrame({"o": pd.Series([None, None], dtype=object)})
    assert from_pandas(empty).schema.field("o").type == pa.null()  # the caller casts it


# --- Arrow tables that no pandas frame made ---------------------------------------------------


def test_arrow_only_types_are_written_by_the_table(tmp_path: Path) -> None:
    table = pa.table(
        {
            "dict": pa.array(["x", None, "a,b"]).dictionary_encode(),
            "date64": pa.array([0, None, 86_400_000], pa.date64()),
            "time32": pa.array([0, None, 5], pa.time32("ms")),
            "nan": pa.array([math.nan, None, 0.1]),
            "view": pa.array(["q", None, ""], pa.string_view()),
            "dec256": pa.array([Decimal("1.5"), None, Decimal("-2")], pa.decimal256(40, 2)),
            "bin": pa.array([b"ab", None, b"\xff"]),
            "fixed": pa.array([dt.datetime(2040, 7, 1), None, dt.datetime(2025, 1, 9)]).cast(
                pa.timestamp("us", "+05:30")
            ),
            "null": pa.nulls(3),
        }
    )
    assert written([table], tmp_path / "out.csv") == (
        b"dict,date64,time32,nan,view,dec256,bin,fixed,null\n"
        b"x,1970-01-01,00:00:00,,q,1.50,ab,2040-07-01T05:30:00+05:30,\n"
        b",,,,,,,,\n"
        b'"a,b",1970-01-02,00:00:00.005,0.1,"",-2.00,\\xff,2025-01-09T05:30:00+05:30,\n'
    )


def test_zoned_timestamps_follow_pandas_zone_rules_after_2037(tmp_path: Path) -> None:
    utc = [dt.datetime(2100, 7, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)]
    table = pa.table({"t": pa.array(utc, pa.timestamp("s", "Europe/Paris"))})
    assert written([table], tmp_path / "out.csv") == (
        b"t\n2100-07-01T02:00:00+02:00\n2100-01-01T01:00:00+01:00\n"
    )


def test_a_column_polars_refuses_is_written_value_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were a type given to polars as is and refused, the writer falls back to text, and keeps
    that for later tables."""
    monkeypatch.setattr(csv_writer, "converter", lambda kind: None)
    interval = pa.array([pa.MonthDayNano([1, 2, 3]), None], pa.month_day_nano_interval())
    table = pa.table({"i": pa.array([1, 2]), "span": interval})
    out = written([table, table], tmp_path / "out.csv").decode()
    lines = out.splitlines()
    assert lines[0] == "i,span" and lines[2] == "2," and lines[4] == "2,"
    assert lines[1] == lines[3] and lines[1].startswith("1,") and len(lines[1]) > 2


def test_tables_with_other_columns_are_refused(tmp_path: Path) -> None:
    writer = CsvTableWriter(tmp_path / "out.csv", {})
    writer.write(pa.table({"a": [1]}))
    with pytest.raises(OutputError, match=r"out\.csv: chunk columns \['b'\] differ .*\['a'\]"):
        writer.write(pa.table({"b": [1]}))
    writer.close()


def test_a_table_without_columns_writes_nothing_and_no_rows_write_the_header(
    tmp_path: Path,
) -> None:
    assert written([pa.table({})], tmp_path / "none.csv") == b""
    empty = pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())})
    assert written([empty, empty], tmp_path / "header.csv") == b"a,b\n"


# --- separator --------------------------------------------------------------------------------


def test_a_tab_separator_quotes_tabs_not_commas(tmp_path: Path) -> None:
    table = pa.table({"a\tb": ["x\ty", "1,2"], "c": ['q"', None]})
    out = written([table], tmp_path / "out.tsv", sep="\t")
    assert out == b'"a\tb"\tc\n"x\ty"\t"q"""\n1,2\t\n'
    rows = list(csv.reader(io.StringIO(out.decode()), delimiter="\t"))
    assert rows == [["a\tb", "c"], ["x\ty", 'q"'], ["1,2", ""]]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"sep": ";;"}, r"option 'sep' must be a single ASCII character"),
        ({"sep": "é"}, r"option 'sep' must be a single ASCII character"),
        ({"sep": '"'}, r"option 'sep' cannot be '\"' \(the quote character\)"),
        ({"sep": "\n"}, r"option 'sep' cannot be '\\n' \(a line end\)"),
        ({"compression": "lz4"}, r"'compression' must be one of gzip, bz2, zstd, xz or none"),
        (
            {"compresion": "gzip"},
            r"unknown csv writer option 'compresion' \(did you mean 'compression'\?\)",
        ),
    ],
)
def test_writer_options_are_checked(options: dict[str, Any], problem: str, tmp_path: Path) -> None:
    problems = CSV.check_writer_options(options)
    assert len(problems) == 1
    assert re.search(problem, problems[0]), problems
    with pytest.raises(UsageError, match=problem):
        CsvTableWriter(tmp_path / "out.csv", options)
    assert not (tmp_path / "out.csv").exists()


def test_good_writer_options_pass() -> None:
    assert CSV.writer_option_names == frozenset({"sep", "compression"})
    assert CSV.check_writer_options({"sep": "\t", "compression": "zstd"}) == []
    assert CSV.check_writer_options({"sep": "|", "compression": "none"}) == []


# --- compression --------------------------------------------------------------------------------


def _zstd(data: bytes) -> bytes:
    with pa.input_stream(pa.py_buffer(data), compression="zstd") as stream:
        return bytes(stream.read())


CODECS = {
    "gzip": (".gz", gzip.decompress),
    "bz2": (".bz2", bz2.decompress),
    "xz": (".xz", lzma.decompress),
    "zstd": (".zst", _zstd),
}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_writer_options_follow_the_extension(codec: str) -> None:
    suffix = CODECS[codec][0]
    assert CSV.writer_options_for(f"out.csv{suffix}", {}) == {"compression": codec}
    assert CSV.writer_options_for(f"out.csv{suffix}", {"sep": ";", "compression": codec}) == {
        "sep": ";",
        "compression": codec,
    }
    assert CSV.writer_options_for("out.csv", {"sep": ";"}) == {"sep": ";"}
    other = "xz" if codec != "xz" else "gzip"
    with pytest.raises(UsageError, match=rf"extension means {codec} compression.*'{other}'"):
        CSV.writer_options_for(f"out.csv{suffix}", {"compression": other})


def _big_table(rows: int) -> pa.Table:
    """About 30 bytes a row, so a few MiB cross the writer's 1 MiB block size."""
    numbers = np.arange(rows)
    return pa.table(
        {
            "id": numbers,
            "x": numbers * 0.25,
            "text": pa.array([f'row {i}, "quoted"' for i in range(rows)]),
        }
    )


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_every_codec_round_trips_deterministically_whatever_the_chunking(
    codec: str, tmp_path: Path
) -> None:
    table = _big_table(120_000)
    plain = written([table], tmp_path / "plain.csv")
    suffix = CODECS[codec][0]
    whole = written([table], tmp_path / f"whole.csv{suffix}", compression=codec)
    again = written([table], tmp_path / f"another name.csv{suffix}", compression=codec)
    pieces = [table.slice(i, 7_001) for i in range(0, table.num_rows, 7_001)]
    chunked = written(pieces, tmp_path / f"chunked.csv{suffix}", compression=codec)
    assert CODECS[codec][1](whole) == plain
    assert whole == again == chunked
    assert len(whole) < len(plain)


def test_gzip_output_carries_no_name_and_no_time(tmp_path: Path) -> None:
    data = written([pa.table({"a": [1]})], tmp_path / "x.csv.gz", compression="gzip")
    flags, mtime = data[3], int.from_bytes(data[4:8], "little")
    assert (flags & 0x08, mtime) == (0, 0)  # FNAME unset, MTIME 0


# --- any frame: adapter + writer against a value-by-value reference --------------------------


def _reference(frame: pd.DataFrame) -> bytes:
    """The table's text built value by value (``csv_values``), quoted as RFC 4180 needs."""

    def field(text: str | None) -> str:
        if text is None:
            return '""' if len(frame.columns) == 1 else ""
        if text == "" or any(c in text for c in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(field(str(c)) if str(c) else "" for c in frame.columns)]
    # numpy scalars for numpy dtypes (float32 keeps its digits), Python objects for the rest
    columns = [
        list(c.to_numpy() if isinstance(c.dtype, np.dtype) else c.astype(object))
        for _, c in frame.items()
    ]
    for row in zip(*columns, strict=True):
        lines.append(",".join(field(value_text(v)) for v in row))
    return "".join(line + "\n" for line in lines).encode()


TEXT = st.text(st.sampled_from(list('ab ,"\n\r\tʤ€')), max_size=5)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
STAMPS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))


def _column(kind: str, draw: Any, n: int) -> pd.Series:
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    values = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    if kind == "int64":
        return pd.Series(values(st.integers(-(2**63), 2**63 - 1)), dtype="int64")
    if kind == "Int64":
        return pd.Series(values(maybe(st.integers(-(2**63), 2**63 - 1))), dtype="Int64")
    if kind == "float64":
        return pd.Series(values(FLOATS), dtype="float64")
    if kind == "float32":
        return pd.Series(np.array(values(st.floats(width=32)), np.float32))
    if kind == "Float64":
        return pd.Series(values(maybe(st.floats(allow_nan=False))), dtype="Float64")
    if kind == "boolean":
        return pd.Series(values(maybe(st.booleans())), dtype="boolean")
    if kind == "str":
        return pd.Series(values(maybe(TEXT)), dtype="str")
    if kind == "naive":
        return pd.Series(values(maybe(STAMPS)), dtype="datetime64[us]")
    if kind == "zoned":
        stamps = pd.Series(values(maybe(STAMPS)), dtype="datetime64[us]")
        return stamps.dt.tz_localize("UTC").dt.tz_convert(PARIS)
    if kind == "timedelta":
        seconds = values(maybe(st.integers(-(10**9), 10**9)))
        return pd.Series(pd.to_timedelta(seconds, unit="s"))
    if kind == "dates":
        return pd.Series(values(maybe(st.dates())), dtype=object)
    if kind == "decimals":
        cents = values(maybe(st.integers(-(10**12), 10**12)))
        return pd.Series(
            [None if c is None else Decimal(c).scaleb(-2) for c in cents], dtype=object
        )
    if kind == "category":
        return pd.Series(pd.Categorical(values(maybe(st.sampled_from(["x", "a,b", 'q"', ""])))))
    mixed = st.one_of(st.none(), st.integers(), FLOATS, TEXT, st.booleans(), st.dates())
    return pd.Series(values(mixed), dtype=object)


KINDS = [
    "int64", "Int64", "float64", "float32", "Float64", "boolean", "str", "naive", "zoned",
    "timedelta", "dates", "decimals", "category", "mixed",
]  # fmt: skip


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    return pd.DataFrame({f"{kind}{i}": _column(kind, draw, n) for i, kind in enumerate(kinds)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.lists(st.integers(1, 5), min_size=1, max_size=3))
def test_any_frame_is_written_by_the_table_in_any_chunking(
    frame: pd.DataFrame, sizes: list[int]
) -> None:
    want = _reference(frame)
    tables = [from_pandas(piece) for piece in chunks(frame, sizes)]
    with tempfile.TemporaryDirectory(prefix="trakt-arrow-writer-") as folder:
        assert written([from_pandas(frame)], Path(folder) / "whole.csv") == want
        assert written(tables, Path(folder) / "chunked.csv") == want
    whole = from_pandas(frame).schema
    for table in tables:  # a column's type is the same in every chunk that has values
        for name in table.column_names:
            kind = table.schema.field(name).type
            if not name.startswith("mixed") and not pa.types.is_null(kind):
                assert kind == whole.field(name).type, (name, kind)
