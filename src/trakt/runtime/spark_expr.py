"""The part of the built-ins' expression language (polars SQL) that Spark computes exactly
alike, as pyspark Columns; anything else is :class:`Unsupported` (the step then runs through
``mapInArrow`` as before).

Translated: column names (bare or ``"quoted"``, matching a column exactly), whole-number and
``'text'`` literals, ``+ - *`` on numbers, ``= <> != < <= > >=`` between two numbers or two
texts, ``AND OR NOT`` on conditions, ``IS [NOT] NULL``, parentheses and a unary minus. Why
these are the same: both engines compare text byte by byte, compare numbers as doubles when
one side is a float (NaN equal to itself and above every number, -0.0 equal to 0.0), wrap
64-bit integer arithmetic (Spark without ANSI mode), and follow SQL's three-valued logic.
Decimal literals (``2.5``: polars reads a decimal, Spark a double), division, functions,
``CASE``, ``IN``, ``LIKE`` and every keyword are left to polars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?![\w.]))
    | (?P<text>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><>|!=|<=|>=|[-+*=<>()])
    )""",
    re.VERBOSE,
)
# Words polars reads as something other than a column (literals, operators, clauses).
KEYWORDS = frozenset(
    [
        "AND",
        "OR",
        "NOT",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "IN",
        "LIKE",
        "ILIKE",
        "BETWEEN",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "CAST",
        "AS",
        "DISTINCT",
        "EXISTS",
        "INTERVAL",
        "DATE",
        "TIMESTAMP",
        "TIME",
        "SIMILAR",
        "ESCAPE",
        "ANY",
        "ALL",
        "SOME",
        "DIV",
        "XOR",
    ]
)
_COMPARE = {"=": "__eq__", "<>": "__ne__", "!=": "__ne__", "<": "__lt__", "<=": "__le__",
            ">": "__gt__", ">=": "__ge__"}  # fmt: skip
_ARITHMETIC = {"+": "__add__", "-": "__sub__", "*": "__mul__"}


class Unsupported(Exception):
    """An expression outside the translated part."""


def kind_of(spark_type: Any) -> str:
    """A Spark type as ``int``, ``float``, ``text``, ``bool`` or ``other``."""
    name = type(spark_type).__name__
    if name in ("LongType", "IntegerType", "ShortType", "ByteType"):
        return "int"
    if name in ("DoubleType", "FloatType"):
        return "float"
    return {"StringType": "text", "BooleanType": "bool"}.get(name, "other")


def column(name: str) -> Any:
    """A column by its exact name (backquoted: dots and spaces are part of the name)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def translate(text: str, kinds: Mapping[str, str]) -> tuple[Any, str]:
    """``text`` as a pyspark Column and its kind, over columns of ``kinds`` (name -> kind);
    :class:`Unsupported` if it is outside the translated part."""
    tokens = _tokens(text)
    parser = _Parser(tokens, kinds)
    result = parser.disjunction()
    if parser.at < len(tokens):
        raise Unsupported(f"unexpected {tokens[parser.at][1]!r}")
    return result


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if not text[at:].strip():
            break
        found = _TOKEN.match(text, at)
        if found is None or found.lastgroup is None:
            raise Unsupported(f"cannot read {text[at:]!r}")
        tokens.append((found.lastgroup, found.group(found.lastgroup)))
        at = found.end()
    return tokens


class _Parser:
    """Recursive descent, SQL precedence: OR < AND < NOT < comparison, IS NULL < + - < *."""

    def __init__(self, tokens: list[tuple[str, str]], kinds: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.kinds = kinds
        self.at = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _word(self, *words: str) -> bool:
        kind, value = self._peek()
        if kind == "word" and value.upper() in words:
            self.at += 1
            return True
        return False

    def _op(self, *ops: str) -> str | None:
        kind, value = self._peek()
        if kind == "op" and value in ops:
            self.at += 1
            return value
        return None

    def disjunction(self) -> tuple[Any, str]:
        left = self.conjunction()
        while self._word("OR"):
            left = (_logical(left) | _logical(self.conjunction()), "bool")
        return left

    def conjunction(self) -> tuple[Any, str]:
        left = self.negation()
        while self._word("AND"):
            left = (_logical(left) & _logical(self.negation()), "bool")
        return left

    def negation(self) -> tuple[Any, str]:
        if self._word("NOT"):
            return ~_logical(self.negation()), "bool"
        return self.comparison()

    def comparison(self) -> tuple[Any, str]:
        left = self.additive()
        if self._word("IS"):
            negated = self._word("NOT")
            if not self._word("NULL"):
                raise Unsupported("IS without NULL")
            return (left[0].isNotNull() if negated else left[0].isNull()), "bool"
        op = self._op(*_COMPARE)
        if op is None:
            return left
        right = self.additive()
        numbers = {left[1], right[1]} <= {"int", "float"}
        if not numbers and not left[1] == right[1] == "text":
            raise Unsupported(f"{op} between {left[1]} and {right[1]}")
        if self._op(*_COMPARE) or self._word("IS"):
            raise Unsupported("chained comparison")
        return getattr(left[0], _COMPARE[op])(right[0]), "bool"

    def additive(self) -> tuple[Any, str]:
        left = self.multiplicative()
        while (op := self._op("+", "-")) is not None:
            left = _arithmetic(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> tuple[Any, str]:
        left = self.unary()
        while (op := self._op("*")) is not None:
            left = _arithmetic(op, left, self.unary())
        return left

    def unary(self) -> tuple[Any, str]:
        if self._op("-"):
            value, kind = self.unary()
            if kind not in ("int", "float"):
                raise Unsupported(f"minus on {kind}")
            return -value, kind
        return self.primary()

    def primary(self) -> tuple[Any, str]:
        from pyspark.sql import functions as F

        kind, value = self._peek()
        self.at += 1
        if kind == "op" and value == "(":
            inner = self.disjunction()
            if not self._op(")"):
                raise Unsupported("unbalanced parentheses")
            return inner
        if kind == "number":
            number = int(value)
            if number >= 1 << 31:  # polars types it by its context, Spark as a long
                raise Unsupported("a literal beyond 32 bits")
            return F.lit(number), "int"
        if kind == "text":
            return F.lit(value[1:-1].replace("''", "'")), "text"
        if kind in ("word", "quoted"):
            name = value[1:-1].replace('""', '"') if kind == "quoted" else value
            if kind == "word" and value.upper() in KEYWORDS:
                raise Unsupported(f"keyword {value}")
            if self._op("("):
                raise Unsupported(f"function {value}")
            found = self.kinds.get(name)
            if found is None or found == "other":
                raise Unsupported(f"column {name!r}")
            return column(name), found
        raise Unsupported(f"unexpected {value!r}")


def _logical(operand: tuple[Any, str]) -> Any:
    if operand[1] != "bool":
        raise Unsupported(f"AND/OR/NOT on {operand[1]}")
    return operand[0]


def _arithmetic(op: str, left: tuple[Any, str], right: tuple[Any, str]) -> tuple[Any, str]:
    if left[1] not in ("int", "float") or right[1] not in ("int", "float"):
        raise Unsupported(f"{op} on {left[1]} and {right[1]}")
    kind = "float" if "float" in (left[1], right[1]) else "int"
    return getattr(left[0], _ARITHMETIC[op])(right[0]), kind
