"""JSON Lines (``.jsonl``, ``.ndjson``): the format plug-in (options, checked at validation).

Reading lives in :mod:`trakt.io.jsonl_io` (pyarrow's JSON reader; :mod:`trakt.io.jsonl_lines`
finds the line of any problem) and writing in :mod:`trakt.io.jsonl_writer` (polars), imported
when used, so that ``trakt validate`` imports no pyarrow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trakt.io.registry import check_unknown_options, split_compression

if TYPE_CHECKING:
    import pyarrow as pa

    from trakt.io.registry import ReadRequest, TableWriter

OPTION_NAMES = frozenset({"flatten", "columns", "source_column"})
WRITER_OPTION_NAMES = frozenset({"compression"})
# Type names a `columns:` mapping may give (as the csv option `dtype`).
TYPE_NAMES = frozenset(
    {"str", "string", "text", "int", "int64", "integer", "float", "float64", "double"}
    | {"bool", "boolean"}
)
COMPRESSIONS = ("gzip", "bz2", "zstd", "xz", "none")


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems with JSON Lines reader options, as messages."""
    problems = check_unknown_options(options, OPTION_NAMES, "jsonl")
    flatten = options.get("flatten")
    if flatten is not None and not isinstance(flatten, bool):
        problems.append(f"option 'flatten' must be true or false, found {flatten!r}")
    columns = options.get("columns")
    if columns is None:
        return problems
    if isinstance(columns, list):
        if not columns or not all(isinstance(c, str) and c for c in columns):
            problems.append(f"option 'columns' must be a list of column names, found {columns!r}")
        elif len(set(columns)) != len(columns):
            problems.append("option 'columns' names a column more than once; name each once")
    elif isinstance(columns, dict) and columns:
        for name, kind in columns.items():
            if not isinstance(kind, str) or kind not in TYPE_NAMES:
                problems.append(
                    f"option 'columns' gives column '{name}' the type {kind!r}; use one of: "
                    "str, int, float, bool"
                )
    else:
        problems.append(
            "option 'columns' must be a list of column names or a mapping of names to "
            f"types (str, int, float, bool), found {columns!r}"
        )
    return problems


class JsonlFormat:
    """One JSON object per line: read whole or in blocks, written one object per line."""

    name = "jsonl"
    extensions: tuple[str, ...] = (".jsonl", ".ndjson")
    option_names = OPTION_NAMES
    writer_option_names = WRITER_OPTION_NAMES
    header_in_first_lines = True  # the first block's keys are the columns (a stream's schema)

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_options(options)

    def check_writer_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_unknown_options(options, WRITER_OPTION_NAMES, "jsonl writer")
        codec = options.get("compression")
        if codec is not None and codec not in COMPRESSIONS:
            problems.append(
                f"option 'compression' must be one of {', '.join(COMPRESSIONS)}, found {codec!r}"
            )
        return problems

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """``.jsonl.gz`` (``.bz2``, ``.zst``, ``.xz``) is compressed unless the options say."""
        codec = split_compression(path)[1]
        if codec is None or "compression" in options:
            return dict(options)
        return {**options, "compression": codec}

    def read_table(self, request: ReadRequest) -> pa.Table:
        from trakt.io import jsonl_io

        return jsonl_io.read_table(request)

    def schema(self, request: ReadRequest) -> pa.Schema:
        from trakt.io import jsonl_io

        return jsonl_io.stream_schema(request)

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        from trakt.io import jsonl_io

        return jsonl_io.iter_tables(request, chunk_rows, schema)

    def open_writer(self, path: Path, options: Mapping[str, Any]) -> TableWriter:
        from trakt.io.jsonl_writer import JsonlWriter

        return JsonlWriter(path, options)
