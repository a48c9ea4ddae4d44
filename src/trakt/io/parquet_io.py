"""Parquet reading (pyarrow, whole or by row group) and writing in row groups of a fixed size.

Writes are the same bytes whatever the chunking: rows are buffered and written in row groups
of exactly ``row_group_size`` rows (the rest when the writer closes), each from one contiguous
table, and schema metadata (pandas', which differs between runs) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from trakt.errors import InputError, OutputError
from trakt.io.base import rechunk
from trakt.io.guard import SchemaGuard, fit, plain_schema
from trakt.io.parquet import DEFAULT_COMPRESSION, DEFAULT_ROW_GROUP_SIZE
from trakt.io.registry import ReadRequest

_ERRORS = (pa.ArrowException, OSError, ValueError)


def _open(request: ReadRequest) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(request.path)
    except _ERRORS as exc:
        raise InputError(
            f"{request.shown}: cannot read it as Parquet ({exc}); check that the file is a "
            "complete Parquet file, or set the input's `format:` to the file's real format",
            file=request.shown,
        ) from None


def _columns(request: ReadRequest, schema: pa.Schema) -> list[str] | None:
    """The ``columns`` option, checked against the file's columns."""
    columns: list[str] | None = request.options.get("columns")
    if columns is None:
        return None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise InputError(
            f"{request.shown}: options.columns names column '{missing[0]}', which the file does "
            f"not have (it has {schema.names}); use names from the file",
            file=request.shown,
            column=missing[0],
        )
    return columns


def read_table(request: ReadRequest) -> pa.Table:
    """The whole file (or its ``columns``), types exactly as stored."""
    file = _open(request)
    columns = _columns(request, file.schema_arrow)
    try:
        table = file.read(columns=columns, use_pandas_metadata=False)
    except _ERRORS as exc:
        raise InputError(
            f"{request.shown}: cannot read Parquet data: {exc}", file=request.shown
        ) from None
    return table.cast(plain_schema(table.schema))


def read_schema(request: ReadRequest) -> pa.Schema:
    """The file's column types, from its footer (no data is read)."""
    schema = _open(request).schema_arrow
    columns = _columns(request, schema)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    return plain_schema(schema)


MAGIC = b"PAR1"


def footer_file(src: BinaryIO, size: int) -> bytes:
    """A Parquet file made of ``src``'s footer only (its schema and row group metadata, no
    data): the magic, the footer, its length, the magic; :func:`read_schema` needs no more.
    A file that does not end as Parquet does gives its last bytes: the reader says so."""
    if size < 12:
        src.seek(0)
        return src.read()
    src.seek(size - 8)
    tail = src.read(8)
    length = int.from_bytes(tail[:4], "little")
    if tail[4:] != MAGIC or length > size - 12:
        return tail
    src.seek(size - 8 - length)
    return MAGIC + src.read(length) + tail


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last may be shorter), row group by row group."""
    file = _open(request)
    columns = _columns(request, file.schema_arrow)
    own = read_schema(request)
    target = own if schema is None else schema

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in file.iter_batches(batch_size=chunk_rows, columns=columns):
                yield _conform(pa.Table.from_batches([batch], own), target).combine_chunks()
        except _ERRORS as exc:
            raise InputError(
                f"{request.shown}: cannot read Parquet data: {exc}", file=request.shown
            ) from None

    def flat() -> Iterator[pa.RecordBatch]:
        for table in batches():
            yield from table.to_batches()

    yield from rechunk(flat(), chunk_rows, target)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    present = set(table.column_names)
    arrays = [
        table.column(f.name).cast(f.type) if f.name in present else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class RowGroups:
    """One Parquet file, written in row groups of exactly ``size`` rows (the rest at close)."""

    def __init__(self, path: Path, shown: str, options: Mapping[str, Any]) -> None:
        self.path = path
        self.shown = shown
        self.size = int(options.get("row_group_size") or DEFAULT_ROW_GROUP_SIZE)
        codec = str(options.get("compression") or DEFAULT_COMPRESSION)
        self.compression = "none" if codec == "none" else codec
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, table: pa.Table, guard: SchemaGuard) -> None:
        """Buffer ``table``; write every full row group."""
        if table.num_rows:
            self.pending.append(table)
            self.rows += table.num_rows
        if self.rows >= self.size:
            self._flush(guard, whole_only=True)

    def close(self, guard: SchemaGuard, empty: pa.Schema) -> None:
        """Write the rest (a file without rows has the schema and no row group)."""
        self._flush(guard, whole_only=False)
        if self.writer is None:
            self._open(guard.schema or empty, guard)
        assert self.writer is not None
        try:
            self.writer.close()
        except _ERRORS as exc:
            raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None

    def _open(self, schema: pa.Schema, guard: SchemaGuard) -> None:
        guard.frozen = True
        try:
            self.writer = pq.ParquetWriter(self.path, schema, compression=self.compression)
        except _ERRORS as exc:
            raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None

    def _flush(self, guard: SchemaGuard, whole_only: bool) -> None:
        if not self.pending:
            return
        schema = guard.schema
        assert schema is not None
        table = pa.concat_tables([fit(t, schema) for t in self.pending])
        if self.writer is None:
            self._open(schema, guard)
        assert self.writer is not None
        offset = 0
        while table.num_rows - offset >= self.size or (not whole_only and offset < table.num_rows):
            # One contiguous table per row group: pages then do not depend on the chunking.
            group = table.slice(offset, self.size).combine_chunks()
            try:
                self.writer.write_table(group, row_group_size=self.size)
            except _ERRORS as exc:
                raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None
            offset += group.num_rows
        rest = table.slice(offset)
        self.pending = [rest] if rest.num_rows else []
        self.rows = rest.num_rows


class ParquetTableWriter:
    """Writes one Parquet file from Arrow tables appended in order."""

    def __init__(self, path: Path, options: Mapping[str, Any]) -> None:
        self.guard = SchemaGuard(str(path))
        self.groups = RowGroups(path, str(path), options)

    def write(self, table: pa.Table) -> None:
        self.groups.add(self.guard.admit(table), self.guard)

    def close(self) -> None:
        self.groups.close(self.guard, pa.schema([]))
