"""JSON Lines writing: one object per line, built column-wise by polars.

Every row's text depends only on its values and its columns' types, so batch and stream runs
(any chunking) write the same bytes; compressed output is fed to the compressor in blocks of
a fixed size for the same reason. Measured on 1M rows of five columns: ~0.5 s, against ~8 s
for ``json.dumps`` row by row.

=====================================  ====================================================
Arrow column                           JSON value
=====================================  ====================================================
missing value (any type)               ``null`` (the key is always written)
integers, booleans, text               number, ``true``/``false``, string (UTF-8, not
                                       ASCII-escaped; ``"`` ``\\`` and control characters
                                       escaped)
floats                                 shortest round-trip (``0.1``, ``2.0``, ``1e-7``,
                                       ``1e+16``); NaN and infinities (JSON has none): null
decimals                               a number with the decimal's digits (``1.10``)
dates                                  ``"2025-01-09"``
timestamps without zone                ``"2025-01-09T10:00:00"``, fraction only when not
                                       zero, in 3, 6 or 9 digits (``.500``)
timestamps with a zone                 local time and offset, ``"2025-07-09T10:00:00+02:00"``
times, durations                       ``"10:00:00.500"``, ISO 8601 ``"PT86405S"``
lists, structs                         JSON arrays and objects
=====================================  ====================================================
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np
import polars as pl
import pyarrow as pa

from trakt.errors import OutputError
from trakt.io.guard import SchemaGuard

_DATETIME = "%Y-%m-%dT%H:%M:%S%.f"  # chrono: %.f is empty, or 3, 6 or 9 digits
_BLOCK = 1 << 20


def _prepared(table: pa.Table, shown: str) -> tuple[pa.Table, set[str]]:
    """Columns polars writes as Trakt wants; the names of those already JSON text (decimals)."""
    raw: set[str] = set()
    arrays = []
    for f, column in zip(table.schema, table.columns, strict=True):
        kind = f.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_decimal(kind):
            column = column.cast(pa.string())
            raw.add(f.name)
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise OutputError(
                f"{shown}: column '{f.name}' holds bytes, which JSON has no type for; encode "
                "them as text in a step (e.g. base64)",
                file=shown,
                column=f.name,
            )
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=table.column_names), raw


def _value(name: str, kind: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(kind, pl.Datetime):
        return column.dt.strftime(_DATETIME + ("%:z" if kind.time_zone else ""))
    if isinstance(kind, pl.Time):
        return column.dt.strftime("%H:%M:%S%.f")
    if kind.is_float():
        return pl.when(column.is_finite()).then(column)  # NaN, inf: null
    return column


def encode(table: pa.Table, shown: str) -> pa.Buffer | bytes:
    """The JSON Lines text of ``table``, ``\\n`` after every line."""
    if not table.num_columns:
        return b"{}\n" * table.num_rows
    prepared, raw = _prepared(table, shown)
    frame = pl.from_arrow(prepared)
    assert isinstance(frame, pl.DataFrame)
    parts: list[pl.Expr] = []
    run: list[pl.Expr] = []

    def close_run() -> None:
        if run:  # consecutive columns: one polars JSON object, its braces taken off
            encoded = pl.struct(run).struct.json_encode()
            parts.append(encoded.str.strip_prefix("{").str.strip_suffix("}"))
            run.clear()

    schema = frame.schema  # once: each call builds it anew (a wide frame's square)
    for name in frame.columns:
        if name in raw:
            close_run()
            key = json.dumps(name, ensure_ascii=False)
            parts.append(pl.concat_str([pl.lit(key + ":"), pl.col(name).fill_null("null")]))
        else:
            run.append(_value(name, schema[name]).alias(name))
    close_run()
    pieces: list[pl.Expr] = [pl.lit("{")]
    for i, part in enumerate(parts):
        pieces += [pl.lit(","), part] if i else [part]
    lines = frame.select(pl.concat_str([*pieces, pl.lit("}\n")]).alias("line")).to_series()
    array = lines.to_arrow()
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    _, offsets, data = array.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    start, end = int(bounds[0]), int(bounds[-1])
    return data[start:end]  # the lines, one after another: no copy


class _Sink(Protocol):
    def write(self, data: Any, /) -> Any: ...
    def close(self) -> None: ...


def _compressor(file: IO[bytes], codec: str) -> _Sink:
    if codec == "gzip":  # no name, no time in the header: the same bytes every run
        return gzip.GzipFile(filename="", mode="wb", fileobj=file, compresslevel=6, mtime=0)
    if codec == "bz2":
        return bz2.BZ2File(file, "wb")
    if codec == "xz":
        return lzma.LZMAFile(file, "wb")
    if codec == "zstd":
        return cast("_Sink", pa.CompressedOutputStream(file, "zstd"))
    return file


class JsonlWriter:
    """Writes one JSON Lines file (``compression``: gzip, bz2, zstd, xz) from Arrow tables."""

    def __init__(self, path: Path, options: Mapping[str, Any]) -> None:
        self.shown = str(path)
        self.guard = SchemaGuard(self.shown)
        codec = str(options.get("compression") or "none")
        try:
            self.raw: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None
        self.out = _compressor(self.raw, codec)
        self.compressed = codec != "none"
        self.pending = bytearray()

    def write(self, table: pa.Table) -> None:
        table = self.guard.admit(table)
        if table.num_rows:
            self._put(encode(table, self.shown))

    def _put(self, data: pa.Buffer | bytes) -> None:
        try:
            if not self.compressed:
                self.out.write(memoryview(data))
                return
            # A compressor's output may depend on how its input is cut: always whole blocks.
            self.pending += memoryview(data)
            whole = len(self.pending) - len(self.pending) % _BLOCK
            for offset in range(0, whole, _BLOCK):
                self.out.write(self.pending[offset : offset + _BLOCK])
            del self.pending[:whole]
        except OSError as exc:
            raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None

    def close(self) -> None:
        try:
            if self.pending:
                self.out.write(self.pending)
            self.out.close()
            self.raw.close()
        except OSError as exc:
            raise OutputError(f"{self.shown}: cannot write: {exc}", file=self.shown) from None
