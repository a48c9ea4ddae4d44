"""xlsx output: values, formulas as text, limits, same bytes whatever the chunking."""

from __future__ import annotations

import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from trakt.errors import OutputError
from trakt.io.base import slices

openpyxl = pytest.importorskip("openpyxl", reason="the excel extra (openpyxl) is not installed")

from trakt.io.xlsx_writer import XlsxWriter, check_sheet  # noqa: E402

TABLE = pa.table(
    {
        "id": pa.array([1, None, 3], pa.int64()),
        "score": [1.5, float("nan"), -2.0],
        "name": ["Ada", "=1+1", 'Süd, "q"\nline'],
        "ok": [True, False, None],
        "day": [datetime.date(2024, 1, 2), None, datetime.date(1999, 12, 31)],
        "at": pa.array(
            [datetime.datetime(2024, 1, 2, 3, 4, 5), None, datetime.datetime(2000, 1, 1)],
            pa.timestamp("us", "Europe/Berlin"),
        ),
    }
)


def _write(path: Path, chunk_rows: int | None = None) -> bytes:
    writer = XlsxWriter(path, "orders", "orders")
    for table in [TABLE] if chunk_rows is None else list(slices(TABLE, chunk_rows)):
        writer.write(table)
    writer.close()
    return path.read_bytes()


@pytest.mark.parametrize("chunk_rows", [1, 2, 50000])
def test_bytes_equal_whatever_the_chunking_and_run(tmp_path: Path, chunk_rows: int) -> None:
    whole = _write(tmp_path / "a.xlsx")
    assert _write(tmp_path / "b.xlsx", chunk_rows) == whole
    assert _write(tmp_path / "c.xlsx") == whole


def test_values_read_back(tmp_path: Path) -> None:
    _write(tmp_path / "a.xlsx")
    book = openpyxl.load_workbook(tmp_path / "a.xlsx")
    rows = list(book["orders"].iter_rows(values_only=True))
    assert rows[0] == ("id", "score", "name", "ok", "day", "at")
    assert rows[1][:4] == (1, 1.5, "Ada", True)
    assert rows[2][:4] == (None, None, "=1+1", False)
    assert book["orders"]["C3"].data_type == "s"  # text, not a formula
    assert rows[1][5] == datetime.datetime(2024, 1, 2, 3, 4, 5)  # the UTC instant, naive


def test_sheet_names_checked() -> None:
    assert check_sheet("orders") == []
    assert "31" in check_sheet("x" * 32)[0]
    assert "[]:*?/" in check_sheet("a/b")[0]


def test_too_many_columns_is_an_output_error(tmp_path: Path) -> None:
    wide = pa.table({f"c{i}": [1] for i in range(16_385)})
    with pytest.raises(OutputError, match=r"output 'orders': 16385 columns"):
        XlsxWriter(tmp_path / "w.xlsx", "orders", "orders").write(wide)


def test_an_integer_beyond_2_to_the_53_is_refused_not_rounded(tmp_path: Path) -> None:
    from trakt.errors import OutputError
    from trakt.io.xlsx_writer import XlsxWriter

    writer = XlsxWriter(tmp_path / "o.xlsx", "o", "o")
    writer.write(pa.table({"n": [2**53, -(2**53)]}))  # exact as doubles: fine
    with pytest.raises(OutputError, match=r"column 'n' holds the integer 9007199254740993"):
        writer.write(pa.table({"n": [1, 2**53 + 1]}))
    writer.close()  # as a run's discard does: the workbook is finished, then removed


def test_a_control_character_is_an_output_error_naming_the_cell(tmp_path: Path) -> None:
    writer = XlsxWriter(tmp_path / "out.xlsx", "orders", "orders")
    writer.write(pa.table({"id": [1], "note": ["tab\tand\nline"]}))  # these XML carries
    message = r"output 'orders': column 'note' \(row 3\) holds the control character '\\x01'"
    with pytest.raises(OutputError, match=message):
        writer.write(pa.table({"id": [2, 3], "note": ["fine", "bell\x01"]}))


def test_a_control_character_in_a_column_name_is_an_output_error(tmp_path: Path) -> None:
    writer = XlsxWriter(tmp_path / "out.xlsx", "orders", "orders")
    with pytest.raises(OutputError, match=r"column 'a\\x1fb' \(its name\) holds the control"):
        writer.write(pa.table({"a\x1fb": [1]}))
