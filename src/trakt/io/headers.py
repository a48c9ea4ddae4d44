"""A file's column names, as its format reads them, for ``trakt validate --input-dir``.

A local file is probed where it is (the format's ``schema``). A store file is read through its
:class:`~trakt.io.locations.StoreLocation` from as little of it as its format needs, never
copied whole where the format says how:

- ``header_in_first_lines`` (CSV, TSV, JSONL): the first whole lines, at least a probe block
  (decompressed as they are read), make a file of their own; if that start does not parse
  (it may end inside a quoted line break), the whole file decides.
- ``schema_bytes(src, size)`` (Parquet): a small file with the same schema (the footer).
- any other format (xlsx: a zip, whose directory is at its end) needs the whole file: it is
  copied to a scratch dir, as a run copies it, and removed afterwards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trakt.errors import InputError, TraktError
from trakt.io.compression import head_lines
from trakt.io.locations import StoreFile, StoreLocation
from trakt.io.registry import Format, ReadRequest, split_compression, uri_extension
from trakt.io.sources import SourceFile, fetch

HEAD_BYTES = 1 << 20  # as much as the CSV and JSONL readers' own first look (a probe block)


def header_names(
    fmt: Format, f: SourceFile, options: Mapping[str, Any], sheet: str | int | None = None
) -> list[str]:
    """The column names of ``f`` read as ``fmt`` with the input's ``options``."""
    if f.store is None or f.key is None:
        return _names(fmt, f.request(options, sheet))
    stored = StoreFile(f.shown, f.size, f.key)
    with tempfile.TemporaryDirectory(prefix="trakt-header-") as scratch:
        return _store_names(fmt, f, f.store, stored, _Read(options, sheet, Path(scratch)))


class _Read:
    """How the local stand-in of a store file is read: options, sheet, where it goes."""

    def __init__(self, options: Mapping[str, Any], sheet: str | int | None, scratch: Path) -> None:
        self.options, self.sheet, self.scratch = options, sheet, scratch

    def request(self, path: Path, origin: str | None) -> ReadRequest:
        return ReadRequest(path, self.options, self.sheet, origin)


def _store_names(
    fmt: Format, f: SourceFile, store: StoreLocation, stored: StoreFile, read: _Read
) -> list[str]:
    inner, codec = split_compression(f.shown)
    if getattr(fmt, "header_in_first_lines", False):
        data, whole = store.reading(stored, lambda src: head_lines(src, codec, HEAD_BYTES, f.shown))
        path = read.scratch / f"head{uri_extension(inner) or fmt.extensions[0]}"
        path.write_bytes(data)
        # A compressed file's start is decompressed here: its name (with .gz) must not make
        # the reader decompress it again, so the reader's errors are renamed to it instead.
        try:
            return _names(fmt, read.request(path, None if codec else f.shown))
        except TraktError as exc:
            if whole:
                raise InputError(exc.message.replace(str(path), f.shown), file=f.shown) from None
    schema_bytes = getattr(fmt, "schema_bytes", None)
    if schema_bytes is not None and codec is None:
        path = read.scratch / f"schema{fmt.extensions[0]}"
        path.write_bytes(store.reading(stored, lambda src: schema_bytes(src, f.size)))
        return _names(fmt, read.request(path, f.shown))
    local = fetch([f], lambda name: read.scratch / name)[0]
    return _names(fmt, local.request(read.options, read.sheet))


def _names(fmt: Format, request: ReadRequest) -> list[str]:
    return [str(name) for name in fmt.schema(request).names]
