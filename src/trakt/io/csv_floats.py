"""Declared float columns: a value too large for a float stops the read instead of being inf."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from trakt.errors import InputError
from trakt.io.badlines import record_line
from trakt.io.csv_checks import INFINITE
from trakt.io.csv_options import declared_types, read_all
from trakt.io.registry import ReadRequest


def check_declared_floats(request: ReadRequest, table: pa.Table, start: int = 0) -> None:
    """Raise :class:`InputError` for the first value of a ``dtype: float`` column that
    overflowed to inf (its text does not say inf); ``start`` is the table's first record."""
    declared = declared_types(request.options, table.column_names)
    for name, kind in declared.items():
        if not pa.types.is_floating(kind) or name not in table.column_names:
            continue
        floats = table.column(name)
        if not pc.any(pc.is_inf(floats)).as_py():
            continue
        text = read_all(request, {name: pa.string()}).column(name).slice(start, len(floats))
        bad = pc.and_(pc.is_inf(floats), pc.invert(pc.match_substring_regex(text, INFINITE)))
        index = pc.index(pc.fill_null(bad, False), True).as_py()
        if index < 0:
            continue
        line = record_line(request.path, request.options, start + index)
        raise InputError(
            f"{request.shown}:{line}: column '{name}' is declared float (options.dtype) but "
            f"holds {text[index].as_py()!r}, too large for a float (it would read as inf); "
            "fix the value or declare the column str",
            file=request.shown,
            line=line,
            column=name,
        )
