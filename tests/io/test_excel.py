"""Excel (.xlsx) input through the format registry: sheets by name and by index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trakt.errors import InputError
from trakt.io import format_for_uri, get_format
from trakt.io.frames import to_pandas
from trakt.io.registry import ReadRequest
from trakt.io.sources import read_combined, resolve_files

openpyxl = pytest.importorskip("openpyxl", reason="the excel extra (openpyxl) is not installed")

XLSX = get_format("xlsx")


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """Two sheets: 'Orders' (first) and 'Regions' (second)."""
    book = openpyxl.Workbook()
    orders = book.active
    orders.title = "Orders"
    orders.append(["id", "customer", "amount"])
    orders.append([1, "Ada", 12.5])
    orders.append([2, "Grace", 7.25])
    regions = book.create_sheet("Regions")
    regions.append(["code", "name"])
    regions.append(["N", "North"])
    regions.append(["S", "Süd"])
    regions.append(["W", "West"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path


def read(path: Path, sheet: str | int | None = None, **options: Any) -> pd.DataFrame:
    return to_pandas(XLSX.read_table(ReadRequest(path, options, sheet)))


ORDERS = [
    {"id": 1, "customer": "Ada", "amount": 12.5},
    {"id": 2, "customer": "Grace", "amount": 7.25},
]
REGIONS = [
    {"code": "N", "name": "North"},
    {"code": "S", "name": "Süd"},
    {"code": "W", "name": "West"},
]


def test_registered_by_name_alias_and_extension() -> None:
    assert XLSX.name == "xlsx"
    assert get_format("excel") is XLSX
    assert format_for_uri("data/book.xlsx") == "xlsx"
    assert format_for_uri("data/*.xlsx") == "xlsx"
    assert XLSX.check_options({"usecols": "A:B"}) == []


def test_first_sheet_by_default(workbook: Path) -> None:
    assert read(workbook).to_dict(orient="records") == ORDERS


@pytest.mark.parametrize(("sheet", "expected"), [("Orders", ORDERS), ("Regions", REGIONS)])
def test_sheet_by_name(workbook: Path, sheet: str, expected: list[dict[str, Any]]) -> None:
    assert read(workbook, sheet).to_dict(orient="records") == expected


@pytest.mark.parametrize(("sheet", "expected"), [(0, ORDERS), (1, REGIONS)])
def test_sheet_by_index(workbook: Path, sheet: int, expected: list[dict[str, Any]]) -> None:
    assert read(workbook, sheet).to_dict(orient="records") == expected


def test_dtypes_follow_the_rules(workbook: Path) -> None:
    frame = read(workbook, "Orders")
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "id": "Int64",
        "customer": "str",
        "amount": "float64",
    }


def test_int_column_with_an_empty_cell_stays_int(tmp_path: Path) -> None:
    # The frames rules hold for every format: 11 never turns into 11.0 when a value is missing.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "n"])
    sheet.append([1, 11])
    sheet.append([2, None])
    path = tmp_path / "gaps.xlsx"
    book.save(path)
    frame = read(path)
    assert str(frame["n"].dtype) == "Int64"
    assert frame["n"].tolist() == [11, pd.NA]


def test_reader_options(workbook: Path) -> None:
    frame = read(workbook, "Regions", usecols="B", skiprows=[1])
    assert frame.to_dict(orient="records") == [{"name": "Süd"}, {"name": "West"}]


def test_chunks_are_slices_of_the_sheet(workbook: Path) -> None:
    chunks = [to_pandas(t) for t in XLSX.iter_tables(ReadRequest(workbook, {}, "Regions"), 2)]
    assert [len(c) for c in chunks] == [2, 1]
    assert [r for c in chunks for r in c.to_dict(orient="records")] == REGIONS


def test_read_combined_passes_the_sheet_and_source_column(workbook: Path) -> None:
    files = resolve_files("regions", "*.xlsx", workbook.parent)
    table = read_combined("regions", XLSX, files, "concat", {}, "Regions", source_column="src")
    assert to_pandas(table).to_dict(orient="records") == [
        {**row, "src": "book.xlsx"} for row in REGIONS
    ]


def test_missing_sheet_name_is_an_input_error(workbook: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read Excel file .*book\.xlsx.*'Nope'"):
        read(workbook, "Nope")


def test_sheet_index_out_of_range_is_an_input_error(workbook: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read Excel file .*book\.xlsx.*index 5"):
        read(workbook, 5)


def test_not_a_workbook_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"fake\.xlsx"):
        read(path)


def test_the_format_writes_xlsx(tmp_path: Path) -> None:
    import pyarrow as pa

    options = XLSX.writer_options_for("a-very-long-output-name-for-a-sheet.xlsx", {})
    assert options == {"sheet": "a-very-long-output-name-for-a-s"}
    assert XLSX.check_writer_options({"sheet": "a:b"})[0].startswith("sheet name 'a:b'")
    assert "unknown xlsx writer option 'sheat'" in XLSX.check_writer_options({"sheat": "x"})[0]
    writer = XLSX.open_writer(tmp_path / "out.xlsx", {"sheet": "Orders"})
    writer.write(pa.table({"id": [1, 2], "customer": ["Ada", "Grace"], "amount": [12.5, 7.25]}))
    writer.close()
    assert read(tmp_path / "out.xlsx", "Orders").to_dict(orient="records") == [
        {"id": 1, "customer": "Ada", "amount": 12.5},
        {"id": 2, "customer": "Grace", "amount": 7.25},
    ]
