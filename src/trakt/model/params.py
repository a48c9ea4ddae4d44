"""A pipeline's ``params:``: named values with typed defaults, referenced as ``${params.x}``.

The types come from the YAML values (``2`` an int, ``2026-01-01`` a date, ``"x"`` a string).
A value given from outside (``--set params.x=...``, ``trakt.run(file, x=...)``) must fit the
default's type; :func:`fit` converts what converts without loss (an int for a float, any
text for a string) and says why anything else does not fit. The manifest records the values
a run used (:func:`recorded`), a value that came from the environment as its reference.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from trakt.model.interpolate import Expanded

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SCALARS = (str, bool, int, float, dt.date, dt.datetime, type(None))


def type_name(value: Any) -> str:
    """A param value's type as the messages name it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return {str: "string", int: "int", float: "float", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def param_problems(params: Mapping[str, Any]) -> list[str]:
    """Why ``params`` is not a mapping of names to scalar values (empty when it is)."""
    problems = []
    for name, value in params.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(
                f"param name {name!r} is not a name (letters, digits and _, not starting with "
                "a digit): ${params.<name>} could not refer to it"
            )
        elif not isinstance(value, SCALARS):
            problems.append(
                f"param '{name}' is {type_name(value)}; a param is a single value (string, "
                "number, bool, date or datetime)"
            )
    return problems


def fit(name: str, default: Any, value: Any, text: str | None = None) -> Any:
    """``value`` given for param ``name`` in the default's type, or :class:`ValueError`.

    ``text`` is how it was written (``--set``): a string param takes it as written."""
    if isinstance(default, str):
        return text if text is not None else value if isinstance(value, str) else str(value)
    if default is None or type(value) is type(default):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, dt.datetime) and type(value) is dt.date:
        return dt.datetime(value.year, value.month, value.day)
    shown = text if text is not None else repr(value)
    kind = type_name(default)
    raise ValueError(
        f"param '{name}' is {_a(kind)} (default {default!r}), found {type_name(value)} "
        f"{shown}; give {_a(kind)}"
    )


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def recorded(params: Mapping[str, Any], expanded: Mapping[Any, Expanded]) -> dict[str, Any]:
    """The params as a run used them, for the manifest: a value that came (even in part)
    from the environment shows its reference (``${env:DB_PASSWORD}``), never the value."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        item = expanded.get(("params", name))
        out[name] = item.written if item is not None and item.from_env else value
    return out
