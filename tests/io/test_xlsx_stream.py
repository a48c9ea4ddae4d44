"""xlsx read in openpyxl's read-only mode, in two passes: the same table whole or in chunks of
any size, the same table pandas' Excel reader gave, and the workbook closed when a stream stops."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trakt.errors import InputError
from trakt.io import get_format
from trakt.io.excel import cell_text, infer, iter_tables, read_schema, read_table
from trakt.io.registry import ReadRequest

openpyxl = pytest.importorskip("openpyxl", reason="the excel extra (openpyxl) is not installed")

XLSX = get_format("xlsx")

CELLS = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.sampled_from([2**40, 10**20, -(2**53)]),
    st.sampled_from([1.5, -0.25, 2.0, 1e300]),
    st.sampled_from(["a", "NA", "null", " ", "5", "5.0", "x", "é\nz", "#DIV/0!"]),
    st.booleans(),
    st.sampled_from([dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1, 13, 5, 7), dt.time(8, 30)]),
)
# Mostly a header of distinct names over rows of up to its width; sometimes any cells at all.
SHEETS = st.one_of(
    st.integers(1, 4).flatmap(
        lambda width: st.lists(st.lists(CELLS, max_size=width), max_size=12).map(
            lambda rows: [[f"c{i}" for i in range(width)], *rows]
        )
    ),
    st.lists(st.lists(CELLS, max_size=4), max_size=8),
)
OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "skiprows": st.one_of(st.integers(0, 3), st.lists(st.integers(0, 6), max_size=3)),
        "usecols": st.sampled_from(["A", "A:B", "B,D", [0, 2], [1]]),
        "na_values": st.sampled_from([["x"], ["5"], [7], "a"]),
        "dtype": st.sampled_from(["str", "float"]),
    },
)


def write_sheet(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def outcome(read: Any) -> Any:
    """A table, or the error it raised."""
    try:
        return read()
    except InputError as exc:
        return ("InputError", str(exc))


def as_pandas_read_it(path: Path, options: dict[str, Any]) -> pa.Table:
    """The reader this module replaces: pandas' read_excel (openpyxl engine) for the cells,
    then each column typed as Trakt typed it (mixed whole and fractional numbers: float;
    kinds mixed or no common type: text, where pyarrow would turn a number beside a date
    into a timestamp)."""
    opts = {k: options[k] for k in ("skiprows", "usecols", "na_values") if k in options}
    frame = pd.read_excel(path, header=None, dtype=object, engine="openpyxl", **opts)
    if frame.empty:
        return pa.table({})
    raw = pd.read_excel(path, header=None, dtype=object, na_filter=False, **opts)

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    names = ["" if missing(c) or c == "" else str(c) for c in raw.iloc[0].tolist()]
    arrays = []
    for position in range(len(names)):
        cells = [None if missing(v) else v for v in frame.iloc[1:, position].tolist()]
        present = [v for v in cells if v is not None]
        kinds = {"number" if type(v) in (int, float) else type(v) for v in present}
        if options.get("dtype") == "str" or len(kinds) > 1:  # deliberate: mixed kinds are text
            array = pa.array([None if v is None else cell_text(v) for v in cells], pa.string())
        elif any(type(v) is float for v in present) and any(type(v) is int for v in present):
            array = pa.array([None if v is None else float(v) for v in cells], pa.float64())
        else:
            try:
                array = pa.array(cells)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                text = [None if v is None else cell_text(v) for v in cells]
                array = pa.array(text, pa.string())
        if options.get("dtype") == "float" and array.type != pa.float64():
            array = array.cast(pa.float64())
        arrays.append(array)
    return pa.table(arrays, names=names)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=SHEETS, options=OPTIONS)
# A declared float over text made of a huge whole number, and of a bool: errors, not crashes.
@example(rows=[["c0"], [10**20], ["a"]], options={"dtype": "float"})
@example(rows=[["c0"], [0], [False]], options={"dtype": "float"})
def test_reads_what_pandas_read(
    tmp_path: Path, rows: list[list[Any]], options: dict[str, Any]
) -> None:
    path = write_sheet(tmp_path / "s.xlsx", rows)
    names = {str(c) for c in (rows[0] if rows else [])}
    if len(names) < len(rows[0] if rows else []):  # pandas renames duplicates; Trakt refuses
        return
    try:
        expected = as_pandas_read_it(path, options)
    except Exception:  # pandas refused it (usecols beyond the sheet, a cell float refuses)
        with pytest.raises(InputError):
            read_table(ReadRequest(path, options))
        return
    got = outcome(lambda: read_table(ReadRequest(path, options)))
    if isinstance(got, tuple):  # Trakt refuses what pandas renamed: a header name twice
        assert "more than once" in got[1]
        return
    assert got.schema == expected.schema
    assert got.to_pylist() == expected.to_pylist()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=SHEETS, options=OPTIONS, chunk=st.sampled_from([1, 7, 50000]))
# Two columns break a declared type in different rows: both modes name the earlier row.
@example(
    rows=[["n", "m"], [None, None], ["a", dt.datetime(2024, 3, 1)], [None, "b"]],
    options={"dtype": "float"},
    chunk=1,
)
def test_chunks_make_the_whole_table(
    tmp_path: Path, rows: list[list[Any]], options: dict[str, Any], chunk: int
) -> None:
    path = write_sheet(tmp_path / "s.xlsx", rows)
    request = ReadRequest(path, options)
    whole = outcome(lambda: read_table(request))
    chunks = outcome(lambda: list(iter_tables(request, chunk)))
    if isinstance(whole, tuple):
        assert chunks == whole  # the same error, naming the same row
        return
    assert isinstance(chunks, list)
    assert all(t.num_rows <= chunk for t in chunks)
    assert all(t.num_rows == chunk for t in chunks[:-1])
    assert pa.concat_tables(chunks).equals(whole)
    assert read_schema(request) == whole.schema


@given(st.lists(CELLS.filter(lambda v: v is not None), max_size=30))
# A huge float beside a date: pyarrow overflows on it, not on the first float seen.
@example([dt.datetime(2024, 3, 1), 1.5, 1e300])
def test_a_columns_type_follows_from_one_value_of_each_kind(values: list[Any]) -> None:
    from trakt.io.excel import _Kinds

    kinds = _Kinds()
    for value in values:
        kinds.see(value)
    assert infer(kinds.witnesses()) == infer(values)


@pytest.mark.parametrize(
    ("cells", "shown"),
    [
        ([dt.datetime(2024, 3, 1), 1.5], ["2024-03-01", "1.5"]),
        ([dt.time(8, 30), 2], ["08:30:00", "2"]),
        ([True, 1.5], ["TRUE", "1.5"]),
        ([3, False], ["3", "FALSE"]),
    ],
)
def test_a_column_mixing_kinds_is_text_not_reinterpreted(
    tmp_path: Path, cells: list[Any], shown: list[str]
) -> None:
    # pyarrow alone would type [date, 1.5] as timestamps, 1.5 becoming 1970-01-01T00:00:00.000001
    path = write_sheet(tmp_path / "s.xlsx", [["c"], *([c] for c in cells)])
    table = read_table(ReadRequest(path, {}))
    assert table.schema.field("c").type == pa.string()
    assert table.column("c").to_pylist() == shown


def big_sheet(path: Path, rows: int) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(["id", "name", "amount"])
    for i in range(rows):
        sheet.append([i, f"n{i}", i / 4])
    book.save(path)
    return path


def open_handles(path: Path) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(fds / fd) == str(path)
        except OSError:
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_a_stream_that_stops_early_closes_the_workbook(tmp_path: Path) -> None:
    path = big_sheet(tmp_path / "big.xlsx", 500)
    chunks = iter_tables(ReadRequest(path, {}), 10)
    first = next(chunks)
    assert first.column("id").to_pylist() == list(range(10))
    assert open_handles(path) == 1  # the second pass holds the workbook open
    chunks.close()
    assert open_handles(path) == 0


def test_chunks_hold_the_schema_of_the_whole_sheet(tmp_path: Path) -> None:
    # The first chunk has only whole numbers; a fraction further down makes the column float.
    path = write_sheet(tmp_path / "s.xlsx", [["n", "t"], [1, "a"], [2, 5], [2.5, None]])
    chunks = list(XLSX.iter_tables(ReadRequest(path, {}), 1))
    assert [t.schema for t in chunks] == [pa.schema([("n", pa.float64()), ("t", pa.string())])] * 3
    assert [r for t in chunks for r in t.to_pylist()] == [
        {"n": 1.0, "t": "a"},
        {"n": 2.0, "t": "5"},
        {"n": 2.5, "t": None},
    ]


def test_error_cells_are_missing_and_an_error_header_is_an_empty_name(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "s.xlsx", [["a", "#REF!"], [1, "#DIV/0!"], ["#N/A", 2]])
    table = read_table(ReadRequest(path, {}))
    assert table.column_names == ["a", ""]
    assert table.to_pylist() == [{"a": 1, "": None}, {"a": None, "": 2}]


def test_a_declared_type_a_cell_breaks_names_its_sheet_row(tmp_path: Path) -> None:
    rows = [["skip me"], ["n"], [1], ["skipped"], [2], ["three"]]
    path = write_sheet(tmp_path / "s.xlsx", rows)
    request = ReadRequest(path, {"skiprows": [0, 3], "dtype": {"n": "int"}})
    message = r"s\.xlsx:6: column 'n' is declared int64 \(options\.dtype\) but holds 'three'"
    with pytest.raises(InputError, match=message):
        read_table(request)
    with pytest.raises(InputError, match=message):
        list(iter_tables(request, 1))


def test_usecols_beyond_the_sheet_names_the_columns(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "s.xlsx", [["a", "b"], [1, 2]])
    message = (
        r"s\.xlsx: options\.usecols picks column\(s\) \['D \(position 3\)'\], "
        r"but the sheet's last column is B \(position 1\)"
    )
    with pytest.raises(InputError, match=message):
        read_table(ReadRequest(path, {"usecols": "A,D"}))


def test_a_number_in_na_values_takes_whole_and_fractional_spellings(tmp_path: Path) -> None:
    rows = [["n", "t", "b"], [1, "1.0", True], [2, "1", False], [1.0, "x", True]]
    path = write_sheet(tmp_path / "s.xlsx", rows)
    table = read_table(ReadRequest(path, {"na_values": [1]}))
    # A bool is never a missing value, though True == 1 in Python.
    assert table.to_pylist() == [
        {"n": None, "t": None, "b": True},
        {"n": 2, "t": None, "b": False},
        {"n": None, "t": "x", "b": True},
    ]


def test_the_options_are_checked_at_validation() -> None:
    problems = XLSX.check_options(
        {"skiprows": -1, "usecols": "A:B:C", "na_values": {"a": 1}, "dtype": "str"}
    )
    assert problems == [
        "option 'skiprows' must be a whole number >= 0 or a list of 0-based row numbers, found -1",
        "option 'usecols': 'A:B:C' is not a column range like A:C; write letters and ranges "
        "like 'A:C,E'",
        "option 'na_values' must be a text or number, or a list of them, found {'a': 1}",
    ]
    assert XLSX.check_options({"usecols": [0, "a"]})[0].startswith("option 'usecols' must be")
    assert XLSX.check_options({"usecols": "A,C:E", "skiprows": [0, 2], "na_values": "-"}) == []


def test_the_sheet_is_named_when_missing(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "s.xlsx", [["a"], [1]])
    with pytest.raises(InputError, match=r"no sheet named 'Nope' \(it has \['Sheet'\]\)"):
        read_table(ReadRequest(path, {}, "Nope"))
    with pytest.raises(InputError, match=r"sheet index 1 is out of range \(it has 1 sheet"):
        read_table(ReadRequest(path, {}, 1))
