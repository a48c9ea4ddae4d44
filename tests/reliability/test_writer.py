"""One writer, one formatting table: for every dtype a step can produce, batch mode and stream
mode (chunks of 1, 2 and many rows) write the same bytes, and those bytes are the table's
(README "Data types", ``trakt.io.csv_writer``).
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.io.csv import write
from trakt.runtime.local_runner import LocalRunner

NA = None
PARIS = ZoneInfo("Europe/Paris")


def _ts(values: list[str | None], **kwargs: Any) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601", **kwargs))


def _obj(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype=object)


# name: (five values as a Series, their CSV text by the table; "" = empty field)
CASES: dict[str, tuple[Callable[[], pd.Series], list[str]]] = {
    "bool": (
        lambda: pd.Series(np.array([True, False, True, False, True])),
        ["true", "false", "true", "false", "true"],
    ),
    "boolean_na": (
        lambda: pd.Series(pd.array([True, NA, False, NA, True], dtype="boolean")),
        ["true", "", "false", "", "true"],
    ),
    "Int64_na": (
        lambda: pd.Series(pd.array([1, NA, -3, 0, 2**62], dtype="Int64")),
        ["1", "", "-3", "0", str(2**62)],
    ),
    "int64": (lambda: pd.Series(np.arange(5) * 7), ["0", "7", "14", "21", "28"]),
    "float": (
        lambda: pd.Series([2.0, np.nan, math.inf, -0.0, 0.1]),
        ["2.0", "", "inf", "-0.0", "0.1"],
    ),
    "float_extremes": (
        lambda: pd.Series([1e-7, 1e20, -math.inf, 1e16, 5e-324]),
        ["1e-7", "1e+20", "-inf", "1e+16", "5e-324"],
    ),
    "float32": (
        lambda: pd.Series(np.array([0.1, 16777216.0, 1e-7, 3.4028235e38, np.nan], np.float32)),
        ["0.1", "16777216.0", "1e-7", "3.4028235e+38", ""],
    ),
    "Float64_na": (
        lambda: pd.Series(pd.array([1.5, NA, 2.0, -0.25, NA], dtype="Float64")),
        ["1.5", "", "2.0", "-0.25", ""],
    ),
    "decimal_objects": (
        lambda: _obj([Decimal("1.10"), NA, Decimal("-3.00"), Decimal("1E+3"), Decimal("1E-6")]),
        ["1.10", "", "-3.00", "1000", "0.000001"],
    ),
    "decimal_arrow": (
        lambda: pd.Series(
            pd.array(
                [Decimal("1.100"), NA, Decimal("-3.000"), Decimal("1000.000"), Decimal("0")],
                dtype=pd.ArrowDtype(pa.decimal128(12, 3)),
            )
        ),
        ["1.100", "", "-3.000", "1000.000", "0.000"],
    ),
    "date_objects": (
        lambda: _obj([dt.date(2025, 1, 9), NA, dt.date(1999, 12, 31), dt.date(2000, 2, 29), NA]),
        ["2025-01-09", "", "1999-12-31", "2000-02-29", ""],
    ),
    "date_arrow": (
        lambda: pd.Series(
            pd.array(
                [dt.date(2025, 1, 9), NA, dt.date(1999, 12, 31), dt.date(2000, 2, 29), NA],
                dtype=pd.ArrowDtype(pa.date32()),
            )
        ),
        ["2025-01-09", "", "1999-12-31", "2000-02-29", ""],
    ),
    # pandas has no day unit: datetime64[D] becomes midnight timestamps, written as such.
    "datetime64_D": (
        lambda: pd.Series(
            np.array(["2025-01-09", "NaT", "1999-12-31", "2000-02-29", "NaT"], "M8[D]")
        ),
        ["2025-01-09T00:00:00", "", "1999-12-31T00:00:00", "2000-02-29T00:00:00", ""],
    ),
    "datetime_ns": (
        lambda: _ts(
            [
                "2025-01-09T10:00:00",
                NA,
                "2025-01-09T10:00:00.5",
                "2025-01-09T10:00:00.000001",
                "2025-01-09T10:00:00.000000001",
            ]
        ),
        [
            "2025-01-09T10:00:00",
            "",
            "2025-01-09T10:00:00.500",
            "2025-01-09T10:00:00.000001",
            "2025-01-09T10:00:00.000000001",
        ],
    ),
    "datetime_utc": (
        lambda: _ts(["2025-01-09T10:00", NA, "2025-07-01T00:00:01.25", NA, "1970-01-01"], utc=True),
        [
            "2025-01-09T10:00:00+00:00",
            "",
            "2025-07-01T00:00:01.250+00:00",
            "",
            "1970-01-01T00:00:00+00:00",
        ],
    ),
    "datetime_paris": (
        lambda: _ts(
            ["2025-01-09T10:00", NA, "2025-07-09T10:00", NA, "2025-03-30T03:30"]
        ).dt.tz_localize(PARIS),
        [
            "2025-01-09T10:00:00+01:00",
            "",
            "2025-07-09T10:00:00+02:00",
            "",
            "2025-03-30T03:30:00+02:00",
        ],
    ),
    "datetime_objects": (
        lambda: _obj(
            [
                dt.datetime(2025, 1, 9, 10),
                NA,
                dt.datetime(2025, 1, 9, 10, 0, 0, 500000),
                dt.datetime(2025, 1, 9, 10, tzinfo=dt.UTC),
                dt.datetime(2025, 7, 9, 10, 0, 0, 1, tzinfo=PARIS),
            ]
        ),
        [
            "2025-01-09T10:00:00",
            "",
            "2025-01-09T10:00:00.500",
            "2025-01-09T10:00:00+00:00",
            "2025-07-09T10:00:00.000001+02:00",
        ],
    ),
    "time_objects": (
        lambda: _obj([dt.time(10), NA, dt.time(23, 59, 59, 500000), dt.time(0, 0, 0, 1), NA]),
        ["10:00:00", "", "23:59:59.500", "00:00:00.000001", ""],
    ),
    "timedelta": (
        lambda: pd.Series(pd.to_timedelta(["1 day 2h", NA, "3s", "0s", "-1h"])),
        ["P1DT2H0M0S", "", "P0DT0H0M3S", "P0DT0H0M0S", "P-1DT23H0M0S"],
    ),
    "categorical": (
        lambda: pd.Series(pd.Categorical(["x", NA, "y", "x", "a,b"])),
        ["x", "", "y", "x", '"a,b"'],
    ),
    "categorical_ints": (
        lambda: pd.Series(pd.Categorical([3, 1, NA, 3, 2])),
        ["3", "1", "", "3", "2"],
    ),
    "object_mixed": (
        lambda: _obj([1, "a", NA, 2.5, True]),
        ["1", "a", "", "2.5", "true"],
    ),
    "object_ints": (lambda: _obj([1, NA, 3, 2**70, -5]), ["1", "", "3", str(2**70), "-5"]),
    "object_floats": (
        lambda: _obj([2.0, NA, 0.1, math.nan, 1e-7]),
        ["2.0", "", "0.1", "", "1e-7"],
    ),
    "object_numbers": (
        lambda: _obj([1, 2.0, np.int64(3), np.float32(0.1), np.bool_(False)]),
        ["1", "2.0", "3", "0.1", "false"],
    ),
    "object_bools": (lambda: _obj([True, NA, False, True, NA]), ["true", "", "false", "true", ""]),
    "strings": (
        lambda: pd.Series(['q"x', "a,b", "l\nm", "", NA], dtype="str"),
        ['"q""x"', '"a,b"', '"l\nm"', '""', ""],
    ),
    "float16": (
        lambda: pd.Series(np.array([0.1, 1.5, np.nan, -2.0, 65504.0], np.float16)),
        ["0.1", "1.5", "", "-2.0", "65500.0"],
    ),
    "uint64": (
        lambda: pd.Series(np.array([2**64 - 1, 0, 1, 2, 3], np.uint64)),
        [str(2**64 - 1), "0", "1", "2", "3"],
    ),
    "decimal256_arrow": (
        lambda: pd.Series(
            pd.array(
                [Decimal("1.5"), NA, Decimal("-2"), Decimal("1E+30"), Decimal("0.01")],
                dtype=pd.ArrowDtype(pa.decimal256(40, 2)),
            )
        ),
        ["1.50", "", "-2.00", "1" + "0" * 30 + ".00", "0.01"],
    ),
    "timestamp_tz_arrow": (
        lambda: pd.Series(
            pd.array(
                [
                    dt.datetime(2025, 1, 9, 9, tzinfo=dt.UTC),
                    NA,
                    NA,
                    NA,
                    dt.datetime(2100, 7, 1, tzinfo=dt.UTC),
                ],
                dtype=pd.ArrowDtype(pa.timestamp("us", "Europe/Paris")),
            )
        ),
        ["2025-01-09T10:00:00+01:00", "", "", "", "2100-07-01T02:00:00+02:00"],
    ),
    "time_arrow": (
        lambda: pd.Series(
            pd.array(
                [dt.time(10), NA, dt.time(23, 59, 59, 500000), dt.time(0, 0, 0, 1), NA],
                dtype=pd.ArrowDtype(pa.time64("us")),
            )
        ),
        ["10:00:00", "", "23:59:59.500", "00:00:00.000001", ""],
    ),
    "list_arrow": (
        lambda: pd.Series(
            pd.array([[1, 2], NA, [], [3], NA], dtype=pd.ArrowDtype(pa.list_(pa.int64())))
        ),
        ['"[1, 2]"', "", "[]", "[3]", ""],
    ),
    "categorical_zoned": (
        lambda: pd.Series(pd.Categorical(_ts(["2025-01-09", NA, "2025-07-09", NA, NA], utc=True))),
        ["2025-01-09T00:00:00+00:00", "", "2025-07-09T00:00:00+00:00", "", ""],
    ),
    "period": (
        lambda: pd.Series(pd.period_range("2025-01", periods=5, freq="M")),
        ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"],
    ),
    "object_strings": (
        lambda: _obj(["plain", NA, " padded ", "tab\there", "crlf\r\n"]),
        ["plain", "", " padded ", "tab\there", '"crlf\r\n"'],
    ),
}

GENERATE = """
from tests.reliability.test_writer import produce

