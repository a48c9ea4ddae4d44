"""CSV reader options checked at validation (no pyarrow or pandas: ``trakt validate`` stays
light); their mapping onto pyarrow's reader is :mod:`trakt.io.csv_options`."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from trakt.io.registry import check_unknown_options

# The texts pandas reads as missing by default (every text format and xlsx use them).
DEFAULT_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip

OPTION_NAMES = frozenset(
    {
        "sep",
        "delimiter",
        "quotechar",
        "escapechar",
        "encoding",
        "dtype",
        "na_values",
        "keep_default_na",
        "skiprows",
        "usecols",
        "decimal",
        "source_column",
        "max_field_lines",
        "max_field_bytes",
    }
)

# The dtype names an input may declare (csv_options.DTYPES maps them to Arrow types).
DTYPE_NAMES = frozenset(
    {"str", "string", "object", "text", "int", "int64", "Int64", "integer"}
    | {"float", "float64", "double", "Float64", "bool", "boolean"}
)


def _one_char(options: Mapping[str, Any], key: str) -> list[str]:
    value = options.get(key)
    if value is None or (isinstance(value, str) and len(value) == 1):
        return []
    return [f"option '{key}' must be a single character, found {value!r}"]


def _positive(options: Mapping[str, Any], key: str) -> list[str]:
    value = options.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return []
    return [f"option '{key}' must be a whole number > 0, found {value!r}"]


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Every problem with an input's CSV options, as messages."""
    problems = check_unknown_options(options, OPTION_NAMES, "csv")
    for key in ("sep", "delimiter", "quotechar", "escapechar", "decimal"):
        problems += _one_char(options, key)
    for key in ("max_field_lines", "max_field_bytes"):
        problems += _positive(options, key)
    dtype = options.get("dtype")
    names: list[Any] = []
    if isinstance(dtype, str):
        names = [dtype]
    elif isinstance(dtype, dict):
        names = list(dtype.values())
    elif dtype is not None:
        problems.append(f"option 'dtype' must be a type name or a mapping, found {dtype!r}")
    for name in names:
        if not isinstance(name, str) or name not in DTYPE_NAMES:
            problems.append(f"unknown dtype {name!r}; use one of: str, int, float, bool")
    skip = options.get("skiprows")
    if skip is not None and (not isinstance(skip, int) or isinstance(skip, bool) or skip < 0):
        problems.append(f"option 'skiprows' must be a whole number >= 0, found {skip!r}")
    keep = options.get("keep_default_na")
    if keep is not None and not isinstance(keep, bool):
        problems.append(f"option 'keep_default_na' must be true or false, found {keep!r}")
    encoding = options.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            problems.append(f"unknown encoding {encoding!r}")
    for key in ("na_values", "usecols"):
        value = options.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            problems.append(f"option '{key}' must be a list of strings, found {value!r}")
    return problems
