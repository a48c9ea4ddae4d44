"""Helpers for formats that move data: Arrow tables in chunks, combined schemas, reading
ahead in a thread. The registry and the plug-in protocol are :mod:`trakt.io.registry`
(re-exported here)."""

from __future__ import annotations

import contextlib
import ctypes
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from typing_extensions import TypeIs

from trakt.io.registry import (  # noqa: F401 - re-exported: formats import them from here
    COMPRESSION_BY_EXTENSION,
    DEFAULT_FORMAT,
    UNSUPPORTED_COMPRESSION,
    Format,
    ReadRequest,
    TableWriter,
    check_unknown_options,
    format_for_uri,
    get_format,
    input_format,
    known_formats,
    output_format,
    register_format,
    split_compression,
    uri_extension,
)

if TYPE_CHECKING:
    import pandas as pd


def is_pandas(value: object) -> TypeIs[pd.DataFrame]:
    """Whether ``value`` is a pandas DataFrame, without importing pandas: before pandas is
    imported no value can be one (a run without pandas steps never imports it). Another
    thread may be importing it right now (pyarrow imports pandas the first time it converts
    a Python value): until the module has its DataFrame, no value can be one either."""
    frame = getattr(sys.modules.get("pandas"), "DataFrame", None)
    return frame is not None and isinstance(value, frame)


def nan_as_null(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NaN as null: extension floats (``Float64``) can hold both."""
    if not pa.types.is_floating(array.type) or not pc.any(pc.is_nan(array)).as_py():
        return array
    return pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)


def normalize_table(table: pa.Table) -> pa.Table:
    """Replace all-null (type ``null``) columns by string columns."""
    if not any(pa.types.is_null(t) for t in table.schema.types):
        return table
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def slices(table: pa.Table, chunk_rows: int) -> Iterator[pa.Table]:
    """A table in chunks of ``chunk_rows`` (one empty chunk for an empty table)."""
    for offset in range(0, max(table.num_rows, 1), chunk_rows):
        yield table.slice(offset, chunk_rows)


def rechunk(
    batches: Iterator[pa.RecordBatch], chunk_rows: int, schema: pa.Schema
) -> Iterator[pa.Table]:
    """Regroup record batches of any size into tables of exactly ``chunk_rows`` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    emitted = False
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count < chunk_rows:
            continue
        table = pa.Table.from_batches(pending, schema)
        offset = 0
        while count - offset >= chunk_rows:
            yield table.slice(offset, chunk_rows)
            offset += chunk_rows
            emitted = True
        rest = table.slice(offset)
        pending, count = rest.to_batches(), rest.num_rows
    if count or not emitted:
        yield pa.Table.from_batches(pending, schema)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, in its order and types (missing -> null)."""
    present = set(table.column_names)  # built once: the property makes a new list per call
    columns = [
        table.column(f.name).cast(f.type) if f.name in present else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _common_type(name: str, types: list[pa.DataType]) -> pa.DataType:
    try:
        unified = pa.unify_schemas(
            [pa.schema([(name, t)]) for t in types], promote_options="permissive"
        )
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.string()  # e.g. numbers in one file, text in another: keep the text
    return unified.field(name).type


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for several files: columns in first-seen order; numeric types widen
    (int + float -> float); types that do not combine (int + text) become text."""
    names: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for f in schema:
            names.setdefault(f.name, []).append(f.type)
    return pa.schema([pa.field(n, _common_type(n, types)) for n, types in names.items()])


def lines_block(head: bytes, smallest: int, largest: int, rows: int = 4096) -> int:
    """A stream read's block size: ``smallest`` bytes, or more where a file's lines, estimated
    from ``head`` (its first ``smallest`` bytes), are so wide that fewer than ``rows`` fit,
    up to ``largest``. A block costs a fixed amount per column (checks, conversions): with
    blocks of a fixed size, a file twice as wide has twice the blocks of twice the columns,
    and the run time grew with the square of the columns (``benchmarks/wide_columns.py``)."""
    lines = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")
    if len(head) < smallest or lines >= rows:
        return smallest
    wanted = -(-len(head) * rows // max(lines, 1))  # bytes per line, rounded up, times rows
    return min(largest, max(smallest, wanted))


def prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Produce ``items`` in a background thread, at most ``depth`` ahead of the consumer.

    Worth it where producing releases the GIL (pyarrow parsing). Exceptions surface on the
    consumer's side; closing the consumer stops the producer.
    """
    channel: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                channel.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("done", None)
        except BaseException as exc:  # handed to the consumer, raised there
            put("error", exc)
        finally:  # in this thread, which owns it: releases the reader and its file
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="trakt-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = channel.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=5)


@contextlib.contextmanager
def scratch_memory() -> Iterator[None]:
    """Arrow's allocations inside by the system allocator, given back to the OS after.

    jemalloc (the CLI's pool) keeps the pages a short Arrow job freed in its arenas for the
    rest of the run: a CSV scan's first-block probe left about 33 MiB there, for a run whose
    rows then go through polars, never through Arrow. Any other pool is left as it is."""
    previous = pa.default_memory_pool()
    if previous.backend_name != "jemalloc":
        yield
        return
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)
