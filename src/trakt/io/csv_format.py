"""The CSV format plug-in: what validation needs (names, extensions, option checks) without
pyarrow or pandas; reading (:mod:`trakt.io.csv`) and writing (:mod:`trakt.io.csv_writer`)
are imported when data moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trakt.io.csv_option_rules import OPTION_NAMES, check_options
from trakt.io.csv_separator import header_hint
from trakt.io.csv_write_options import WRITER_OPTION_NAMES, check_writer_options
from trakt.io.csv_write_options import writer_options_for as _writer_options_for

if TYPE_CHECKING:
    import pyarrow as pa

    from trakt.io.badlines import BadLine
    from trakt.io.csv_scan import CsvScan
    from trakt.io.csv_writer import CsvTableWriter
    from trakt.io.registry import ReadRequest
    from trakt.io.sources import InputFiles, Prepared, SourceFile


class CsvFormat:
    """Comma-separated values (``.csv``, ``.txt``; compressed too: ``.csv.gz``)."""

    name = "csv"
    extensions: tuple[str, ...] = (".csv", ".txt")
    option_names = OPTION_NAMES
    writer_option_names = WRITER_OPTION_NAMES
    sets_aside_bad_lines = True  # records with the wrong number of fields: on_bad_lines
    rereads_as_text = True  # a column typed differently across files is re-read as text
    header_in_first_lines = True  # a file's first whole lines read as a file: its header

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_options(options)

    def check_writer_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_writer_options(options)

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """A ``.gz`` / ``.bz2`` / ``.zst`` / ``.xz`` path implies that compression."""
        return _writer_options_for(path, options)

    def read_as_text(self, options: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
        """Options that read ``columns`` as text (a contract then parses them itself)."""
        declared = options.get("dtype")
        if isinstance(declared, str):
            return dict(options)
        return {**options, "dtype": {**(declared or {}), **dict.fromkeys(columns, "str")}}

    def header_hint(self, names: list[str], options: Mapping[str, Any]) -> str | None:
        """The fix when the columns read are one name holding another separator (``id;amount``
        read with ``,``): set ``sep``; None when the header looks split right."""
        return header_hint(names, options)

    def prepare(self, files: InputFiles, scratch: Callable[[str], Path]) -> Prepared:
        """The input's files made ready for the fast reader (decompressed, UTF-8, bad lines
        set aside)."""
        from trakt.io.csv_inputs import prepare

        return prepare(files, scratch)

    def locate(
        self,
        rows: list[BadLine],
        files: list[SourceFile],
        counts: Mapping[str, int],
        options: Mapping[str, Any],
    ) -> list[BadLine]:
        """Rows numbered across the input's files, given their own file and line."""
        from trakt.io.csv_inputs import locate_rows

        return locate_rows(rows, files, counts, options)

    def preload(self) -> None:
        """Import the writer's library in the background while inputs are read."""
        from trakt.io.csv_writer import preload_writer

        preload_writer()

    def read_table(self, request: ReadRequest) -> pa.Table:
        from trakt.io.csv import read_table

        return read_table(request)

    def schema(self, request: ReadRequest) -> pa.Schema:
        from trakt.io.csv import stream_schema

        return stream_schema(request)

    def scan(
        self, request: ReadRequest, on_batch: Callable[[Any], None] | None = None
    ) -> CsvScan | None:
        """The file as a checked polars query (:mod:`trakt.io.csv_scan`), or None where only
        the exact reader reads it as Trakt does."""
        from trakt.io.base import scratch_memory
        from trakt.io.csv import stream_schema
        from trakt.io.csv_scan import scan

        with scratch_memory():  # the probe's Arrow pages not kept for the polars run
            schema = stream_schema(request, quotes=False)
        return scan(request, schema, on_batch)

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        from trakt.io.csv import iter_tables

        return iter_tables(request, chunk_rows, schema)

    def open_writer(self, path: Path, options: Mapping[str, Any] | None = None) -> CsvTableWriter:
        from trakt.io.csv_writer import CsvTableWriter

        return CsvTableWriter(path, options or {})
