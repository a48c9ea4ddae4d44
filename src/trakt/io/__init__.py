"""IO: one module per format, registered by name and extension (see :mod:`trakt.io.registry`).

Importing this package imports no pandas or pyarrow; a format's reader and writer modules are
imported when data moves."""

from trakt.io.registry import (
    DEFAULT_FORMAT,
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

__all__ = [
    "DEFAULT_FORMAT",
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
