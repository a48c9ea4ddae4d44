"""JSON Lines reading: pyarrow's multithreaded JSON reader, whole or in blocks of lines.

JSON's own types decide the columns' types: integers, numbers (a column with an integer and a
number is float), text, booleans. Text stays text (pyarrow would turn date-like text into
timestamps: such columns are read again as text). Columns are the union of the keys, in the
order they first appear. Stream mode reads blocks of about 1 MiB of whole lines (after the
first, 4,096 lines of a wide file, up to 16 MiB); the first block fixes the columns and types
(:func:`stream_schema`). Any problem is located by the
careful reader, :mod:`trakt.io.jsonl_lines`, which names the line.
"""

from __future__ import annotations

import io
import lzma
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from trakt.errors import InputError
from trakt.io.base import lines_block, prefetch, rechunk
from trakt.io.jsonl_lines import Expect, find_problem, numbered_lines
from trakt.io.registry import ReadRequest, split_compression

BLOCK = 1 << 20
_WIDE_BLOCK = 16 << 20  # a wide file's blocks: 4,096 lines (base.lines_block), up to 16 MiB
_MAX_BLOCK = (1 << 31) - 1  # pyarrow's block size is a 32-bit int
TYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(("str", "string", "text"), pa.string()),
    **dict.fromkeys(("int", "int64", "integer"), pa.int64()),
    **dict.fromkeys(("float", "float64", "double"), pa.float64()),
    **dict.fromkeys(("bool", "boolean"), pa.bool_()),
}
_KINDS = {pa.string(): "text", pa.int64(): "an integer", pa.float64(): "a number"}
_STREAM_WHY = " (stream mode fixes them from the first block of about 1 MiB)"
_DECLARED_WHY = " (declared in options.columns)"


def _opener(request: ReadRequest) -> Callable[[], IO[bytes]]:
    """Opens the file, decompressed when its name ends in a compression suffix."""
    codec = split_compression(request.path.name)[1] or (
        split_compression(request.origin)[1] if request.origin else None
    )
    path = str(request.path)
    if codec == "xz":
        return lambda: lzma.open(path, "rb")
    # pyarrow's own streams: its JSON reader then reads without the GIL.
    return lambda: pa.input_stream(path, compression=codec)


@dataclass(frozen=True)
class _Source:
    """What one parse reads: the whole file, or one block of lines starting at ``first_line``."""

    request: ReadRequest
    open: Callable[[], IO[bytes]]
    first_line: int = 1
    size: int = BLOCK

    @property
    def shown(self) -> str:
        return self.request.shown


def _declared(options: Mapping[str, Any]) -> dict[str, pa.DataType]:
    columns = options.get("columns")
    return {k: TYPES[v] for k, v in columns.items()} if isinstance(columns, dict) else {}


def _selected(options: Mapping[str, Any]) -> list[str] | None:
    columns = options.get("columns")
    return list(columns) if columns else None


def _expect(options: Mapping[str, Any], fixed: pa.Schema | None) -> Expect:
    kinds: dict[str, str | None] = {}
    if fixed is not None:
        for f in fixed:
            kinds[f.name] = None if pa.types.is_null(f.type) else _kinds(f.type)
    for name, kind in _declared(options).items():
        kinds[name] = _kinds(kind)
    selected = _selected(options)
    return Expect(
        kinds=kinds,
        closed=fixed is not None and selected is None,
        selected=frozenset(selected) if selected else None,
        why=_STREAM_WHY if fixed is not None else _DECLARED_WHY,
    )


def _kinds(kind: pa.DataType) -> str:
    return _KINDS.get(kind, "a boolean" if pa.types.is_boolean(kind) else "text")


def _problem(source: _Source, fixed: pa.Schema | None, fallback: str) -> InputError:
    """The careful reader's error for ``source``, else one with ``fallback`` as the reason."""
    with source.open() as file:
        lines = numbered_lines(file, source.first_line)
        flatten = bool(source.request.options.get("flatten"))
        found = find_problem(lines, source.shown, flatten, _expect(source.request.options, fixed))
    return found or InputError(
        f"{source.shown}: cannot read it as JSON Lines: {fallback}", file=source.shown
    )


def _read(source: _Source, explicit: pa.Schema | None = None) -> pa.Table:
    size = source.size
    while True:
        parse = pj.ParseOptions(newlines_in_values=False, explicit_schema=explicit)
        try:
            with source.open() as file:
                return pj.read_json(file, pj.ReadOptions(block_size=size), parse)
        except pa.ArrowInvalid as exc:
            if "Empty JSON file" in str(exc):
                return pa.table({})
            if "straddl" in str(exc) and size < _MAX_BLOCK:  # a line longer than a block
                size = min(_MAX_BLOCK, size * 4)
                continue
            raise _problem(source, None, str(exc)) from None
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{source.shown}: cannot read it: {exc}", file=source.shown) from None


