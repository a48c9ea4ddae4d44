"""CSV: pyarrow's multithreaded reader; writing lives in :mod:`trakt.io.csv_writer`.

Measured on 1M rows (``benchmarks/batch_vs_pandas.py``): pyarrow reads several times faster than
pandas' C parser.

Columns pyarrow would infer as numbers are read as text and settled by
:mod:`trakt.io.csv_checks`, so no value changes on the way (``007`` stays ``007``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from trakt.io.base import prefetch, rechunk
from trakt.io.csv_blocks import read_blocks
from trakt.io.csv_checks import Mismatch, fix, settle
from trakt.io.csv_errors import (
    check_names,
    check_quotes,
    check_swallowed,
    check_text,
    fail,
    stream_fail,
    unstreamable,
)
from trakt.io.csv_floats import check_declared_floats
from trakt.io.csv_option_rules import DEFAULT_NA, OPTION_NAMES, check_options
from trakt.io.csv_options import (
    DTYPES,
    MAX_BLOCK,
    PROBE_BLOCK,
    convert_options,
    declared_types,
    growing,
    parse_options,
    read_all,
    read_options,
    text_pins,
)
from trakt.io.csv_writer import CsvTableWriter, write  # re-exported: the writing half
from trakt.io.rawshape import block_for_rows
from trakt.io.registry import ReadRequest

__all__ = [
    "DEFAULT_NA",
    "DTYPES",
    "OPTION_NAMES",
    "CsvTableWriter",
    "check_options",
    "iter_tables",
    "read_table",
    "write",
]

# Stream reads: 1 MiB blocks kept peak RSS ~50 MB lower than 4 MiB at about the same speed
# (benchmarks/stream_memory.py); a wide file's blocks hold 4,096 lines, up to 16 MiB
# (rawshape.block_for_rows: a block's checks cost the same for each of its columns).
_STREAM_BLOCK = 1 << 20
_WIDE_BLOCK = 16 << 20


def _numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


def _as_text(schema: pa.Schema, known: Mapping[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Columns inferred as numbers (and not declared): read as text, settled afterwards."""
    return {f.name: pa.string() for f in schema if _numeric(f.type) and f.name not in known}


def _decimal(options: Mapping[str, Any]) -> str:
    return str(options.get("decimal") or ".")


def _open(request: ReadRequest, types: Mapping[str, pa.DataType], block: int) -> Any:
    options = request.options
    return pacsv.open_csv(
        request.path,
        read_options=read_options(options, block),
        parse_options=parse_options(options),
        convert_options=convert_options(options, types),
    )


def _probe(request: ReadRequest, quotes: bool = True) -> tuple[pa.Schema, dict[str, pa.DataType]]:
    """The first block's inferred schema, and the declared dtypes plus text pins; ``quotes``:
    the whole file's quoting looked at first."""
    if quotes:
        check_quotes(request)

    def schema_of(block: int) -> pa.Schema:
        with _open(request, {}, block) as reader:
            return reader.schema

    schema = growing(request, PROBE_BLOCK, schema_of)
    check_names(request, schema.names)
    declared = declared_types(request.options, schema.names)
    return schema, {**declared, **text_pins(schema, declared)}


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

    table = growing(request, PROBE_BLOCK, first)
    return {n: settle(table.column(n), _decimal(request.options)).type for n in texts}


def stream_schema(request: ReadRequest, quotes: bool = True) -> pa.Schema:
    """The types stream mode reads with: inferred from the first block, declared ones applied.

    Batch mode infers from the whole file; the two agree unless a column's first block is
    empty or narrower (ints) than later rows, which stream mode reports as a clear error.
    ``quotes=False`` leaves the whole file's quoting to the caller (a scan looks at it while
    polars reads).
    """
    try:
        inferred, types = _probe(request, quotes)
        texts = _as_text(inferred, types)
        settled = _first_block_types(request, types, texts) if texts else {}
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise fail(request, exc) from None
    check_text(request, inferred)
    fields = [pa.field(f.name, settled.get(f.name, types.get(f.name, f.type))) for f in inferred]
    return pa.schema(fields)


