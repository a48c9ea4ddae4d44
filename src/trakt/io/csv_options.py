"""CSV reader options: checked when a pipeline is validated, turned into pyarrow's options.

pandas' names (``sep``, ``dtype``, ``na_values``, ...) so pandas users know them; the limits
``max_field_lines`` / ``max_field_bytes`` bound quoted fields that span lines
(:mod:`trakt.io.badlines`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from trakt.io.csv_option_rules import DEFAULT_NA
from trakt.io.registry import ReadRequest

PROBE_BLOCK = 1 << 20
MAX_BLOCK = (1 << 31) - 1  # pyarrow's block size is a 32-bit int
T = TypeVar("T")

DTYPES: dict[str, pa.DataType] = {  # by the names DTYPE_NAMES lists
    **dict.fromkeys(("str", "string", "object", "text"), pa.string()),
    **dict.fromkeys(("int", "int64", "Int64", "integer"), pa.int64()),
    **dict.fromkeys(("float", "float64", "double", "Float64"), pa.float64()),
    **dict.fromkeys(("bool", "boolean"), pa.bool_()),
}

TRUE_VALUES = ["true", "True", "TRUE"]
FALSE_VALUES = ["false", "False", "FALSE"]


def read_options(options: Mapping[str, Any], block_size: int | None = None) -> pacsv.ReadOptions:
    """pyarrow's read options (skip rows, block size, encoding)."""
    kwargs: dict[str, Any] = {"skip_rows": int(options.get("skiprows", 0) or 0)}
    if block_size:
        kwargs["block_size"] = block_size
    encoding = options.get("encoding")
    if encoding and str(encoding).lower().replace("-", "") not in ("utf8", "utf8sig"):
        kwargs["encoding"] = encoding
    return pacsv.ReadOptions(**kwargs)


def parse_options(options: Mapping[str, Any]) -> pacsv.ParseOptions:
    """pyarrow's parse options: quoted line breaks allowed (their length is checked)."""
    return pacsv.ParseOptions(
        delimiter=options.get("sep") or options.get("delimiter") or ",",
        quote_char=options.get("quotechar") or '"',
        escape_char=options.get("escapechar") or False,
        newlines_in_values=True,
    )


def convert_options(
    options: Mapping[str, Any], column_types: Mapping[str, pa.DataType]
) -> pacsv.ConvertOptions:
    """pyarrow's convert options: missing-value markers, decimal point, columns and types."""
    na = list(options.get("na_values") or [])
    if options.get("keep_default_na", True):
        na += DEFAULT_NA
    kwargs: dict[str, Any] = {
        "column_types": dict(column_types),
        "null_values": na,
        "strings_can_be_null": bool(na),
        "quoted_strings_can_be_null": bool(na),
        "decimal_point": options.get("decimal") or ".",
        # Only these spell a boolean (pyarrow would also take 1/0 and turn them into true/false).
        "true_values": TRUE_VALUES,
        "false_values": FALSE_VALUES,
    }
    if options.get("usecols"):
        kwargs["include_columns"] = list(options["usecols"])
    return pacsv.ConvertOptions(**kwargs)


def declared_types(options: Mapping[str, Any], names: list[str]) -> dict[str, pa.DataType]:
    """The types ``options.dtype`` declares, by column."""
    dtype = options.get("dtype")
    if dtype is None:
        return {}
    if isinstance(dtype, str):
        return dict.fromkeys(names, DTYPES[dtype])
    return {col: DTYPES[name] for col, name in dtype.items()}


def text_pins(schema: pa.Schema, declared: Mapping[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Keep inferred dates/times as text: pyarrow would reformat them on the way out."""
    return {
        f.name: pa.string()
        for f in schema
        if pa.types.is_temporal(f.type) and f.name not in declared
    }


def growing(request: ReadRequest, block: int, attempt: Callable[[int], T]) -> T:
    """``attempt(block)``, again with larger blocks while a record does not fit one."""
    size = request.path.stat().st_size
    while True:
        try:
            return attempt(block)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) or block > size or block >= MAX_BLOCK:
                raise
            block = min(MAX_BLOCK, max(block * 4, 1 << 22))


def read_all(
    request: ReadRequest, types: Mapping[str, pa.DataType], skip_bad_rows: bool = False
) -> pa.Table:
    """The whole file with these column types (blocks grow for records that need it);
    ``skip_bad_rows`` leaves out rows with the wrong number of fields instead of failing."""
    parse = parse_options(request.options)
    if skip_bad_rows:
        parse.invalid_row_handler = lambda _row: "skip"

    def whole(block: int) -> pa.Table:
        return pacsv.read_csv(
            request.path,
            read_options=read_options(request.options, block if block > PROBE_BLOCK else None),
            parse_options=parse,
            convert_options=convert_options(request.options, types),
        )

    return growing(request, PROBE_BLOCK, whole)
