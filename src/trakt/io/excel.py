"""Excel (``.xlsx``) through openpyxl (the ``excel`` extra): read via pandas, written by
:mod:`trakt.io.xlsx_writer`."""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa

from trakt.errors import InputError
from trakt.io.base import conform, slices
from trakt.io.csv_options import DTYPES
from trakt.io.excel_format import EXTRA_HINT, OPTION_NAMES, available  # noqa: F401
from trakt.io.registry import ReadRequest


def read_table(request: ReadRequest) -> pa.Table:
    """The sheet as an Arrow table: each column the cells' common type (see :func:`_column`)."""
    options = request.options
    skip = options.get("skiprows") or 0
    # Sheet row numbers, where they can be known (a list of skipped rows: not simply).
    first_line = 2 + skip if isinstance(skip, int) else None
    frame, names = _read_sheet(request)
    declared = _declared(options.get("dtype"), names)
    arrays = [
        _column(request, name, frame[i].tolist(), declared.get(name), first_line)
        for i, name in zip(frame.columns, names, strict=True)
    ]
    return pa.table(arrays, names=names)


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """The sheet in tables of ``chunk_rows`` rows (spreadsheets are small: read once)."""
    table = read_table(request)
    if schema is not None:
        table = conform(table, schema)
    yield from slices(table, chunk_rows)


def _read_sheet(request: ReadRequest) -> tuple[pd.DataFrame, list[str]]:
    """The data rows (columns by position) and the header's names exactly as written:
    pandas' own header would rename ``a,a`` to ``a,a.1`` and an empty cell to ``Unnamed: 1``."""
    options = request.options
    opts = {k: v for k, v in options.items() if k not in ("source_column", "dtype", "usecols")}
    usecols = options.get("usecols")
    by_name = isinstance(usecols, list) and any(isinstance(c, str) for c in usecols)
    if usecols is not None and not by_name:
        opts["usecols"] = usecols  # letters or positions: pandas picks them as it would
    # Cells as openpyxl gives them (int, float, str, datetime, bool): the types are decided
    # per column later, so one text cell in a numeric column is no failure.
    frame = _read_excel(request, header=None, dtype=object, **opts)
    if frame.empty:
        return frame, []
    cells = frame.iloc[0].tolist()
    if any(_missing(c) for c in cells):  # empty, or a text like "NA" that na_values took
        raw = _read_excel(request, header=None, nrows=1, na_filter=False, dtype=object, **opts)
        cells = raw.iloc[0].tolist() if not raw.empty else []
        cells += [""] * (len(frame.columns) - len(cells))
    names = ["" if _missing(c) else str(c) for c in cells[: len(frame.columns)]]
    _check_names(request, names)
    data = frame.iloc[1:].reset_index(drop=True)
    data.columns = pd.RangeIndex(len(names))
    if by_name:
        assert isinstance(usecols, list)
        absent = [c for c in usecols if str(c) not in names]
        if absent:
            raise InputError(
                f"{request.shown}: options.usecols names column(s) {absent} that the header "
                f"does not have (it has {names}); use names from the header",
                file=request.shown,
                column=str(absent[0]),
            )
        keep = [i for i, name in enumerate(names) if name in {str(c) for c in usecols}]
        data = data[keep]
        data.columns = pd.RangeIndex(len(keep))
        names = [names[i] for i in keep]
    return data, names


def _read_excel(request: ReadRequest, **options: Any) -> pd.DataFrame:
    sheet = request.sheet if request.sheet is not None else 0
    try:
        return pd.read_excel(request.path, sheet_name=sheet, engine="openpyxl", **options)
    except ImportError:
        raise InputError(f"cannot read {request.shown}: {EXTRA_HINT}") from None
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise InputError(
            f"cannot read Excel file {request.shown}: {exc}", file=request.shown
        ) from None


def _check_names(request: ReadRequest, names: list[str]) -> None:
    """A name twice (two empty cells too) is an error, as in a CSV header: never renamed."""
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if twice:
        skip = request.options.get("skiprows") or 0
        line = skip + 1 if isinstance(skip, int) else None
        where = f"{request.shown}:{line}" if line else request.shown
        raise InputError(
            f"{where}: the header names column(s) {twice} more than once; give every column "
            "its own name",
            file=request.shown,
            line=line,
            column=twice[0],
        )


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
    numbers = [v for v in cells if v is not None and not isinstance(v, bool)]
    mixed = any(isinstance(v, float) for v in numbers) and any(isinstance(v, int) for v in numbers)
    try:
        if mixed and all(isinstance(v, int | float) for v in numbers):
            # Excel stores every number as a double: 2.0 comes back as the int 2
            inferred = pa.array([None if v is None else float(v) for v in cells], pa.float64())
        else:
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


def __getattr__(name: str) -> object:
    if name == "ExcelFormat":  # moved to the light module; kept importable from here
        from trakt.io.excel_format import ExcelFormat

        return ExcelFormat
    raise AttributeError(name)