def _settled(table: pa.Table, texts: Mapping[str, pa.DataType], decimal: str) -> pa.Table:
    """Number columns read as text, settled; pyarrow.compute releases the GIL, so the
    columns are settled side by side."""
    names = [n for n in texts if n in table.column_names]
    if not names:
        return table
    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        columns = list(pool.map(lambda n: settle(table.column(n), decimal), names))
    for name, column in zip(names, columns, strict=True):
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def read_table(request: ReadRequest) -> pa.Table:
    try:
        inferred, types = _probe(request)
        texts = _as_text(inferred, types)
        decimal = _decimal(request.options)
        table = read_blocks(request, inferred, types, texts, decimal)
        if table is None:
            table = _read_whole(request, types, texts, decimal)
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        raise fail(request, exc) from None
    return _checked(request, table)


def _read_whole(
    request: ReadRequest, types: dict[str, pa.DataType], texts: dict[str, pa.DataType], decimal: str
) -> pa.Table:
    """The whole file as text, then settled: what :func:`read_blocks` cannot read."""
    table = read_all(request, {**types, **texts})
    # A column that had no values in the first block: dates pinned, numbers settled.
    late = {**text_pins(table.schema, types), **_as_text(table.schema, {**types, **texts})}
    if late:
        texts.update({n: t for n, t in late.items() if n not in types})
        types.update({n: t for n, t in late.items() if n in types})
        table = read_all(request, {**types, **texts})
    return _settled(table, texts, decimal)


def _checked(request: ReadRequest, table: pa.Table) -> pa.Table:
    """The whole file's table, once no value in it breaks a rule a read may not see."""
    check_text(request, table.schema)
    check_swallowed(request, table, whole=True)
    check_declared_floats(request, table)
    return table


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """Stream the file in tables of exactly ``chunk_rows`` rows (the last may be shorter).

    Types are fixed up front (``schema``, default: :func:`stream_schema` of this file), so
    every chunk has the same dtypes; one empty table is yielded for a file without rows.
    """
    fixed = schema if schema is not None else stream_schema(request)
    types = {f.name: f.type for f in fixed if not pa.types.is_null(f.type)}
    declared = declared_types(request.options, fixed.names)
    texts = {n: pa.string() for n, t in types.items() if _numeric(t) and n not in declared}
    # A column empty in the first block stays null when a long record makes the reader start
    # over with a larger block (which would infer afresh): a later value is then reported.
    nulls = {f.name: pa.null() for f in fixed if pa.types.is_null(f.type)}
    reading = {**types, **texts, **nulls}

    def read() -> Iterator[Any]:
        done = 0  # rows produced so far: after a larger block is needed, read on from here
        block = block_for_rows(request.path, _STREAM_BLOCK, _WIDE_BLOCK)
        first = True
        while True:
            try:
                reader = _open(request, reading, block)
            except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
                if "straddling" in str(exc) and block < MAX_BLOCK:
                    block = min(MAX_BLOCK, block * 4)
                    continue
                raise stream_fail(request, exc, fixed.names, done) from None
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
                    if block >= min(MAX_BLOCK, request.path.stat().st_size + 1):
                        raise
                    block = min(MAX_BLOCK, block * 4)

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
    check_swallowed(request, pa.Table.from_batches([batch]), done)
    check_declared_floats(request, pa.Table.from_batches([batch]), done)
    if not texts:
        return batch
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in texts:
            try:
                column = fix(column, types[name], _decimal(request.options))
            except Mismatch as exc:
                kind = str(types[name])
                why = "" if exc.reason.startswith("not ") else f" ({exc.reason})"
                raise unstreamable(request, name, kind, exc.value, why, done) from None
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
            raise stream_fail(request, exc, names, done) from None
        yield batch


def __getattr__(name: str) -> object:
    if name == "CsvFormat":  # moved to the light module; kept importable from here
        from trakt.io.csv_format import CsvFormat

        return CsvFormat
    raise AttributeError(name)
