"""Each built-in's own static rules (expressions parsed, column names looked up) and its
output columns; :mod:`trakt.steps.builtins.checks` calls them once the shapes are right."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from trakt.steps.builtins.aggregate import parse_aggregation
from trakt.steps.builtins.checks import Columns, Issue, Key, StepColumns, missing
from trakt.steps.builtins.chunks import names
from trakt.steps.builtins.expressions import ExpressionError, columns_of, parse
from trakt.steps.builtins.types import type_problem

Result = tuple[list[Issue], dict[str, Columns]]
With = Mapping[str, Any]


def _input(known: StepColumns, binding: str = "input") -> tuple[Columns, str]:
    return known.of(binding), known.artifacts.get(binding, binding)


def _listed(with_: With, key: str) -> list[tuple[Key, str]]:
    """A names parameter's (key, name) pairs: each list item at its own index."""
    value = with_.get(key)
    if isinstance(value, list):
        return [((key, i), name) for i, name in enumerate(value)]
    return [((key,), value)] if isinstance(value, str) else []


def _select(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    return missing(_listed(with_, "columns"), columns, artifact), {
        "output": tuple(with_["columns"])
    }


def _rename(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    mapping: dict[str, str] = with_["mapping"]
    issues = missing([(("mapping", old), old) for old in mapping], columns, artifact)
    out = None if columns is None else tuple(mapping.get(c, c) for c in columns)
    return issues, {"output": out}


def _cast(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    kinds: dict[str, str] = with_["columns"]
    issues = [
        Issue(("columns", name), f"`columns.{name}` of trakt.cast: {why}")
        for name, kind in kinds.items()
        if (why := type_problem(kind)) is not None
    ]
    issues += missing([(("columns", name), name) for name in kinds], columns, artifact)
    return issues, {"output": columns}


def _expression(key: Key, text: str, columns: Columns, artifact: str) -> list[Issue]:
    try:
        expr = parse(text)
    except ExpressionError as exc:
        return [Issue(key, f"{exc}; write a SQL expression, e.g. amount > 10 AND country = 'FR'")]
    return missing([(key, name) for name in columns_of(expr)], columns, artifact)


def _filter(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    return _expression(("where",), with_["where"], columns, artifact), {"output": columns}


def _derive(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    issues: list[Issue] = []
    for name, text in with_["columns"].items():
        issues += _expression(("columns", name), text, columns, artifact)
        if columns is not None and name not in columns:
            columns = (*columns, name)  # later expressions may use it
    return issues, {"output": columns}


def _dedupe(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    return missing(_listed(with_, "subset"), columns, artifact), {"output": columns}


def _sort(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    issues = missing(_listed(with_, "by"), columns, artifact)
    descending = with_.get("descending", False)
    if isinstance(descending, list) and len(descending) != len(names(with_["by"])):
        issues.append(
            Issue(
                ("descending",),
                f"`descending` lists {len(descending)} values for {len(names(with_['by']))} "
                "`by` columns; give one per column, or a single true/false",
            )
        )
    return issues, {"output": columns}


def _join(with_: With, known: StepColumns) -> Result:
    left, left_name = _input(known)
    right, right_name = _input(known, "right")
    on = "on" in with_
    pair = "left_on" in with_ or "right_on" in with_
    if on == pair or (pair and not ("left_on" in with_ and "right_on" in with_)):
        found = ", ".join(k for k in ("on", "left_on", "right_on") if k in with_) or "none"
        message = (
            "trakt.join needs the key columns: `on` (names both inputs have), or both "
            f"`left_on` and `right_on`; found {found}"
        )
        return [Issue(("on",) if on else (), message)], {}
    left_keys = _listed(with_, "on" if on else "left_on")
    right_keys = _listed(with_, "on" if on else "right_on")
    if len(left_keys) != len(right_keys):
        message = (
            f"`left_on` has {len(left_keys)} columns and `right_on` {len(right_keys)}; "
            "they pair up, so give as many of each"
        )
        return [Issue(("right_on",), message)], {}
    issues = missing(left_keys, left, left_name) + missing(right_keys, right, right_name)
    how = with_.get("how", "inner")
    if how in ("semi", "anti"):
        return issues, {"output": left}
    if left is None or right is None:
        return issues, {"output": None}
    dropped = {name for _, name in right_keys}
    extra = [c for c in right if c not in dropped]
    return issues, {"output": (*left, *(c + "_right" if c in left else c for c in extra))}


def _aggregate(with_: With, known: StepColumns) -> Result:
    columns, artifact = _input(known)
    issues = missing(_listed(with_, "by"), columns, artifact)
    for name, text in with_["aggregations"].items():
        try:
            agg = parse_aggregation(name, text)
        except ValueError as exc:
            issues.append(Issue(("aggregations", name), str(exc)))
            continue
        if agg.column is not None:
            issues += missing([(("aggregations", name), agg.column)], columns, artifact)
    return issues, {"output": (*names(with_.get("by")), *with_["aggregations"])}


def _sql(with_: With, known: StepColumns) -> Result:
    try:  # no tables registered: only the syntax is checked here
        pl.SQLContext().execute(with_["query"], eager=False)
    except Exception as exc:  # polars raises several kinds
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "parser error" in text or "unable to parse" in text:
            return [Issue(("query",), f"cannot parse the query: {text}")], {}
    return [], {"output": None}


RULES: dict[str, Callable[[With, StepColumns], Result]] = {
    "select": _select,
    "rename": _rename,
    "cast": _cast,
    "derive": _derive,
    "filter": _filter,
    "dedupe": _dedupe,
    "sort": _sort,
    "join": _join,
    "aggregate": _aggregate,
    "sql": _sql,
}
