"""Excel (``.xlsx``) input through pandas and openpyxl (the ``excel`` extra). Read-only."""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trakt.errors import InputError, OutputError
from trakt.io.base import ChunkWriter, ReadRequest, check_unknown_options, conform, slices
from trakt.io.csv import DTYPES

OPTION_NAMES = frozenset({"dtype", "skiprows", "usecols", "na_values", "source_column"})
EXTRA_HINT = "install the excel extra: python -m pip install 'trakt-etl[excel]'"


def available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


class ExcelFormat:
    name = "xlsx"
    extensions: tuple[str, ...] = (".xlsx", ".xlsm")
    option_names = OPTION_NAMES
    can_write = False

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
            if not isinstance(name, str) or name not in DTYPES:
                problems.append(f"unknown dtype {name!r}; use one of: str, int, float, bool")
        if not available():
            problems.append(f"format 'xlsx' needs openpyxl: {EXTRA_HINT}")
        return problems

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def read_table(self, request: ReadRequest) -> pa.Table:
        options = request.options
        opts = {k: v for k, v in options.items() if k not in ("source_column", "dtype")}
        try:
            # Cells as openpyxl gives them (int, float, str, datetime, bool): the types are
            # decided per column below, so one text cell in a numeric column is no failure.
            frame = pd.read_excel(
                request.path,
                sheet_name=request.sheet if request.sheet is not None else 0,
                engine="openpyxl",
                dtype=object,
                **opts,
            )
        except ImportError:
            raise InputError(f"cannot read {request.path}: {EXTRA_HINT}") from None
        except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
            raise InputError(
                f"cannot read Excel file {request.path}: {exc}", file=str(request.path)
            ) from None
        skip = options.get("skiprows") or 0
        # Sheet row numbers, where they can be known (a list of skipped rows: not simply).
        first_line = 2 + skip if isinstance(skip, int) else None
        declared = _declared(options.get("dtype"), [str(c) for c in frame.columns])
        arrays = [
            _column(request, str(name), frame[name].tolist(), declared.get(str(name)), first_line)
            for name in frame.columns
        ]
        return pa.table(arrays, names=[str(c) for c in frame.columns])

    def schema(self, request: ReadRequest) -> pa.Schema:
        return self.read_table(request).schema

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        # Spreadsheets are small by nature: read once, hand out slices.
        table = self.read_table(request)
        if schema is not None:
            table = conform(table, schema)
        yield from slices(table, chunk_rows)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        raise OutputError("writing xlsx is not supported; write CSV outputs")

    def open_writer(self, path: Path) -> ChunkWriter:
        raise OutputError("writing xlsx is not supported; write CSV outputs")


def _declared(dtype: Any, names: list[str]) -> dict[str, pa.DataType]:
    if isinstance(dtype, str):
        return dict.fromkeys(names, DTYPES[dtype])
    return {str(col): DTYPES[name] for col, name in (dtype or {}).items()}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def cell_text(value: Any) -> str:
    """A cell's value as text: ``7`` not ``7.0`` (openpyxl gives whole numbers as int),
    dates without a midnight time, ``TRUE``/``FALSE`` as Excel shows booleans."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime) and value == datetime.datetime.combine(
        value.date(), datetime.time()
    ):
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _column(
    request: ReadRequest,
    name: str,
    values: list[Any],
    declared: pa.DataType | None,
    first_line: int | None,
) -> pa.Array:
    """One column: text where declared ``str``; otherwise the cells' common type, or text
    where they have none (numbers with one text cell), as combining files does."""
    cells = [None if _missing(v) else v for v in values]
    if declared is not None and pa.types.is_string(declared):
        return pa.array([None if v is None else cell_text(v) for v in cells], pa.string())
    try:
        inferred = pa.array(cells)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        inferred = pa.array([None if v is None else cell_text(v) for v in cells], pa.string())
    if declared is None or inferred.type == declared:
        return inferred
    try:
        return inferred.cast(declared)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, value in enumerate(cells):
        try:
            pa.array([value]).cast(declared)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            line = None if first_line is None else first_line + i
            where = f"{request.path}:{line}" if line else f"{request.path} (data row {i + 1})"
            raise InputError(
                f"{where}: column '{name}' is declared {declared} (options.dtype) but holds "
                f"{cell_text(value)!r}; declare it str, or fix the cell",
                file=str(request.path),
                line=line,
                column=name,
            ) from None
    return inferred.cast(declared, safe=False)
