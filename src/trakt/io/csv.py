"""CSV: pyarrow's multithreaded reader, polars' writer.

Measured on 1M rows (``benchmarks/batch_vs_pandas.py``): pyarrow reads several times faster than
pandas' C parser, and polars writes about 6x faster than ``DataFrame.to_csv`` while producing the
same bytes for ints, floats and strings (shortest round-trip floats, ``2.0`` stays ``2.0``,
quotes only where RFC 4180 needs them, missing values empty).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from trakt.errors import InputError, OutputError
from trakt.io.badlines import first_bad_line, unbalanced_quotes
from trakt.io.base import ReadRequest, check_unknown_options, prefetch, rechunk

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
    }
)

DTYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(("str", "string", "object", "text"), pa.string()),
    **dict.fromkeys(("int", "int64", "Int64", "integer"), pa.int64()),
    **dict.fromkeys(("float", "float64", "double", "Float64"), pa.float64()),
    **dict.fromkeys(("bool", "boolean"), pa.bool_()),
}

# pandas' default missing-value markers, so `keep_default_na` means what pandas users expect.
DEFAULT_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip

_PROBE_BLOCK = 1 << 20
# Stream reads: 1 MiB blocks kept peak RSS ~50 MB lower than 4 MiB at about the same speed
# (benchmarks/stream_memory.py).
_STREAM_BLOCK = 1 << 20


def _one_char(options: Mapping[str, Any], key: str) -> list[str]:
    value = options.get(key)
    if value is None or (isinstance(value, str) and len(value) == 1):
        return []
    return [f"option '{key}' must be a single character, found {value!r}"]


def check_options(options: Mapping[str, Any]) -> list[str]:
    problems = check_unknown_options(options, OPTION_NAMES, "csv")
    for key in ("sep", "delimiter", "quotechar", "escapechar", "decimal"):
        problems += _one_char(options, key)
    dtype = options.get("dtype")
    names: list[Any] = []
    if isinstance(dtype, str):
        names = [dtype]
    elif isinstance(dtype, dict):
        names = list(dtype.values())
    elif dtype is not None:
        problems.append(f"option 'dtype' must be a type name or a mapping, found {dtype!r}")
    for name in names:
        if not isinstance(name, str) or name not in DTYPES:
            problems.append(f"unknown dtype {name!r}; use one of: str, int, float, bool")
    skip = options.get("skiprows")
    if skip is not None and (not isinstance(skip, int) or isinstance(skip, bool) or skip < 0):
        problems.append(f"option 'skiprows' must be a whole number >= 0, found {skip!r}")
    keep = options.get("keep_default_na")
    if keep is not None and not isinstance(keep, bool):
        problems.append(f"option 'keep_default_na' must be true or false, found {keep!r}")
    encoding = options.get("encoding")
    if encoding is not None:
        import codecs

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


def _read_options(options: Mapping[str, Any], block_size: int | None = None) -> pacsv.ReadOptions:
    kwargs: dict[str, Any] = {"skip_rows": int(options.get("skiprows", 0) or 0)}
    if block_size:
        kwargs["block_size"] = block_size
    encoding = options.get("encoding")
    if encoding and str(encoding).lower().replace("-", "") not in ("utf8", "utf8sig"):
        kwargs["encoding"] = encoding
    return pacsv.ReadOptions(**kwargs)


def _parse_options(options: Mapping[str, Any]) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(
        delimiter=options.get("sep") or options.get("delimiter") or ",",
        quote_char=options.get("quotechar") or '"',
        escape_char=options.get("escapechar") or False,
        newlines_in_values=True,
    )


def _convert_options(
    options: Mapping[str, Any], column_types: Mapping[str, pa.DataType]
) -> pacsv.ConvertOptions:
    na = list(options.get("na_values") or [])
    if options.get("keep_default_na", True):
        na += DEFAULT_NA
    kwargs: dict[str, Any] = {
        "column_types": dict(column_types),
        "null_values": na,
        "strings_can_be_null": bool(na),
        "quoted_strings_can_be_null": bool(na),
        "decimal_point": options.get("decimal") or ".",
    }
    if options.get("usecols"):
        kwargs["include_columns"] = list(options["usecols"])
    return pacsv.ConvertOptions(**kwargs)


def _declared_types(options: Mapping[str, Any], names: list[str]) -> dict[str, pa.DataType]:
    dtype = options.get("dtype")
    if dtype is None:
        return {}
    if isinstance(dtype, str):
        return dict.fromkeys(names, DTYPES[dtype])
    return {col: DTYPES[name] for col, name in dtype.items()}


def _text_pins(schema: pa.Schema, declared: Mapping[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Keep inferred dates/times as text: pyarrow would reformat them on the way out."""
    return {
        f.name: pa.string()
        for f in schema
        if pa.types.is_temporal(f.type) and f.name not in declared
    }


