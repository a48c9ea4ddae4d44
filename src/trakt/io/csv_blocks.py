"""The exact CSV reader's whole-file read, block by block: each block's number columns (read
as text) settled as it arrives, so a column's text is never held whole.

Reading the whole file as text and settling it after (:func:`trakt.io.csv.read_table`'s
other path) peaks at about three times the file: pyarrow's reader holds its blocks, the
parsed text and the table at once, and the settled columns join them. Here pyarrow's
streaming reader hands over 8 MiB blocks; a pool settles them side by side (pyarrow.compute
lets go of the GIL) while the next is parsed; only settled columns are kept. Measured on
10M rows (585 MB, ``benchmarks/side_by_side.py``): peak RSS about half, and no slower.

A column's type is the whole column's (:func:`trakt.io.csv_checks.settle`), decided once
every block has been looked at (:func:`_combined`). Every rule is a rule on each value, so a
block's look decides it for the column, with one exception: the text of a float block is
not kept, so a column whose float blocks are followed by a value that keeps it text is read
whole instead (None), as is a file this reader cannot take as the other path does.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trakt.io.csv_checks import as_floats, as_ints, exact_ints
from trakt.io.csv_options import convert_options, parse_options, read_options
from trakt.io.registry import ReadRequest

_BLOCK = 8 << 20  # 8 MiB: faster than 1 MiB (less per-block work), same peak RSS
_AHEAD = 4  # blocks parsed but not yet settled, at most: bounds the text in memory

Kind = Literal["null", "int", "inexact", "float", "text"]


@dataclass(frozen=True)
class _Part:
    """One block of a number column as looked at: ``values`` are ints or floats where the
    block settled so (the text is then the ints written back, or gone), else the text."""

    kind: Kind
    values: pa.ChunkedArray


def read_blocks(
    request: ReadRequest,
    inferred: pa.Schema,
    types: Mapping[str, pa.DataType],
    texts: Mapping[str, pa.DataType],
    decimal: str,
) -> pa.Table | None:
    """The table the whole-file read gives, read in blocks (see the module docstring), or
    None where only that read gives it: a column the first block has no value in (it infers
    the type from later blocks), a float column with a text value after its float blocks,
    any error (the whole-file read words it)."""
    reading = {f.name: types.get(f.name, f.type) for f in inferred}
    if any(pa.types.is_null(t) for t in reading.values()):
        return None
    reading.update(texts)
    try:
        return _read(request, reading, texts, decimal)
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError):
        return None


def _read(
    request: ReadRequest,
    reading: Mapping[str, pa.DataType],
    texts: Mapping[str, pa.DataType],
    decimal: str,
) -> pa.Table | None:
    options = request.options
    names = list(reading)
    columns: dict[str, list[Any]] = {n: [] for n in names}
    pending: deque[Future[dict[str, _Part]]] = deque()
    workers = max(1, min(len(texts), os.cpu_count() or 1))
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trakt-settle") as pool,
        pacsv.open_csv(
            request.path,
            read_options=read_options(options, _BLOCK),
            parse_options=parse_options(options),
            convert_options=convert_options(options, reading),
        ) as reader,
    ):
        for batch in reader:
            for name in names:
                if name not in texts:
                    columns[name].append(batch.column(name))
            pending.append(pool.submit(_look_at, batch, texts, decimal))
            while len(pending) > _AHEAD:
                _keep(columns, pending.popleft().result())
        while pending:
            _keep(columns, pending.popleft().result())
        schema = reader.schema
    fields: list[pa.Field] = []
    arrays: list[pa.ChunkedArray] = []
    for field in schema:
        parts = columns[field.name]
        if field.name in texts:
            column = _combined(parts, decimal)
            if column is None:
                return None
        else:
            column = pa.chunked_array(parts, field.type)
        fields.append(pa.field(field.name, column.type))
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _keep(columns: dict[str, list[Any]], parts: dict[str, _Part]) -> None:
    for name, part in parts.items():
        columns[name].append(part)


def _look_at(
    batch: pa.RecordBatch, texts: Mapping[str, pa.DataType], decimal: str
) -> dict[str, _Part]:
    """One block's number columns, each settled on its own (runs in the pool)."""
    return {name: _look(pa.chunked_array([batch.column(name)]), decimal) for name in texts}


def _look(text: pa.ChunkedArray, decimal: str) -> _Part:
    if text.null_count == len(text):
        return _Part("null", text)
    ints = as_ints(text)
    if ints is not None:
        return _Part("int", ints) if exact_ints(text, ints) else _Part("inexact", text)
    floats = as_floats(text, decimal)
    return _Part("text", text) if floats is None else _Part("float", floats)


def _combined(parts: list[_Part], decimal: str) -> pa.ChunkedArray | None:
    """The blocks of one column as :func:`~trakt.io.csv_checks.settle` settles the whole:
    all missing: text; all integers: int64 if each is spelled as written back, else text;
    otherwise float64 if every value passes the float rules, else text (None where a float
    block's text would be needed: it is gone)."""
    kinds = {p.kind for p in parts} - {"null"}
    if not kinds:
        return _joined([p.values for p in parts], pa.string())
    if kinds <= {"int", "inexact"}:
        if "inexact" in kinds:
            return _joined([_text(p) for p in parts], pa.string())
        return _joined([_cast(p.values, pa.int64()) for p in parts], pa.int64())
    floats = [] if "text" in kinds else [_float(p, decimal) for p in parts]
    if floats and all(f is not None for f in floats):
        return _joined([f for f in floats if f is not None], pa.float64())
    if "float" in kinds:
        return None
    return _joined([_text(p) for p in parts], pa.string())


def _float(part: _Part, decimal: str) -> pa.ChunkedArray | None:
    """A part by the float rules (an int block: its ints written back, which is its text)."""
    if part.kind in ("float", "null"):
        return _cast(part.values, pa.float64())
    return as_floats(_text(part), decimal)


def _text(part: _Part) -> pa.ChunkedArray:
    """A part's text: kept, or its ints written back (the same, as they were exact)."""
    return _cast(part.values, pa.string()) if part.kind == "int" else part.values


def _cast(values: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    if values.type == to:
        return values
    cast: pa.ChunkedArray = pc.cast(values, to)
    return cast


def _joined(parts: list[pa.ChunkedArray], kind: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([c for p in parts for c in p.chunks], kind)