def _text_types(kind: pa.DataType) -> pa.DataType:
    """``kind`` with timestamps (pyarrow's guess for date-like text) replaced by text."""
    if pa.types.is_timestamp(kind):
        return pa.string()
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, _text_types(f.type)) for f in kind])
    return kind


_INT64_LIMIT = 2.0**63


def _refuse_rounded_integers(source: _Source, table: pa.Table, fixed: pa.Schema | None) -> None:
    """pyarrow reads an integer beyond the 64-bit range as a float, without a word: where a
    float column holds a value that large, the careful reader looks for (and names) one."""
    huge = [
        column
        for column in table.columns
        if pa.types.is_floating(column.type)
        and (pc.max(pc.abs(column)).as_py() or 0) >= _INT64_LIMIT
    ]
    if not huge:
        return
    with source.open() as file:
        lines = numbered_lines(file, source.first_line)
        flatten = bool(source.request.options.get("flatten"))
        found = find_problem(lines, source.shown, flatten, _expect(source.request.options, fixed))
    if found is not None:
        raise found


def _parse(source: _Source, fixed: pa.Schema | None) -> pa.Table:
    """One source as a table of the columns and types Trakt reads (``fixed``'s, if given)."""
    table = _read(source)
    _refuse_rounded_integers(source, table, fixed)
    texts = pa.schema([pa.field(f.name, _text_types(f.type)) for f in table.schema])
    if texts != table.schema:
        table = _read(source, texts)
    while any(pa.types.is_struct(t) or pa.types.is_list(t) for t in table.schema.types):
        if not source.request.options.get("flatten") or not any(
            pa.types.is_struct(t) for t in table.schema.types
        ):
            raise _problem(source, fixed, "a nested value")
        table = table.flatten()  # names parent.child, as flatten: true promises
    return _shape(source, table, fixed)


def _shape(source: _Source, table: pa.Table, fixed: pa.Schema | None) -> pa.Table:
    """The columns in order (``fixed``'s, the option's, or as found), with the types to read."""
    options = source.request.options
    declared = _declared(options)
    selected = _selected(options)
    names = selected or (fixed.names if fixed is not None else table.column_names)
    # Looked up by dict and set: ``Schema.names`` is a new list each time and ``field(name)``
    # a search, which made a wide file's every block cost the square of its columns.
    types = dict(zip(fixed.names, fixed.types, strict=True)) if fixed is not None else declared
    if fixed is not None and selected is None:
        new = [n for n in table.column_names if n not in types]
        if new:
            raise _problem(source, fixed, f"key '{new[0]}' is not among the columns")
    present = set(table.column_names)
    arrays = []
    for name in names:
        target = types[name] if fixed is not None else declared.get(name)
        column = table.column(name) if name in present else pa.nulls(len(table), target)
        if target is not None and column.type != target:
            if not (
                pa.types.is_null(column.type)
                or (pa.types.is_integer(column.type) and pa.types.is_floating(target))
            ):
                why = f"column '{name}' is {column.type}, expected {target}"
                raise _problem(source, fixed, why)
            column = column.cast(target)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=names)


def read_table(request: ReadRequest) -> pa.Table:
    """The whole file (pyarrow reads its blocks on several cores)."""
    return _parse(_Source(request, _opener(request)), None)


def _blocks(file: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines (about :data:`BLOCK` bytes; after the first, 4,096 lines of a wide
    file, up to :data:`_WIDE_BLOCK`) with their first line's number."""
    line = 1
    rest = b""
    size = 0
    while True:
        data = file.read(size or BLOCK)
        size = size or lines_block(data, BLOCK, _WIDE_BLOCK)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if not cut:  # one line longer than a block: read on
            rest = data
            continue
        yield line, data[:cut]
        line += data.count(b"\n", 0, cut)
        rest = data[cut:]
    if rest:
        yield line, rest


def _block_source(request: ReadRequest, line: int, data: bytes) -> _Source:
    return _Source(request, lambda: io.BytesIO(data), line, min(_MAX_BLOCK, len(data) + 1))


def stream_schema(request: ReadRequest) -> pa.Schema:
    """The columns and types of a stream read: the first block's (declared types applied)."""
    with _opener(request)() as file:
        first = next(_blocks(file), None)
    if first is None:
        table = _shape(_Source(request, _opener(request)), pa.table({}), None)
    else:
        table = _parse(_block_source(request, *first), None)
    return table.schema


def iter_tables(
    request: ReadRequest, chunk_rows: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last may be shorter) with ``schema``'s types.

    A key or a type the first block did not have is an error naming its line.
    """
    fixed = schema if schema is not None else stream_schema(request)

    def batches() -> Iterator[pa.RecordBatch]:
        with _opener(request)() as file:
            for line, data in _blocks(file):
                yield from _parse(_block_source(request, line, data), fixed).to_batches()

    # Parsing releases the GIL: the next block is parsed while this one is used.
    yield from rechunk(prefetch(batches()), chunk_rows, fixed)