_FIX_ROWS = "fix the file, or set on_bad_lines: skip | quarantine on this input"


def _located(request: ReadRequest, fallback: str) -> InputError:
    """The first malformed record with its line number, found by a careful re-read."""
    try:
        bad = first_bad_line(request.path, request.options)
    except (OSError, LookupError, ValueError):
        bad = None
    if bad is None:
        return InputError(f"cannot read CSV {request.path}: {fallback}", file=str(request.path))
    return InputError(
        f"{request.path}:{bad.line}: {bad.reason}; {_FIX_ROWS}",
        file=str(request.path),
        line=bad.line,
    )


def _fail(request: ReadRequest, exc: Exception) -> InputError:
    text = str(exc).strip()
    path = request.path
    if isinstance(exc, PermissionError):
        text = "permission denied; make the file readable for this user"
    elif isinstance(exc, IsADirectoryError):
        text = "expected a file, found a directory"
    elif isinstance(exc, OSError):
        text = exc.strerror or text
    elif "Empty CSV file" in text:
        text = "the file is empty (not even a header line)"
    elif isinstance(exc, UnicodeDecodeError) or "CSV parse error" in text:
        return _located(request, text)
    return InputError(f"cannot read CSV {path}: {text}", file=str(path))


def _check_quotes(request: ReadRequest) -> None:
    """pyarrow reads a quoted field that never closes as running to the end of the file,
    silently: look for that first (a byte count; the careful re-read only when it is odd)."""
    if not unbalanced_quotes(request.path, request.options):
        return
    bad = first_bad_line(request.path, request.options)
    if bad is not None:
        raise InputError(
            f"{request.path}:{bad.line}: {bad.reason}; {_FIX_ROWS}",
            file=str(request.path),
            line=bad.line,
        )


def _probe(request: ReadRequest) -> tuple[pa.Schema, dict[str, pa.DataType]]:
    """The first block's inferred schema, and the declared dtypes plus text pins."""
    _check_quotes(request)
    options = request.options
    with pacsv.open_csv(
        request.path,
        read_options=_read_options(options, _PROBE_BLOCK),
        parse_options=_parse_options(options),
        convert_options=_convert_options(options, {}),
    ) as reader:
        schema = reader.schema
    declared = _declared_types(options, schema.names)
    return schema, {**declared, **_text_pins(schema, declared)}


def column_types_for(request: ReadRequest) -> dict[str, pa.DataType]:
    """Declared dtypes plus text pins, from a cheap look at the first block."""
    return _probe(request)[1]


def stream_schema(request: ReadRequest) -> pa.Schema:
    """The types stream mode reads with: inferred from the first block, declared ones applied.

    Batch mode infers from the whole file; the two agree unless a column's first block is
    empty or narrower (ints) than later rows, which stream mode reports as a clear error.
    """
    try:
        inferred, types = _probe(request)
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(request, exc) from None
    _check_text(request, inferred)
    return pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in inferred])


def read_table(request: ReadRequest) -> pa.Table:
    options = request.options
    try:
        types = column_types_for(request)
        table = pacsv.read_csv(
            request.path,
            read_options=_read_options(options),
            parse_options=_parse_options(options),
            convert_options=_convert_options(options, types),
        )
        late = _text_pins(table.schema, types)
        if late:  # a date column that was empty in the first block: read again, pinned
            table = pacsv.read_csv(
                request.path,
                read_options=_read_options(options),
                parse_options=_parse_options(options),
                convert_options=_convert_options(options, {**types, **late}),
            )
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(request, exc) from None
    _check_text(request, table.schema)
    return table


_CONVERSION = re.compile(
    r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'"
)


def _undecodable(request: ReadRequest, column: str) -> InputError:
    encoding = request.options.get("encoding") or "utf-8"
    hint = f"set options.encoding to the file's encoding (e.g. latin-1, cp1252), or {_FIX_ROWS}"
    try:
        bad = first_bad_line(request.path, request.options)
    except (OSError, LookupError, ValueError):
        bad = None
    where = f"{request.path}:{bad.line}" if bad else f"cannot read CSV {request.path}"
    return InputError(
        f"{where}: column '{column}' has bytes that are not valid {encoding}; {hint}",
        file=str(request.path),
        column=column,
        line=bad.line if bad else None,
    )


def _check_text(request: ReadRequest, schema: pa.Schema) -> None:
    """pyarrow turns undecodable text into binary columns; say so instead."""
    for f in schema:
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            raise _undecodable(request, f.name)


