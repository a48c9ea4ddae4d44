"""IO: one module per format, registered by name and extension."""

from trakt.io.base import (
    ChunkWriter,
    Format,
    ReadRequest,
    format_for_uri,
    get_format,
    input_format,
    known_formats,
    register_format,
)
from trakt.io.csv import CsvFormat
from trakt.io.excel import ExcelFormat
from trakt.io.jsonl import JsonlFormat
from trakt.io.parquet import ParquetFormat

register_format(CsvFormat())
register_format(ExcelFormat(), "excel")
register_format(ParquetFormat())
register_format(JsonlFormat(), "ndjson")

__all__ = [
    "ChunkWriter",
    "Format",
    "ReadRequest",
    "format_for_uri",
    "get_format",
    "input_format",
    "known_formats",
    "register_format",
]
