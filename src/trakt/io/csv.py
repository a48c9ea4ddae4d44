"""CSV: pyarrow's multithreaded reader, polars' writer.

Measured on 1M rows (``benchmarks/batch_vs_pandas.py``): pyarrow reads several times faster than
pandas' C parser, and polars writes about 6x faster than ``DataFrame.to_csv`` while producing the
same bytes for ints, floats and strings (shortest round-trip floats, ``2.0`` stays ``2.0``,
quotes only where RFC 4180 needs them, missing values empty).

Columns pyarrow would infer as numbers are read as text and settled by
:mod:`trakt.io.csvvalues`, so no value changes on the way (``007`` stays ``007``).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from trakt.errors import InputError, OutputError
from trakt.io.badlines import (
    MAX_FIELD_BYTES,
    MAX_FIELD_LINES,
    first_bad_line,
    record_line,
    unbalanced_quotes,
)
from trakt.io.base import ReadRequest, check_unknown_options, prefetch, rechunk
from trakt.io.csvvalues import Mismatch, fix, settle, swallowed

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
_MAX_BLOCK = (1 << 31) - 1  # pyarrow's block size is a 32-bit int
T = TypeVar("T")


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


def _numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


def _as_text(schema: pa.Schema, known: Mapping[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Columns inferred as numbers (and not declared): read as text, settled afterwards."""
    return {f.name: pa.string() for f in schema if _numeric(f.type) and f.name not in known}


def _decimal(options: Mapping[str, Any]) -> str:
    return str(options.get("decimal") or ".")


_FIX_ROWS = "fix the file, or set on_bad_lines: skip | quarantine on this input"


def _growing(request: ReadRequest, block: int, attempt: Callable[[int], T]) -> T:
    """``attempt(block)``, again with larger blocks while a record does not fit one."""
    size = request.path.stat().st_size
    while True:
        try:
            return attempt(block)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) or block > size or block >= _MAX_BLOCK:
                raise
            block = min(_MAX_BLOCK, max(block * 4, 1 << 22))


def _located(request: ReadRequest, fallback: str) -> InputError:
    """The first malformed record with its line number, found by a careful re-read."""
    try:
        bad = first_bad_line(request.path, request.options, request.shown)
    except (OSError, LookupError, ValueError):
        bad = None
    if bad is None:
        return InputError(
            f"cannot read CSV {request.shown}: {fallback}", file=request.shown
        )
    return InputError(
        f"{request.shown}:{bad.line}: {bad.reason}; {_FIX_ROWS}",
        file=request.shown,
        line=bad.line,
    )


def _fail(request: ReadRequest, exc: Exception) -> InputError:
    text = str(exc).strip()
    shown = request.shown
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, PermissionError):
        text = "permission denied; make the file readable for this user"
    elif isinstance(exc, IsADirectoryError):
        text = "expected a file, found a directory"
    elif isinstance(exc, OSError):
        text = exc.strerror or text
    elif "Empty CSV file" in text:
        text = "the file is empty (not even a header line)"
    elif _CONVERSION.search(text):
        return _declared_mismatch(request, text)
    elif isinstance(exc, UnicodeDecodeError) or "CSV parse error" in text:
        return _located(request, text)
    return InputError(f"cannot read CSV {shown}: {text}", file=shown)


def _check_quotes(request: ReadRequest) -> None:
    """pyarrow reads a quoted field that never closes as running to the end of the file,
    silently: look for that first (a byte count; the careful re-read only when it is odd)."""
    if not unbalanced_quotes(request.path, request.options):
        return
    bad = first_bad_line(request.path, request.options, request.shown)
    if bad is not None:
        raise InputError(
            f"{request.shown}:{bad.line}: {bad.reason}; {_FIX_ROWS}",
            file=request.shown,
            line=bad.line,
        )


def _check_names(request: ReadRequest, names: list[str]) -> None:
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if twice:
        raise InputError(
            f"{request.shown}:{int(request.options.get('skiprows') or 0) + 1}: the header "
            f"names column(s) {twice} more than once; give every column its own name",
            file=request.shown,
            line=int(request.options.get("skiprows") or 0) + 1,
            column=twice[0],
        )


def _check_swallowed(request: ReadRequest, table: pa.Table, before: int = 0) -> None:
    """A quoted value over too many lines: pyarrow took a stray quote at its word."""
    options = request.options
    limit = int(options.get("max_field_lines") or MAX_FIELD_LINES)
    size = int(options.get("max_field_bytes") or MAX_FIELD_BYTES)
    index = swallowed(table, limit, size)
    if index is None:
        return
    bad = first_bad_line(request.path, options, request.shown)
    if bad is not None:
        raise InputError(
            f"{request.shown}:{bad.line}: {bad.reason}; {_FIX_ROWS}",
            file=request.shown,
            line=bad.line,
        )
    line = record_line(request.path, options, before + index)
    raise InputError(
        f"{request.shown}:{line}: a quoted value spans more than {limit} lines or {size} bytes "
        "(a stray quote?); fix the quoting, or raise options.max_field_lines / max_field_bytes",
        file=request.shown,
        line=line,
    )