def _stream_fail(request: ReadRequest, exc: Exception, names: list[str]) -> InputError:
    found = _CONVERSION.search(str(exc))
    if not found:
        if "invalid UTF8" in str(exc):
            return _undecodable(request, "?")
        return _fail(request, exc)
    column = names[int(found.group(1))] if int(found.group(1)) < len(names) else found.group(1)
    kind, value = found.group(2), found.group(3)
    if kind in ("string", "utf8", "large_string"):
        return _undecodable(request, str(column))
    seen = "had no values" if kind == "null" else f"held only {kind} values"
    return InputError(
        f"cannot stream CSV {request.path}: column '{column}' {seen} in the first rows, so "
        f"stream mode reads it as {kind}, but a later row has {value!r}. Declare its type: "
        f"options: {{dtype: {{{column}: <str|int|float|bool>}}}}",
        file=str(request.path),
        column=column,
    )


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """Stream the file in tables of exactly ``chunk_rows`` rows (the last may be shorter).

    Types are fixed up front (``schema``, default: :func:`stream_schema` of this file), so
    every chunk has the same dtypes; one empty table is yielded for a file without rows.
    """
    fixed = schema if schema is not None else stream_schema(request)
    types = {f.name: f.type for f in fixed if not pa.types.is_null(f.type)}
    options = request.options

    def read() -> Iterator[Any]:
        try:
            reader = pacsv.open_csv(
                request.path,
                read_options=_read_options(options, _STREAM_BLOCK),
                parse_options=_parse_options(options),
                convert_options=_convert_options(options, types),
            )
        except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
            raise _fail(request, exc) from None
        with reader:
            yield reader.schema
            yield from _batches(reader, request, fixed.names)

    # pyarrow's streaming parser runs on one core; parsing the next block in a thread while
    # this one converts, runs steps and writes uses the second.
    items = prefetch(read())
    yield from rechunk(items, chunk_rows, next(items))


def _batches(
    reader: pacsv.CSVStreamingReader, request: ReadRequest, names: list[str]
) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
            raise _stream_fail(request, exc, names) from None
        yield batch


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Named indexes (e.g. from groupby) are data: write them as columns."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame


def preload_writer() -> None:
    """Import the writer's library in the background while inputs are read.

    polars takes ~0.2 s to import; pyarrow's reader releases the GIL, so the two overlap.
    """
    threading.Thread(target=importlib.import_module, args=("polars",), daemon=True).start()


def _write(frame: pd.DataFrame, sink: str | Path | IO[bytes], header: bool) -> None:
    import polars as pl  # imported here: only runs that write CSV pay for it

    frame = _prepare(frame)
    # A lone column's missing value would be a blank line, which readers skip: write "".
    nulls = '""' if len(frame.columns) == 1 else ""
    try:
        converted = pl.from_pandas(frame, include_index=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError, pa.ArrowException):
        # Columns of arbitrary Python objects: polars cannot take them, pandas can.
        frame.to_csv(sink, index=False, header=header, lineterminator="\n")
        return
    try:
        converted.write_csv(sink, include_header=header, null_value=nulls)
    except pl.exceptions.PolarsError as exc:  # I/O failures arrive wrapped by polars
        raise OSError(str(exc)) from exc


def write(frame: pd.DataFrame, path: Path) -> None:
    try:
        _write(frame, path, header=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", file=str(path)) from None


class CsvChunkWriter:
    """Header once, then every chunk appended; all chunks must have the same columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise OutputError(
                f"cannot write {path}: {exc.strerror or exc}", file=str(path)
            ) from None
        self._columns: list[str] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        frame = _prepare(frame)
        if len(frame.columns) == 0:
            return  # nothing to write; an output without columns stays an empty file
        columns = [str(c) for c in frame.columns]
        if self._columns is not None and columns != self._columns:
            raise OutputError(
                f"{self.path.name}: chunk columns {columns} differ from the first chunk's "
                f"{self._columns}",
                file=str(self.path),
            )
        try:
            _write(frame, self._file, header=self._columns is None)
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.path}: {exc.strerror or exc}", file=str(self.path)
            ) from None
        self._columns = columns

    def close(self) -> None:
        self._file.close()


class CsvFormat:
    name = "csv"
    extensions: tuple[str, ...] = (".csv", ".tsv", ".txt")
    option_names = OPTION_NAMES
    can_write = True

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_options(options)

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """A ``.tsv`` uri is tab-separated unless ``sep``/``delimiter`` says otherwise."""
        tabs = uri.lower().endswith(".tsv") and not (options.get("sep") or options.get("delimiter"))
        return {**options, "sep": "\t"} if tabs else dict(options)

    def read_table(self, request: ReadRequest) -> pa.Table:
        return read_table(request)

    def schema(self, request: ReadRequest) -> pa.Schema:
        return stream_schema(request)

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        return iter_tables(request, chunk_rows, schema)

    def write(self, frame: pd.DataFrame, path: Path) -> None:
        write(frame, path)

    def open_writer(self, path: Path) -> CsvChunkWriter:
        return CsvChunkWriter(path)
