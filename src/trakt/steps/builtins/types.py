"""``trakt.cast``'s type names (the data contracts' names) and how a column becomes each.

==================  ==================  ===============================================
type                polars type         from text
==================  ==================  ===============================================
``int``             ``Int64``           digits, an optional sign; fractions refused
``float``           ``Float64``         any number polars reads
``string``          ``String``          (numbers as polars writes them)
``bool``            ``Boolean``         true/t/yes/y/1, false/f/no/n/0 (any case)
``date``            ``Date``            ``YYYY-MM-DD``
``datetime``        ``Datetime("us")``  ISO 8601
``decimal(p,s)``    ``Decimal(p, s)``   a number with at most ``s`` decimals
==================  ==================  ===============================================

A value that does not convert fails the step with polars' message naming the column and the
values; nulls stay null.
"""

from __future__ import annotations

import re

import polars as pl

TYPE_NAMES = ("int", "float", "string", "bool", "date", "datetime", "decimal(p,s)")
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def type_problem(name: str) -> str | None:
    """Why ``name`` is not a cast type, or None."""
    if name in TYPE_NAMES[:-1] or _DECIMAL.fullmatch(name):
        return None
    return f"unknown type {name!r}; expected one of {', '.join(TYPE_NAMES)}"


def polars_type(name: str) -> pl.DataType:
    """The polars type of a type name."""
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        return pl.Decimal(int(decimal[1]), int(decimal[2]))
    return {
        "int": pl.Int64(),
        "float": pl.Float64(),
        "string": pl.String(),
        "bool": pl.Boolean(),
        "date": pl.Date(),
        "datetime": pl.Datetime("us"),
    }[name]


def cast_expr(name: str, source: pl.DataType, kind: str) -> pl.Expr:
    """Column ``name`` (of type ``source``) as type ``kind``, strictly."""
    col = pl.col(name)
    target = polars_type(kind)
    if source == pl.String():
        text = col.str.strip_chars()
        if kind == "bool":
            lowered = text.str.to_lowercase()
            return lowered.replace_strict(
                _TRUE + _FALSE, [True] * len(_TRUE) + [False] * len(_FALSE), return_dtype=pl.Boolean
            )
        if kind == "date":
            return text.str.to_date("%Y-%m-%d", strict=True)
        if kind == "datetime":
            return text.str.to_datetime(time_unit="us", strict=True)
        return text.cast(target, strict=True)
    if kind == "int" and source.is_float():
        # Truncating 1.5 to 1 would change a value: refused, as pandas refuses it.
        # Whole values go through their digits; others keep theirs, which polars then names.
        whole = col.round(0) == col
        digits = pl.when(whole).then(col.cast(pl.Int64).cast(pl.String))
        return digits.otherwise(col.cast(pl.String)).cast(target, strict=True)
    if kind == "date" and isinstance(source, pl.Datetime):
        return col.dt.date()
    return col.cast(target, strict=True)