def _open(request: ReadRequest, types: Mapping[str, pa.DataType], block: int) -> Any:
    options = request.options
    return pacsv.open_csv(
        request.path,
        read_options=_read_options(options, block),
        parse_options=_parse_options(options),
        convert_options=_convert_options(options, types),
    )


def _probe(request: ReadRequest) -> tuple[pa.Schema, dict[str, pa.DataType]]:
    """The first block's inferred schema, and the declared dtypes plus text pins."""
    _check_quotes(request)

    def schema_of(block: int) -> pa.Schema:
        with _open(request, {}, block) as reader:
            return reader.schema

    schema = _growing(request, _PROBE_BLOCK, schema_of)
    _check_names(request, schema.names)
    declared = _declared_types(request.options, schema.names)
    return schema, {**declared, **_text_pins(schema, declared)}


def column_types_for(request: ReadRequest) -> dict[str, pa.DataType]:
    """Declared dtypes plus text pins, from a cheap look at the first block."""
    return _probe(request)[1]


def _first_block_types(
    request: ReadRequest, types: Mapping[str, pa.DataType], texts: Mapping[str, pa.DataType]
) -> dict[str, pa.DataType]:
    """What the first block's number columns settle to (text where spelled like 007)."""

    def first(block: int) -> pa.Table:
        with _open(request, {**types, **texts}, block) as reader:
            try:
                return pa.Table.from_batches([reader.read_next_batch()])
            except StopIteration:
                return reader.schema.empty_table()

    table = _growing(request, _PROBE_BLOCK, first)
    return {n: settle(table.column(n), _decimal(request.options)).type for n in texts}


def stream_schema(request: ReadRequest) -> pa.Schema:
    """The types stream mode reads with: inferred from the first block, declared ones applied.

    Batch mode infers from the whole file; the two agree unless a column's first block is
    empty or narrower (ints) than later rows, which stream mode reports as a clear error.
    """
    try:
        inferred, types = _probe(request)
        texts = _as_text(inferred, types)
        settled = _first_block_types(request, types, texts) if texts else {}
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(request, exc) from None
    _check_text(request, inferred)
    fields = [pa.field(f.name, settled.get(f.name, types.get(f.name, f.type))) for f in inferred]
    return pa.schema(fields)


def _read_all(request: ReadRequest, types: Mapping[str, pa.DataType]) -> pa.Table:
    def whole(block: int) -> pa.Table:
        return pacsv.read_csv(
            request.path,
            read_options=_read_options(request.options, block if block > _PROBE_BLOCK else None),
            parse_options=_parse_options(request.options),
            convert_options=_convert_options(request.options, types),
        )

    return _growing(request, _PROBE_BLOCK, whole)


def read_table(request: ReadRequest) -> pa.Table:
    try:
        inferred, types = _probe(request)
        texts = _as_text(inferred, types)
        table = _read_all(request, {**types, **texts})
        # A column that had no values in the first block: dates pinned, numbers settled.
        late = {**_text_pins(table.schema, types), **_as_text(table.schema, {**types, **texts})}
        if late:
            texts.update({n: t for n, t in late.items() if n not in types})
            types.update({n: t for n, t in late.items() if n in types})
            table = _read_all(request, {**types, **texts})
        decimal = _decimal(request.options)
        for name in texts:
            if name in table.column_names:
                i = table.column_names.index(name)
                table = table.set_column(i, name, settle(table.column(i), decimal))
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(request, exc) from None
    _check_text(request, table.schema)
    _check_swallowed(request, table)
    return table


_CONVERSION = re.compile(
    r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'"
)


def _undecodable(request: ReadRequest, column: str) -> InputError:
    encoding = request.options.get("encoding") or "utf-8"
    hint = f"set options.encoding to the file's encoding (e.g. latin-1, cp1252), or {_FIX_ROWS}"
    try:
        bad = first_bad_line(request.path, request.options, request.shown)
    except (OSError, LookupError, ValueError):
        bad = None
    where = f"{request.shown}:{bad.line}" if bad else f"cannot read CSV {request.shown}"
    return InputError(
        f"{where}: column '{column}' has bytes that are not valid {encoding}; {hint}",
        file=request.shown,
        column=column,
        line=bad.line if bad else None,
    )


def _check_text(request: ReadRequest, schema: pa.Schema) -> None:
    """pyarrow turns undecodable text into binary columns; say so instead."""
    for f in schema:
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            raise _undecodable(request, f.name)


def _value_line(request: ReadRequest, column: str, value: str, start: int = 0) -> int | None:
    """The line of the first record (from ``start``) whose ``column`` holds ``value``."""
    import pyarrow.compute as pc

    try:
        table = _read_all(request, dict.fromkeys([column], pa.string()))
        found = pc.index(table.column(column).slice(start), value).as_py()
    except (pa.ArrowException, OSError, ValueError, KeyError):
        return None
    return None if found < 0 else record_line(request.path, request.options, start + found)


