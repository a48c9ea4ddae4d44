"""The xlsx format plug-in (the ``excel`` extra): names, extensions and option checks without
pandas, pyarrow or openpyxl; reading (:mod:`trakt.io.excel`) and writing
(:mod:`trakt.io.xlsx_writer`) are imported when data moves."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trakt.io.csv_option_rules import DTYPE_NAMES
from trakt.io.registry import TableWriter, check_unknown_options

if TYPE_CHECKING:
    import pyarrow as pa

    from trakt.io.registry import ReadRequest

OPTION_NAMES = frozenset({"dtype", "skiprows", "usecols", "na_values", "source_column"})
EXTRA_HINT = "install the excel extra: python -m pip install 'trakt-etl[excel]'"


def available() -> bool:
    """Whether openpyxl is installed (looked up, not imported)."""
    return importlib.util.find_spec("openpyxl") is not None


class ExcelFormat:
    """Excel workbooks (``.xlsx``, ``.xlsm``): one sheet per input or output."""

    name = "xlsx"
    extensions: tuple[str, ...] = (".xlsx", ".xlsm")
    option_names = OPTION_NAMES
    takes_sheet = True
    writer_option_names = frozenset({"sheet"})

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_unknown_options(options, OPTION_NAMES, "xlsx")
        dtype = options.get("dtype")
        names = (
            [dtype]
            if isinstance(dtype, str)
            else list(dtype.values())
            if isinstance(dtype, dict)
            else []
        )
        if dtype is not None and not names and not isinstance(dtype, dict):
            problems.append(f"option 'dtype' must be a type name or a mapping, found {dtype!r}")
        for name in names:
            if not isinstance(name, str) or name not in DTYPE_NAMES:
                problems.append(f"unknown dtype {name!r}; use one of: str, int, float, bool")
        problems += _row_and_column_problems(options)
        if not available():
            problems.append(f"format 'xlsx' needs openpyxl: {EXTRA_HINT}")
        return problems

    def check_writer_options(self, options: Mapping[str, Any]) -> list[str]:
        from trakt.io.xlsx_writer import check_sheet

        problems = check_unknown_options(options, self.writer_option_names, "xlsx writer")
        if "sheet" in options:
            problems += check_sheet(options["sheet"])
        if not available():
            problems.append(f"format 'xlsx' needs openpyxl: {EXTRA_HINT}")
        return problems

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The sheet defaults to the output's name (``orders.xlsx``: ``orders``), made a
        valid sheet name (at most 31 characters, none of ``[]:*?/\\``)."""
        from trakt.io.xlsx_writer import default_sheet

        return {"sheet": default_sheet(path), **options}

    def read_table(self, request: ReadRequest) -> pa.Table:
        from trakt.io.excel import read_table

        return read_table(request)

    def schema(self, request: ReadRequest) -> pa.Schema:
        from trakt.io.excel import read_schema

        return read_schema(request)

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        from trakt.io.excel import iter_tables

        return iter_tables(request, chunk_rows, schema)

    def open_writer(self, path: Path, options: Mapping[str, Any]) -> TableWriter:
        from trakt.io.xlsx_writer import XlsxWriter, default_sheet

        sheet = str(options.get("sheet") or default_sheet(str(path)))
        return XlsxWriter(path, str(options.get("output", sheet)), sheet)


def _row_and_column_problems(options: Mapping[str, Any]) -> list[str]:
    """``skiprows``: a count or a list of 0-based rows; ``usecols``: letters (``A:C,E``), or a
    list of positions or of header names; ``na_values``: a text or number, or a list of them."""
    from trakt.io.xlsx_cells import letters_to_positions

    problems: list[str] = []
    skip = options.get("skiprows")
    if skip is not None and not (
        _whole(skip) or (isinstance(skip, list) and all(map(_whole, skip)))
    ):
        problems.append(
            f"option 'skiprows' must be a whole number >= 0 or a list of 0-based row numbers, "
            f"found {skip!r}"
        )
    usecols = options.get("usecols")
    if isinstance(usecols, str):
        try:
            letters_to_positions(usecols)
        except ValueError as exc:
            problems.append(f"option 'usecols': {exc}; write letters and ranges like 'A:C,E'")
    elif usecols is not None and not (
        isinstance(usecols, list)
        and (all(map(_whole, usecols)) or all(isinstance(c, str) for c in usecols))
    ):
        problems.append(
            "option 'usecols' must be column letters ('A:C,E'), or a list of 0-based "
            f"positions, or a list of header names, found {usecols!r}"
        )
    na = options.get("na_values")
    if na is not None and not (_scalar(na) or (isinstance(na, list) and all(map(_scalar, na)))):
        problems.append(
            f"option 'na_values' must be a text or number, or a list of them, found {na!r}"
        )
    return problems


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
