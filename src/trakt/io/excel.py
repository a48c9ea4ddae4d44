"""Excel (``.xlsx``) to Arrow through openpyxl's read-only mode (the ``excel`` extra); written by
:mod:`trakt.io.xlsx_writer`.

Two passes over the same rows (:mod:`trakt.io.xlsx_cells`): :func:`scan` finds the header and
each column's type from every cell, holding one row at a time; :func:`_tables` then converts the
rows to tables of a fixed schema, one chunk at a time. A stream run reads the sheet twice and
holds one chunk; a batch run reads it once into memory and runs both passes over it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trakt.errors import InputError
from trakt.io.base import conform
from trakt.io.csv_options import DTYPES
from trakt.io.excel_format import EXTRA_HINT, OPTION_NAMES, available  # noqa: F401
from trakt.io.registry import ReadRequest
from trakt.io.xlsx_cells import (
    ERROR,
    Missing,
    column_letter,
    sheet_rows,
    skipper,
    usecols_positions,
)


def read_table(request: ReadRequest) -> pa.Table:
    """The sheet as an Arrow table: each column the cells' common type (see :func:`infer`)."""
    rows = list(sheet_rows(request))  # one read; both passes run over the list
    layout = scan(request, rows)
    return next(_tables(request, layout, rows, max(layout.rows, 1)))


def read_schema(request: ReadRequest) -> pa.Schema:
    """The columns and types :func:`read_table` would give, reading one row at a time."""
    return scan(request, sheet_rows(request)).schema


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """The sheet in tables of ``chunk_rows`` rows, each read as the chunk is wanted."""
    layout = scan(request, sheet_rows(request))
    rows = sheet_rows(request)
    try:
        for table in _tables(request, layout, rows, chunk_rows):
            yield table if schema is None else conform(table, schema)
    finally:
        rows.close()  # a consumer that stops early closes the workbook now, not at collection


@dataclass(frozen=True)
class Layout:
    """What the first pass learned: where the data starts, which columns, and their types."""

    header: int | None  # the header row's 0-based index; None: the sheet has no rows
    positions: tuple[int, ...]  # the columns read, by 0-based position in the sheet
    names: tuple[str, ...]
    own: tuple[pa.DataType, ...]  # each column's type from its cells (text where declared str)
    declared: tuple[pa.DataType | None, ...]  # options.dtype, cast to after reading
    rows: int  # data rows

    @property
    def schema(self) -> pa.Schema:
        """The tables' schema: the declared type where there is one, else the cells' own."""
        return pa.schema(
            [(n, d or o) for n, o, d in zip(self.names, self.own, self.declared, strict=True)]
        )


class _Kinds:
    """The kinds of value one column holds, in the order first seen, and its integer range:
    enough to infer the column's type as if from every cell (see :func:`witnesses`)."""

    def __init__(self) -> None:
        self.first: dict[type, Any] = {}
        self.low: int | None = None
        self.high: int | None = None

    def see(self, value: Any) -> None:
        kind = type(value)
        if kind not in self.first:
            self.first[kind] = value
        if kind is int:
            self.low = value if self.low is None or value < self.low else self.low
            self.high = value if self.high is None or value > self.high else self.high

    def witnesses(self) -> list[Any]:
        """One value of each kind in first-seen order (the smallest and largest integer):
        pyarrow infers the same type from these as from the whole column."""
        values: list[Any] = []
        for kind, value in self.first.items():
            values += [self.low, self.high] if kind is int else [value]
        return values


def scan(request: ReadRequest, rows: Iterable[list[Any]]) -> Layout:
    """The first pass: the header, the columns to read and every column's type."""
    options = request.options
    skip, missing = skipper(options), Missing(options)
    width, header, header_at, count = 0, None, None, 0
    kinds: dict[int, _Kinds] = {}
    for index, row in enumerate(rows):
        width = max(width, len(row))
        if skip(index):
            continue
        if header is None:
            header, header_at = row, index
            continue
        count += 1
        for position, value in enumerate(row):
            if not missing(value):
                seen = kinds.get(position)
                if seen is None:
                    seen = kinds[position] = _Kinds()
                seen.see(value)
    if header is None:
        return Layout(None, (), (), (), (), 0)
    positions = _positions(request, width)
    cells = header + [""] * (width - len(header))
    names = ["" if cells[p] == "" or cells[p] is ERROR else str(cells[p]) for p in positions]
    _check_names(request, names, header_at)
    positions, names = _by_name(request, positions, names)
    declared = _declared(options.get("dtype"), names)
    own = [
        pa.string()
        if declared.get(n) == pa.string()
        else infer(kinds[p].witnesses() if p in kinds else [])
        for p, n in zip(positions, names, strict=True)
    ]
    return Layout(
        header_at, tuple(positions), tuple(names), tuple(own),
        tuple(declared.get(n) for n in names), count,
    )  # fmt: skip


def infer(values: list[Any]) -> pa.DataType:
    """A column's type from its (non-missing) cells: their common type; float where whole
    numbers and fractions mix (Excel stores both as doubles); text where kinds mix (pyarrow
    would read a number beside a date as microseconds since 1970, a bool beside a number as
    1.0: a value changed silently) or where no type holds them."""
    kinds = {_FAMILY.get(type(v), type(v)) for v in values}
    if len(kinds) > 1:
        return pa.string()
    if any(type(v) is float for v in values) and any(type(v) is int for v in values):
        return pa.float64()
    try:
        return pa.array(values).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.string()


# Kinds of cell that share a column type; every other Python type is a kind of its own.
_FAMILY: dict[type, str] = {int: "number", float: "number"}


