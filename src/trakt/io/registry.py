"""The format registry (no pandas or pyarrow: ``trakt validate`` stays light).

A format is a plug-in (:class:`Format`): the built-in ones are registered on first use from
light modules that import their readers and writers only when data moves; others come from
the ``trakt.formats`` entry point group (an entry point names a :class:`Format` class or
instance) or :func:`register_format`. Compression suffixes (``.csv.gz``) are looked through.
"""

from __future__ import annotations

import importlib
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Protocol

from trakt.errors import UsageError, did_you_mean
from trakt.io.locations import redacted, store_path

if TYPE_CHECKING:
    import pyarrow as pa

ENTRY_POINT_GROUP = "trakt.formats"
# (module, class, aliases): imported on first use; the modules import no pandas or pyarrow.
BUILTIN_FORMATS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("trakt.io.csv_format", "CsvFormat", ()),
    ("trakt.io.tsv", "TsvFormat", ()),
    ("trakt.io.excel_format", "ExcelFormat", ("excel",)),
    ("trakt.io.parquet", "ParquetFormat", ()),
    ("trakt.io.jsonl", "JsonlFormat", ("ndjson",)),
)


@dataclass(frozen=True)
class ReadRequest:
    """What to read: a file, and the input's options (``sheet`` included for spreadsheets)."""

    path: Path
    options: Mapping[str, Any]
    sheet: str | int | None = None
    origin: str | None = None  # the user's file (a path or URI) when ``path`` is a copy of it

    @property
    def shown(self) -> str:
        """The file as errors name it: the user's, never a scratch copy."""
        return self.origin or str(self.path)


class TableWriter(Protocol):
    """An open writer of one output: Arrow tables appended in order; ``close`` finishes it.

    Batch and stream runs use the same writer (one table, or one per chunk), so both write
    the same bytes. Every table has the columns of the first; the writer may refuse others.
    """

    def write(self, table: pa.Table) -> None: ...
    def close(self) -> None: ...


