"""Parquet: the format plug-in (options, checked at validation); reading and writing live in
:mod:`trakt.io.parquet_io` and :mod:`trakt.io.parquet_partition`, imported when used, so that
``trakt validate`` imports no pyarrow."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from trakt.io.registry import check_unknown_options

if TYPE_CHECKING:
    import pyarrow as pa

    from trakt.io.registry import ReadRequest, TableWriter

OPTION_NAMES = frozenset({"columns", "source_column"})
WRITER_OPTION_NAMES = frozenset({"compression", "row_group_size", "partition_by"})
COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
DEFAULT_COMPRESSION = "zstd"
DEFAULT_ROW_GROUP_SIZE = 128 * 1024


def _names(options: Mapping[str, Any], key: str) -> list[str]:
    """Problems with a list-of-column-names option."""
    value = options.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return [f"option '{key}' must be a list of column names, found {value!r}"]
    twice = sorted({v for i, v in enumerate(value) if v in value[:i]})
    if twice:
        return [f"option '{key}' names {twice} more than once; name each column once"]
    return []


def check_writer_options(options: Mapping[str, Any]) -> list[str]:
    """Problems with Parquet writer options, as messages."""
    problems = check_unknown_options(options, WRITER_OPTION_NAMES, "parquet writer")
    compression = options.get("compression")
    if compression is not None and compression not in COMPRESSIONS:
        problems.append(
            f"option 'compression' must be one of {', '.join(COMPRESSIONS)}, found {compression!r}"
        )
    size = options.get("row_group_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        problems.append(
            f"option 'row_group_size' must be a positive number of rows, found {size!r}"
        )
    if options.get("partition_by") == []:
        problems.append("option 'partition_by' is empty; name at least one column, or remove it")
    return problems + _names(options, "partition_by")


class ParquetFormat:
    """Parquet files: read whole or by row group, written in row groups of a fixed size."""

    name = "parquet"
    extensions: tuple[str, ...] = (".parquet", ".pq")
    option_names = OPTION_NAMES
    writer_option_names = WRITER_OPTION_NAMES

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_unknown_options(options, OPTION_NAMES, "parquet") + _names(options, "columns")

    def check_writer_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_writer_options(options)

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def schema_bytes(self, src: BinaryIO, size: int) -> bytes:
        """A small file with this one's schema, read from ``src`` (the file, ``size`` bytes,
        seekable): its footer only, so a store file's header costs two small reads."""
        from trakt.io import parquet_io

        return parquet_io.footer_file(src, size)

    def read_table(self, request: ReadRequest) -> pa.Table:
        from trakt.io import parquet_io

        return parquet_io.read_table(request)

    def schema(self, request: ReadRequest) -> pa.Schema:
        from trakt.io import parquet_io

        return parquet_io.read_schema(request)

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        from trakt.io import parquet_io

        return parquet_io.iter_tables(request, chunk_rows, schema)

    def writes_directory(self, options: Mapping[str, Any]) -> bool:
        """Whether an output with ``options`` is a directory (Hive partitions)."""
        return bool(options.get("partition_by"))

    def open_writer(self, path: Path, options: Mapping[str, Any]) -> TableWriter:
        """A writer of the file ``path``, or with ``partition_by`` of the directory ``path``."""
        from trakt.io import parquet_io, parquet_partition

        if options.get("partition_by"):
            return parquet_partition.PartitionedWriter(path, options)
        return parquet_io.ParquetTableWriter(path, options)
