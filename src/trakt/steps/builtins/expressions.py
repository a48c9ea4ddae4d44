"""The one expression language of the built-ins: polars SQL expressions.

``trakt.filter``'s ``where`` and ``trakt.derive``'s column values are SQL expressions as
polars reads them (:func:`polars.sql_expr`): column names (``amount``, ``"unit price"``),
literals (``10``, ``2.5``, ``'FR'``, ``NULL``, ``TRUE``), arithmetic (``+ - * / %``),
comparisons (``= <> < <= > >=``), ``AND OR NOT``, ``IS [NOT] NULL``, ``[NOT] IN (...)``,
``BETWEEN``, ``LIKE``, ``CASE WHEN ... THEN ... ELSE ... END``, ``CAST(x AS DOUBLE)``,
``COALESCE``, and SQL functions (``UPPER``, ``LOWER``, ``LENGTH``, ``ROUND``, ``ABS``,
``CONCAT``, ``SUBSTR``...). Null follows SQL: a comparison with null is null, and
``trakt.filter`` keeps only rows whose condition is true.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class ExpressionError(Exception):
    """An expression that polars cannot parse, and why."""

    text: str
    reason: str

    def __str__(self) -> str:
        return f"cannot parse the expression {self.text!r}: {self.reason}"


def parse(text: str) -> pl.Expr:
    """``text`` as a polars expression, or :class:`ExpressionError`."""
    try:
        return pl.sql_expr(text)
    except Exception as exc:  # polars' SQL parser raises several kinds
        raise ExpressionError(text, _reason(exc)) from None


def columns_of(expr: pl.Expr) -> list[str]:
    """The column names an expression reads."""
    return list(dict.fromkeys(expr.meta.root_names()))


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace("unable to parse", "polars SQL cannot parse", 1)