class Format(Protocol):
    """A format plug-in: reads whole or in chunks (to Arrow), writes from Arrow.

    ``extensions`` are the lower-case extensions it claims (``.parquet``); the first is what an
    output gets by default (``<name>.parquet``). Options are checked statically, at validation.
    """

    name: str
    extensions: tuple[str, ...]
    option_names: frozenset[str]  # reader options
    writer_option_names: frozenset[str]

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        """Problems with reader options, as messages (empty when fine)."""
        ...

    def check_writer_options(self, options: Mapping[str, Any]) -> list[str]:
        """Problems with writer options, as messages (empty when fine)."""
        ...

    def read_table(self, request: ReadRequest) -> pa.Table: ...

    def schema(self, request: ReadRequest) -> pa.Schema:
        """The column types a stream read of this file will have (a cheap probe)."""
        ...

    def iter_tables(
        self, request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
    ) -> Iterator[pa.Table]:
        """Tables of ``chunk_rows`` rows with the types of ``schema`` (default: own probe)."""
        ...

    def options_for(self, uri: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The reader options for ``uri``: ``options`` plus what its extension implies."""
        ...

    def writer_options_for(self, path: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The writer options for an output at ``path``: ``options`` plus what its extension
        implies (``.csv.gz``: gzip compression)."""
        ...

    def open_writer(self, path: Path, options: Mapping[str, Any]) -> TableWriter:
        """A writer creating ``path`` (a file, or a directory for a partitioned output)."""
        ...


_formats: dict[str, Format] = {}
_by_extension: dict[str, str] = {}
_loaded = False
_loading = threading.Lock()


def register_format(fmt: Format, *aliases: str) -> None:
    """Register ``fmt`` under its name and ``aliases``, and its extensions."""
    _load()
    _add(fmt, aliases)


def _add(fmt: Format, aliases: tuple[str, ...]) -> None:
    for name in (fmt.name, *aliases):
        _formats[name] = fmt
    for ext in fmt.extensions:
        _by_extension[ext] = fmt.name


def _load() -> None:
    """Register the built-in formats and those of installed plug-ins, once."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for module, attribute, aliases in BUILTIN_FORMATS:
            _add(getattr(importlib.import_module(module), attribute)(), aliases)
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                found = entry.load()
                fmt = found() if isinstance(found, type) else found
                _add(fmt, () if entry.name == fmt.name else (entry.name,))
            except Exception as exc:  # a broken plug-in must not break every pipeline
                warnings.warn(
                    f"format plug-in {entry.name!r} ({entry.value}) failed to load: {exc}",
                    stacklevel=2,
                )
        _loaded = True


def get_format(name: str) -> Format:
    """The format registered as ``name``, or a :class:`UsageError` naming the known ones."""
    _load()
    fmt = _formats.get(name)
    if fmt is None:
        raise UsageError(
            f"unknown format '{name}'{did_you_mean(name, _formats)}; known: {known_formats()}"
        )
    return fmt


def known_formats() -> list[str]:
    """Every registered format name (aliases included), sorted."""
    _load()
    return sorted(_formats)


# An extension starts with a letter: ``v1.2`` or ``2024.01`` names no format.
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9_+-]*")
# Compression by extension: transparent on read, chosen by the output path on write.
COMPRESSION_BY_EXTENSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".xz": "xz"}
# Compressed files Trakt does not read: refused with a message (not read as text).
UNSUPPORTED_COMPRESSION = frozenset({".gzip", ".lz4", ".zstd", ".br", ".zip", ".7z"})


def split_compression(uri: str) -> tuple[str, str | None]:
    """``data.csv.gz`` -> (``data.csv``, ``gzip``); a uri without a compression suffix as is."""
    extension = uri_extension(uri)
    codec = COMPRESSION_BY_EXTENSION.get(extension or "")
    return (uri[: -len(extension or "")], codec) if codec else (uri, None)


def uri_extension(uri: str) -> str | None:
    """A uri's extension, lower case (``.csv``), or None: none, a pattern (``*.*``), digits."""
    suffix = PurePath(uri).suffix
    return suffix.lower() if _EXTENSION.fullmatch(suffix) else None


def format_for_uri(uri: str) -> str | None:
    """The format implied by a uri's extension (``.csv`` -> ``csv``), if any."""
    _load()
    extension = uri_extension(uri)
    return _by_extension.get(extension) if extension else None


def _extensions() -> str:
    return "; ".join(
        f"{name} ({' '.join(e for e, n in sorted(_by_extension.items()) if n == name)})"
        for name in sorted({fmt.name for fmt in _formats.values()})
    )


DEFAULT_FORMAT = "csv"  # an input or output whose uri or path has no extension


def output_format(path: str | None, declared: str | None) -> str:
    """The format an output is written in: ``declared``, else its path's extension's (a
    compression suffix looked through), else the default.

    Raises :class:`UsageError` for an extension no format writes, or one that names another
    format than the declared one."""
    _load()
    if path is None:
        return declared or DEFAULT_FORMAT
    inner, _ = split_compression(path)
    extension = uri_extension(inner)
    implied = _by_extension.get(extension) if extension else None
    if extension is not None and implied is None and declared is None:
        raise UsageError(
            f"'{path}': no format writes '{extension}' files; formats: {_extensions()}. Set "
            "`format:` (or give the path the format's extension)"
        )
    known = _formats.get(declared) if declared is not None else None
    if known is not None and implied is not None and known.name != _formats[implied].name:
        raise UsageError(
            f"'{path}' has the extension of format {implied}, but the output declares "
            f"format: {declared}; make them agree (e.g. path: "
            f"'{PurePath(inner).stem}{known.extensions[0]}')"
        )
    return declared or implied or DEFAULT_FORMAT


def input_format(uri: str, declared: str | None, default: str = DEFAULT_FORMAT) -> str:
    """The format to read ``uri`` with: ``declared``, else its extension's, else ``default``.

    Raises :class:`UsageError` for a compressed file, or an extension no format reads.
    """
    _load()
    shown = redacted(uri)
    uri = store_path(uri)  # a store's key, a file:// URI's path: their extension counts
    extension = uri_extension(uri)
    if extension in UNSUPPORTED_COMPRESSION:
        raise UsageError(
            f"'{shown}' is compressed ({extension}); Trakt reads "
            f"{', '.join(COMPRESSION_BY_EXTENSION)} compression: decompress the file first, "
            "or recompress it with one of those"
        )
    inner, codec = split_compression(uri)
    if codec is not None:
        extension = uri_extension(inner)
    if declared is not None:
        return declared
    if extension is None:
        return default
    name = _by_extension.get(extension)
    if name is None:
        raise UsageError(
            f"'{shown}': Trakt has no reader for '{extension}' files; formats: {_extensions()}. "
            "For delimited text under another extension set `format: csv` (and "
            '`options.sep`, e.g. sep: "|")'
        )
    return name


def check_unknown_options(
    options: Mapping[str, Any], allowed: frozenset[str], fmt: str
) -> list[str]:
    return [
        f"unknown {fmt} option '{key}'{did_you_mean(key, allowed)}; "
        f"known options: {', '.join(sorted(allowed))}"
        for key in options
        if key not in allowed
    ]