def _declared_mismatch(request: ReadRequest, text: str) -> InputError:
    """A value that does not parse as its column's declared dtype, with its line."""
    found = _CONVERSION.search(text)
    assert found is not None
    names = _probe(request)[0].names
    index = int(found.group(1))
    column = names[index] if index < len(names) else found.group(1)
    kind, value = found.group(2), found.group(3)
    if kind in ("string", "utf8", "large_string"):
        return _undecodable(request, str(column))
    line = _value_line(request, str(column), value)
    where = f"{request.shown}:{line}" if line else f"cannot read CSV {request.shown}"
    return InputError(
        f"{where}: column '{column}' is declared {kind} (options.dtype) but holds {value!r}; "
        "fix the value or declare the column str",
        file=request.shown,
        line=line,
        column=column,
    )


def _stream_fail(request: ReadRequest, exc: Exception, names: list[str], done: int) -> InputError:
    found = _CONVERSION.search(str(exc))
    if not found:
        if "invalid UTF8" in str(exc):
            return _undecodable(request, "?")
        return _fail(request, exc)
    column = names[int(found.group(1))] if int(found.group(1)) < len(names) else found.group(1)
    kind, value = found.group(2), found.group(3)
    if kind in ("string", "utf8", "large_string"):
        return _undecodable(request, str(column))
    declared = _declared_types(request.options, names)
    if column in declared:
        return _declared_mismatch(request, str(exc))
    return _unstreamable(request, str(column), kind, value, "", done)


def _unstreamable(
    request: ReadRequest, column: str, kind: str, value: str, why: str, done: int
) -> InputError:
    seen = "had no values" if kind == "null" else f"held only {kind} values"
    line = _value_line(request, column, value, done)
    where = f"{request.shown}:{line}: cannot stream CSV" if line else "cannot stream CSV"
    return InputError(
        f"{where} {request.shown}: column '{column}' {seen} in the first rows, so "
        f"stream mode reads it as {kind}, but a later row has {value!r}{why}. Declare its "
        f"type: options: {{dtype: {{{column}: <str|int|float|bool>}}}}",
        file=request.shown,
        line=line,
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
    declared = _declared_types(request.options, fixed.names)
    texts = {n: pa.string() for n, t in types.items() if _numeric(t) and n not in declared}
    reading = {**types, **texts}

    def read() -> Iterator[Any]:
        done = 0  # rows produced so far: after a larger block is needed, read on from here
        block = _STREAM_BLOCK
        first = True
        while True:
            try:
                reader = _open(request, reading, block)
            except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
                if "straddling" in str(exc) and block < _MAX_BLOCK:
                    block = min(_MAX_BLOCK, block * 4)
                    continue
                raise _fail(request, exc) from None
            with reader:
                if first:
                    yield _settled_schema(reader.schema, types, texts)
                    first = False
                skip = done
                try:
                    for batch in _batches(reader, request, fixed.names, done):
                        if skip:
                            cut = min(skip, batch.num_rows)
                            batch, skip = batch.slice(cut), skip - cut
                            if not batch.num_rows:
                                continue
                        batch = _fixed(request, batch, types, texts, done)
                        done += batch.num_rows
                        yield batch
                    return
                except _Straddling:
                    if block >= min(_MAX_BLOCK, request.path.stat().st_size + 1):
                        raise
                    block = min(_MAX_BLOCK, block * 4)

    # pyarrow's streaming parser runs on one core; parsing the next block in a thread while
    # this one converts, runs steps and writes uses the second.
    items = prefetch(read())
    yield from rechunk(items, chunk_rows, next(items))


class _Straddling(Exception):
    """A record larger than the stream reader's block."""


def _settled_schema(
    schema: pa.Schema, types: Mapping[str, pa.DataType], texts: Mapping[str, pa.DataType]
) -> pa.Schema:
    return pa.schema([pa.field(f.name, types[f.name]) if f.name in texts else f for f in schema])


def _fixed(
    request: ReadRequest,
    batch: pa.RecordBatch,
    types: Mapping[str, pa.DataType],
    texts: Mapping[str, pa.DataType],
    done: int,
) -> pa.RecordBatch:
    """A batch with its number columns (read as text) checked and converted."""
    _check_swallowed(request, pa.Table.from_batches([batch]), done)
    if not texts:
        return batch
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in texts:
            try:
                column = fix(column, types[name], _decimal(request.options))
            except Mismatch as exc:
                kind = str(types[name])
                why = f" ({exc.reason})" if "spelled" in exc.reason else ""
                raise _unstreamable(request, name, kind, exc.value, why, done) from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=_settled_schema(batch.schema, types, texts))


def _batches(
    reader: pacsv.CSVStreamingReader, request: ReadRequest, names: list[str], done: int
) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
            if "straddling" in str(exc):
                raise _Straddling from None
            raise _stream_fail(request, exc, names, done) from None
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
