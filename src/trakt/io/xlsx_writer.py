"""xlsx output (the ``excel`` extra): openpyxl's ``write_only`` mode, bytes fixed run to run.

Values: ints, floats, bools, strings, dates and naive timestamps as Excel values; timestamps
with a zone are converted to UTC and written naive (Excel has no zones); nulls and NaN are empty
cells; a string starting with ``=`` is text, never a formula. The workbook's created/modified
properties and the zip entries' timestamps are fixed, so one write and chunked writes, today
and tomorrow, give the same bytes. Used by ``ExcelFormat.open_writer``.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trakt.errors import OutputError

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ROWS = 1_048_576  # the header included
MAX_COLUMNS = 16_384
FIXED_TIME = datetime.datetime(1980, 1, 1)  # the earliest a zip entry can carry
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
# What openpyxl refuses (its ILLEGAL_CHARACTERS_RE): C0 controls but tab, line feed, CR;
# searched only to name the character once openpyxl has refused a cell.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_sheet(sheet: Any) -> list[str]:
    """Problems with a ``sheet`` writer option (Excel's rules for sheet names)."""
    if not isinstance(sheet, str) or not sheet.strip():
        return [f"option 'sheet' must be a non-empty text, found {sheet!r}"]
    problems = []
    if len(sheet) > 31:
        problems.append(f"sheet name {sheet!r} is {len(sheet)} characters; Excel allows 31")
    if _BAD_SHEET.search(sheet):
        problems.append(f"sheet name {sheet!r} holds one of []:*?/\\ which Excel refuses")
    return problems


def default_sheet(path: str) -> str:
    """A valid sheet name from an output path: its name without extensions, cut to 31."""
    name = Path(path).name.split(".")[0] or "Sheet1"
    return _BAD_SHEET.sub("_", name)[:31]


class XlsxWriter:
    """A :class:`trakt.io.base.TableWriter` creating one xlsx file with one sheet."""

    def __init__(self, path: Path, output: str, sheet: str) -> None:
        import openpyxl

        self._path = path
        self._output = output
        self._book = openpyxl.Workbook(write_only=True)
        self._sheet = self._book.create_sheet(sheet)
        self._rows = 0
        self._names: list[str] | None = None

    def write(self, table: pa.Table) -> None:
        try:
            self._write(table)
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Finish the sheet's temporary XML now: left to the garbage collector, openpyxl
        writes to a closed file and prints an ignored error."""
        with contextlib.suppress(Exception):  # the write's own error is the one to report
            self._sheet.close()

    def _write(self, table: pa.Table) -> None:
        import pyarrow as pa
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils.exceptions import IllegalCharacterError

        if self._names is None:
            self._names = list(table.column_names)
            if len(self._names) > MAX_COLUMNS:
                raise OutputError(
                    f"output '{self._output}': {len(self._names)} columns, more than an xlsx "
                    f"sheet holds ({MAX_COLUMNS}); write csv or parquet instead",
                    output=self._output,
                )
            for name in self._names:
                self._refuse_control_characters(name, "its name", name)
            self._sheet.append(self._names)
            self._rows = 1
        if self._rows + table.num_rows > MAX_ROWS:
            raise OutputError(
                f"output '{self._output}': {self._rows - 1 + table.num_rows}+ rows, more than an "
                f"xlsx sheet holds ({MAX_ROWS - 1} below the header); write csv or parquet",
                output=self._output,
            )
        columns = [_values(table.column(i)) for i in range(table.num_columns)]
        for name, values in zip(table.column_names, columns, strict=True):
            if pa.types.is_integer(table.schema.field(name).type):
                self._refuse_big_integers(name, values)
        for r, row in enumerate(zip(*columns, strict=True)):
            cells = []
            for name, value in zip(self._names, row, strict=True):
                try:
                    cell = WriteOnlyCell(self._sheet, value)
                except IllegalCharacterError:
                    self._refuse_control_characters(value, f"row {self._rows + r}", name)
                    raise  # not reached: the text holds one
                if isinstance(value, str) and cell.data_type == "f":
                    cell.data_type = "s"  # text, never a formula
                cells.append(cell)
            self._sheet.append(cells)
        self._rows += table.num_rows

    def _refuse_control_characters(self, text: str, where: str, name: str) -> None:
        """XML cannot carry most control characters: say which, rather than openpyxl's
        ``IllegalCharacterError``."""
        found = _ILLEGAL.search(text)
        if found:
            raise OutputError(
                f"output '{self._output}': column {name!r} ({where}) holds the control "
                f"character {found.group()!r}, which an xlsx file cannot carry; remove it in "
                "a step (e.g. str.replace), or write csv, parquet or jsonl",
                output=self._output,
                column=name,
            )

    def _refuse_big_integers(self, name: str, values: list[Any]) -> None:
        """Excel holds every number as a double: beyond 2**53 an integer would lose digits."""
        for i, value in enumerate(values):
            if value is not None and abs(value) > EXACT_INT:
                raise OutputError(
                    f"output '{self._output}': column '{name}' holds the integer {value} (row "
                    f"{self._rows + i}); an xlsx cell keeps integers exactly only up to 2**53, "
                    "so it would change. Cast the column to text in the step, or write csv, "
                    "parquet or jsonl",
                    output=self._output,
                    column=name,
                )

    def close(self) -> None:
        self._book.properties.created = FIXED_TIME
        self._book.save(self._path)  # sets 'modified' to now: fixed below
        _fix_zip(self._path)


EXACT_INT = 2**53


def _values(column: pa.ChunkedArray) -> list[Any]:
    import math

    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        column = pc.cast(column, pa.timestamp(kind.unit))  # UTC wall time, naive
    values: list[Any] = column.to_pylist()
    if pa.types.is_floating(kind):
        return [None if v is None or math.isnan(v) else v for v in values]
    return values


def _fix_zip(path: Path) -> None:
    """Rewrite the file with fixed entry times and fixed created/modified properties, entry by
    entry in blocks (a sheet's XML can be far larger than its rows in memory)."""
    fixed = path.with_name(path.name + ".fixing")
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(fixed, "w") as out:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED  # at zlib's default level, 6
            entry.external_attr = 0o600 << 16
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    source.read(info),
                )
                out.writestr(entry, data)
                continue
            entry.file_size = info.file_size  # zip64 decided as writestr decides it
            with source.open(info) as data_in, out.open(entry, "w") as data_out:
                shutil.copyfileobj(data_in, data_out, 1 << 20)
    os.replace(fixed, path)
