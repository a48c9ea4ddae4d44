"""IO: one module per format, registered by name and extension."""

from trakt.io.base import (
    DEFAULT_FORMAT,
    ChunkWriter,
    Format,
    ReadRequest,
    TableWriter,
    format_for_uri,
    get_format,
    input_format,
    known_formats,
    output_format,
    register_format,
)
from trakt.io.csv import CsvFormat
from trakt.io.excel import ExcelFormat
from trakt.io.jsonl import JsonlFormat
from trakt.io.parquet import ParquetFormat
from trakt.io.tsv import TsvFormat

register_format(CsvFormat())
register_format(ExcelFormat(), "excel")
register_format(TsvFormat())
register_format(ParquetFormat())
register_format(JsonlFormat(), "ndjson")

__all__ = [
    "DEFAULT_FORMAT",
    "ChunkWriter",
    "Format",
    "ReadRequest",
    "TableWriter",
    "format_for_uri",
    "get_format",
    "input_format",
    "known_formats",
    "output_format",
    "register_format",
]