def _tables(
    request: ReadRequest, layout: Layout, rows: Iterable[list[Any]], chunk_rows: int
) -> Iterator[pa.Table]:
    """The second pass: the data rows in tables of ``chunk_rows`` (one empty table if none)."""
    schema = layout.schema
    if layout.header is None:
        yield pa.table({})
        return
    skip, missing, header = skipper(request.options), Missing(request.options), layout.header
    columns: list[list[Any]] = [[] for _ in layout.positions]
    lines: list[int] = []
    emitted = False
    for index, row in enumerate(rows):
        if index <= header or skip(index):
            continue
        for column, position in zip(columns, layout.positions, strict=True):
            value = row[position] if position < len(row) else ""
            column.append(None if missing(value) else value)
        lines.append(index + 1)  # the sheet's row number
        if len(lines) == chunk_rows:
            yield _table(request, layout, schema, columns, lines)
            columns, lines, emitted = [[] for _ in layout.positions], [], True
    if lines or not emitted:
        yield _table(request, layout, schema, columns, lines)


def _table(
    request: ReadRequest,
    layout: Layout,
    schema: pa.Schema,
    columns: list[list[Any]],
    lines: list[int],
) -> pa.Table:
    """One chunk; a cell that breaks its column's declared type stops the read. Of several,
    the one in the earliest row is named (then the leftmost), so a batch run and a stream run
    with any chunk size name the same cell."""
    arrays: list[pa.Array] = []
    broken: list[tuple[int, int]] = []  # (row in the chunk, column)
    for k, (own, declared, values) in enumerate(
        zip(layout.own, layout.declared, columns, strict=True)
    ):
        array, bad = _typed(_convert(values, own), declared, values)
        if bad is not None:
            broken.append((bad, k))
        arrays.append(array)
    if broken:
        row, k = min(broken)
        name, line, value = layout.names[k], lines[row], columns[k][row]
        raise InputError(
            f"{request.shown}:{line}: column '{name}' is declared {layout.declared[k]} "
            f"(options.dtype) but holds {cell_text(value)!r}; declare it str, or fix the cell",
            file=request.shown,
            line=line,
            column=name,
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def _convert(values: list[Any], own: pa.DataType) -> pa.Array:
    """Cells (None for missing) as an array of the column's own type."""
    if own == pa.string():  # all text, or kinds that share no type: every cell as shown
        return pa.array([None if v is None else cell_text(v) for v in values], pa.string())
    if own == pa.float64():  # 2.0 came back as the int 2
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if own == pa.null():
        return pa.nulls(len(values))
    return pa.array(values, own)


def _typed(
    array: pa.Array, declared: pa.DataType | None, values: list[Any]
) -> tuple[pa.Array, int | None]:
    """``array`` cast to the declared type, or the index of the first cell that does not cast
    (a missing cell always does, whatever the types: timestamps never cast to numbers)."""
    if declared is None or array.type == declared:
        return array, None
    try:
        return array.cast(declared), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            array.slice(i, 1).cast(declared)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return array, i
    if array.null_count == len(array):
        return pa.nulls(len(array), declared), None
    return array.cast(declared, safe=False), None  # every cell casts alone: only precision goes


def _positions(request: ReadRequest, width: int) -> list[int]:
    """The columns ``usecols`` picks by letters or position (all of them otherwise)."""
    try:
        picked = usecols_positions(request.options.get("usecols"))
    except ValueError as exc:
        raise InputError(
            f"{request.shown}: options.usecols: {exc}; write letters and ranges like 'A:C,E'",
            file=request.shown,
        ) from None
    if picked is None:
        return list(range(width))
    beyond = [p for p in picked if p >= width]
    if beyond:
        last = f"{column_letter(width - 1)} (position {width - 1})" if width else "no column"
        raise InputError(
            f"{request.shown}: options.usecols picks column(s) "
            f"{[f'{column_letter(p)} (position {p})' for p in beyond]}, but the sheet's last "
            f"column is {last}; pick columns the sheet has",
            file=request.shown,
        )
    return picked


def _by_name(
    request: ReadRequest, positions: list[int], names: list[str]
) -> tuple[list[int], list[str]]:
    """The columns ``usecols`` picks by header name, in the sheet's order."""
    usecols = request.options.get("usecols")
    if not isinstance(usecols, list) or not any(isinstance(c, str) for c in usecols):
        return positions, names
    wanted = {str(c) for c in usecols}
    absent = [c for c in usecols if str(c) not in names]
    if absent:
        raise InputError(
            f"{request.shown}: options.usecols names column(s) {absent} that the header "
            f"does not have (it has {names}); use names from the header",
            file=request.shown,
            column=str(absent[0]),
        )
    keep = [i for i, name in enumerate(names) if name in wanted]
    return [positions[i] for i in keep], [names[i] for i in keep]


def _check_names(request: ReadRequest, names: list[str], header_at: int | None) -> None:
    """A name twice (two empty cells too) is an error, as in a CSV header: never renamed."""
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if twice:
        line = None if header_at is None else header_at + 1
        raise InputError(
            f"{request.shown}:{line}: the header names column(s) {twice} more than once; "
            "give every column its own name",
            file=request.shown,
            line=line,
            column=twice[0],
        )


def _declared(dtype: Any, names: list[str]) -> dict[str, pa.DataType]:
    if isinstance(dtype, str):
        return dict.fromkeys(names, DTYPES[dtype])
    return {str(col): DTYPES[name] for col, name in (dtype or {}).items()}


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


def __getattr__(name: str) -> object:
    if name == "ExcelFormat":  # moved to the light module; kept importable from here
        from trakt.io.excel_format import ExcelFormat

        return ExcelFormat
    raise AttributeError(name)