def run(ctx, input, output):
    return {{"output": (produce({case!r}, chunk, {lone!r}) for chunk in input)}}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def produce(case: str, chunk: pd.DataFrame, lone: bool) -> pd.DataFrame:
    """The case's values at the chunk's row positions (column ``i``)."""
    positions = [int(i) for i in chunk["i"]]
    values = CASES[case][0]().iloc[positions].reset_index(drop=True)
    if lone:
        return pd.DataFrame({"v": values})
    return pd.DataFrame({"i": pd.Series(positions, dtype="int64"), "v": values})


def expected(case: str, lone: bool) -> str:
    texts = CASES[case][1]
    if lone:
        return "v\n" + "".join((t or '""') + "\n" for t in texts)
    return "i,v\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))


def _run(project: Project, case: str, mode: str, chunk_rows: int, lone: bool) -> bytes:
    step = project.step(f"gen_{mode}_{chunk_rows}", GENERATE.format(case=case, lone=lone))
    out = project.root / f"out_{mode}_{chunk_rows}"
    text = f"""
    name: writer
    execution: {{mode: {mode}}}
    inputs:
      rows: {{uri: rows.csv}}
    steps:
      - {{id: gen, uses: {step}, with: {{input: rows, output: values}}}}
    outputs:
      datasets: [{{name: values, from: values}}]
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(text, f"{mode}_{chunk_rows}.yaml"))
    result = LocalRunner(project.input_dir, out, stream_chunk_size=chunk_rows).run(pipeline)
    assert result["status"] == "success", result["error"]
    return Path(out / "values.csv").read_bytes()


@pytest.mark.parametrize("lone", [False, True], ids=["with_index_column", "lone_column"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_batch_and_stream_write_the_table(project: Project, case: str, lone: bool) -> None:
    project.csv("rows.csv", "i\n" + "".join(f"{i}\n" for i in range(5)))
    want = expected(case, lone).encode()
    assert _run(project, case, "batch", 50_000, lone) == want
    for chunk_rows in (1, 2, 50_000):
        assert _run(project, case, "stream", chunk_rows, lone) == want, chunk_rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_empty_output_is_the_header_in_both_modes(project: Project, case: str) -> None:
    project.csv("rows.csv", "i\n")
    assert _run(project, case, "batch", 50_000, False) == b"i,v\n"
    for chunk_rows in (1, 50_000):
        assert _run(project, case, "stream", chunk_rows, False) == b"i,v\n"


def _bytes(frame: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write(frame, path)
        return path.read_bytes()


@pytest.mark.parametrize("case", sorted(CASES))
def test_empty_frame_writes_the_header_only(case: str) -> None:
    frame = pd.DataFrame({"i": pd.Series([], dtype="int64"), "v": CASES[case][0]().iloc[:0]})
    assert _bytes(frame) == b"i,v\n"


def test_frame_without_columns_writes_nothing() -> None:
    assert _bytes(pd.DataFrame(index=range(3))) == b""


def test_header_names_are_quoted_like_fields_and_may_repeat() -> None:
    frame = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["a,b", 'q"', "a,b", "c\rr", "l\nf"])
    assert _bytes(frame) == b'"a,b","q""","a,b","c\rr","l\nf"\n1,2,3,4,5\n'


