"""A sheet's rows as Python values, read in openpyxl's read-only (streaming) mode, and the
reader options that act on rows and cells (``skiprows``, ``usecols``, ``na_values``).

Cells convert as pandas' openpyxl reader converts them, so a sheet reads as it always has:
an empty cell is ``""``, an error cell (``#DIV/0!``) is :data:`ERROR`, a whole number is an
``int`` (Excel stores every number as a double), dates and times are ``datetime`` values.
Trailing empty cells and trailing empty rows are dropped; every other row is kept.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Generator, Mapping
from typing import Any

from trakt.errors import InputError
from trakt.io.csv_option_rules import DEFAULT_NA
from trakt.io.excel_format import EXTRA_HINT
from trakt.io.registry import ReadRequest


class _Error:
    """An error cell (``#N/A``, ``#DIV/0!``...): a missing value, and an empty header name."""

    def __repr__(self) -> str:
        return "ERROR"


ERROR = _Error()


def sheet_rows(request: ReadRequest) -> Generator[list[Any], None, None]:
    """The sheet's rows, first to last, each without its trailing empty cells; empty rows
    after the last row with data are dropped. The workbook closes when the iterator ends or
    is closed (a stream that stops early)."""
    book = _open_book(request)
    try:
        sheet = _sheet(request, book)
        # The declared dimensions can be wrong: have openpyxl find the real extent (GH 39486).
        sheet.reset_dimensions()
        empty = 0  # empty rows held back: kept only if a row with data follows
        for row in sheet.rows:
            cells = [_value(cell) for cell in row]
            while cells and cells[-1] == "":
                cells.pop()
            if not cells:
                empty += 1
                continue
            for _ in range(empty):
                yield []
            empty = 0
            yield cells
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet fails part-way: name the file
        raise InputError(
            f"cannot read Excel file {request.shown}: {exc}", file=request.shown
        ) from None
    finally:
        book.close()


def _value(cell: Any) -> Any:
    value = cell.value
    if value is None:
        return ""
    kind = cell.data_type
    if kind == "e":
        return ERROR
    if kind == "n":
        whole = int(value)
        return whole if whole == value else float(value)
    return value


def _open_book(request: ReadRequest) -> Any:
    try:
        import openpyxl
    except ImportError:
        raise InputError(f"cannot read {request.shown}: {EXTRA_HINT}") from None
    try:
        return openpyxl.load_workbook(
            request.path, read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise InputError(
            f"cannot read Excel file {request.shown}: {exc}", file=request.shown
        ) from None


def _sheet(request: ReadRequest, book: Any) -> Any:
    names: list[str] = list(book.sheetnames)
    sheet = request.sheet if request.sheet is not None else 0
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputError(
                f"cannot read Excel file {request.shown}: sheet index {sheet} is out of range "
                f"(it has {len(names)} sheet(s): {names}); give an index from 0 to "
                f"{len(names) - 1}, or the sheet's name",
                file=request.shown,
            )
        return book[names[sheet]]
    if sheet not in names:
        raise InputError(
            f"cannot read Excel file {request.shown}: there is no sheet named {sheet!r} "
            f"(it has {names}); give one of these names, or an index",
            file=request.shown,
        )
    return book[sheet]


def skipper(options: Mapping[str, Any]) -> Callable[[int], bool]:
    """Whether the row at a 0-based index is skipped (``skiprows``: a count, or indexes)."""
    skip = options.get("skiprows") or 0
    if isinstance(skip, int):
        return lambda index: index < skip
    indexes = frozenset(skip)
    return indexes.__contains__


class Missing:
    """Which cells are missing values: empty, error, or a text (or number) in ``na_values``
    or the default markers (``NA``, ``null``...), as pandas decides it."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        given = options.get("na_values")
        extra = [given] if isinstance(given, str | int | float) else list(given or [])
        texts = set(DEFAULT_NA) | {str(v) for v in extra}
        numbers: set[float] = set()
        for value in extra:
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if number != number or number in (float("inf"), float("-inf")):
                continue
            numbers.add(number)
            if number == int(number):  # "5" also takes the text "5.0", as pandas does
                texts |= {f"{int(number)}.0", str(int(number))}
        self.texts = frozenset(texts)
        self.numbers = frozenset(numbers)

    def __call__(self, value: Any) -> bool:
        if value is ERROR:
            return True
        if isinstance(value, str):
            return value in self.texts
        # A number is missing when na_values spells it ("5" takes 5 and 5.0); never a bool.
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (value in self.numbers)
        )


def usecols_positions(usecols: Any) -> list[int] | None:
    """The 0-based positions ``usecols`` picks by letters (``"A:C,E"``) or positions;
    ``None`` for all columns or columns picked by name."""
    if usecols is None:
        return None
    if isinstance(usecols, str):
        return letters_to_positions(usecols)
    if any(isinstance(c, str) for c in usecols):
        return None
    return sorted({int(c) for c in usecols})


def letters_to_positions(spec: str) -> list[int]:
    """``"A:C,E"`` -> ``[0, 1, 2, 4]``; ValueError for anything but letters, ``:`` and ``,``."""
    positions: set[int] = set()
    for part in spec.split(","):
        bounds = [_column_number(b) for b in part.split(":")]
        if len(bounds) > 2:
            raise ValueError(f"{part!r} is not a column range like A:C")
        positions.update(range(bounds[0], bounds[-1] + 1))
    return sorted(positions)


def _column_number(letters: str) -> int:
    text = letters.strip().upper()
    if not text or any(c not in string.ascii_uppercase for c in text):
        raise ValueError(f"{letters!r} is not a column letter like A or AB")
    number = 0
    for c in text:
        number = number * 26 + ord(c) - ord("A") + 1
    return number - 1


def column_letter(position: int) -> str:
    """0 -> ``A``, 27 -> ``AB``."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