def _value_by_value(values: list[Any]) -> bytes:
    """``values`` written from an object column of mixed types (one trailing text value, its
    line dropped): the writer's value-by-value path."""
    written = _bytes(pd.DataFrame({"v": _obj([*values, "x"])}))
    assert written.endswith(b"\nx\n")
    return written[:-2]


# polars switches to exponent form below 1e-5 and from 1e16 (float32: 1e-6 and 1e13).
EDGES = [10.0**k * m for k in range(-9, 19) for m in (1.0, 1.5, 9.999)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=20))
@example(EDGES)
@example([-v for v in EDGES])
def test_floats_in_object_columns_are_written_as_in_float_columns(values: list[float]) -> None:
    """Mixed object columns are written value by value; a float column by polars: same text."""
    typed = _bytes(pd.DataFrame({"v": values}))
    assert _bytes(pd.DataFrame({"v": _obj(values)})) == typed
    assert _value_by_value(values) == typed
    assert typed == pl.DataFrame({"v": values}).write_csv().encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=20))
@example(EDGES)
def test_float32_values_in_object_columns_match_float32_columns(values: list[float]) -> None:
    array = np.array(values, np.float32)
    typed = _bytes(pd.DataFrame({"v": array}))
    assert _bytes(pd.DataFrame({"v": _obj(list(array))})) == typed
    assert _value_by_value(list(array)) == typed


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
        min_size=1,
        max_size=10,
    )
)
def test_datetimes_in_object_columns_are_written_as_in_datetime_columns(
    values: list[dt.datetime],
) -> None:
    typed = _bytes(pd.DataFrame({"v": pd.Series(values, dtype="datetime64[us]")}))
    assert _bytes(pd.DataFrame({"v": _obj(values)})) == typed
    assert _value_by_value(values) == typed


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.datetimes(
            min_value=dt.datetime(1900, 1, 1),
            max_value=dt.datetime(2200, 1, 1),
            timezones=st.sampled_from([dt.UTC, PARIS, ZoneInfo("America/New_York")]),
        ),
        min_size=1,
        max_size=10,
    ),
    st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]),
)
def test_zoned_datetimes_in_object_columns_are_written_as_in_zoned_columns(
    values: list[dt.datetime], zone: str
) -> None:
    typed = _bytes(
        pd.DataFrame({"v": pd.Series(pd.to_datetime(values, utc=True)).dt.tz_convert(zone)})
    )
    local = [pd.Timestamp(v).tz_convert(zone) for v in values]
    assert _bytes(pd.DataFrame({"v": _obj(local)})) == typed
    assert _value_by_value(local) == typed


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(), min_size=1, max_size=10))
def test_dates_in_object_columns_are_written_as_in_date32_columns(values: list[dt.date]) -> None:
    typed = _bytes(pd.DataFrame({"v": pd.array(values, dtype=pd.ArrowDtype(pa.date32()))}))
    assert _bytes(pd.DataFrame({"v": _obj(values)})) == typed
    assert _value_by_value(values) == typed
