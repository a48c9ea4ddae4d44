"""Finding an input's files and combining them (``concat``, ``union``, ``latest``)."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from trakt.errors import InputError, TraktError
from trakt.io.badlines import BadLine
from trakt.io.base import conform, unify
from trakt.io.locations import StoreFile, StoreLocation, is_glob, is_store, local_path
from trakt.io.registry import Format, ReadRequest, split_compression, uri_extension


@dataclass(frozen=True)
class SourceFile:
    """One file of an input: where it is read from, and how the manifest and errors name it.

    A store's file (``store`` set) is read from a local copy at ``path``, made by
    :func:`fetch` before any format reads it."""

    path: Path
    shown: str  # relative to the input dir where possible: goes into source_column/manifest
    size: int
    origin: str | None = None  # the user's file (path or URI) when ``path`` is a copy of it
    store: StoreLocation | None = field(default=None, compare=False)
    key: str | None = None  # the store's name of the file, while it is not yet copied

    def request(self, options: Mapping[str, Any], sheet: str | int | None = None) -> ReadRequest:
        """How to read this file; errors name the user's file."""
        return ReadRequest(self.path, options, sheet, self.origin)


@dataclass(frozen=True)
class FileCounts:
    """One file's data records (header excluded) and how many were set aside."""

    records: int
    set_aside: int


@dataclass(frozen=True)
class InputFiles:
    """An input's files and reader options, as a format's ``prepare`` hook gets them."""

    artifact: str
    files: list[SourceFile]
    options: dict[str, Any]
    on_bad_lines: str = "error"
    max_bad_lines: int | float | str = 1000
    prefix: str = "input"  # scratch copies are named by it (an input's index, not its name)


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` made of an input's files: the files to read (copies in the scratch
    dir where needed), options for them, records set aside and per-file counts."""

    files: list[SourceFile]
    options: dict[str, Any]
    bad: list[BadLine] = field(default_factory=list)
    counts: dict[str, FileCounts] = field(default_factory=dict)
    scanned: list[SourceFile] | None = None  # the files before bad lines were set aside


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def resolve_files(
    artifact: str,
    uri: str,
    base_dir: Path,
    prefix: str = "input",
    storage_options: Mapping[str, Any] | None = None,
) -> list[SourceFile]:
    """The files an input uri names, in sorted path order.

    A uri that names an existing file is that file, whatever characters its name holds
    (``a[1].csv``, ``what?.csv``); only otherwise are ``*``, ``?`` and ``[`` glob patterns.
    A store's files are copied into the scratch dir (named by ``prefix``) by :func:`fetch`;
    ``storage_options`` (fsspec's settings) reach a store only.
    """
    if is_store(uri):
        store = StoreLocation(artifact, uri, storage_options)
        return [_store_file(store, f, f"{prefix}-{i}") for i, f in enumerate(store.files())]
    uri = local_path(uri)  # file:// URIs are local paths
    full = Path(uri) if os.path.isabs(uri) else base_dir / uri
    try:
        return _resolve_files(artifact, uri, base_dir, full)
    except OSError as exc:  # a name too long, a loop of links, no permission...
        raise InputError(
            f"input '{artifact}': cannot look up uri {uri!r}: {exc.strerror or exc}; check the uri",
            artifact=artifact,
            file=str(full),
        ) from None


def _resolve_files(artifact: str, uri: str, base_dir: Path, full: Path) -> list[SourceFile]:
    if full.is_file():
        files = [full]
    elif is_glob(uri):
        files = _matching(artifact, uri, full)
    else:
        if full.is_dir():
            raise InputError(
                f"input '{artifact}': expected a file, found a directory: {full}",
                artifact=artifact,
                file=str(full),
            )
        hint = "" if base_dir.is_dir() else f" (the input dir {base_dir} does not exist)"
        raise InputError(
            f"input '{artifact}': file not found: {full.resolve()}{hint}",
            artifact=artifact,
            file=str(full),
        )
    return [SourceFile(p, _shown(p, base_dir), p.stat().st_size) for p in files]


def _store_file(store: StoreLocation, f: StoreFile, name: str) -> SourceFile:
    """A store's file, not yet copied: ``path`` is only the copy's name, which keeps the
    file's format and compression extensions (they decide how it is read), not its whole
    name (a key may be longer than a file name may be)."""
    inner, codec = split_compression(f.uri)
    suffix = (uri_extension(inner) or "") + (f.uri[len(inner) :] if codec else "")
    return SourceFile(Path(f"{name}-copy{suffix}"), f.uri, f.size, f.uri, store, f.key)


def fetch(files: Sequence[SourceFile], create: Callable[[str], Path]) -> list[SourceFile]:
    """``files`` with every store file copied to its local path (``create`` makes the empty
    file by its name): read once from the store, then like any local file."""
    fetched = []
    for f in files:
        if f.store is not None and f.key is not None:
            dest = create(f.path.name)
            f.store.copy(StoreFile(f.shown, f.size, f.key), dest)
            f = SourceFile(dest, f.shown, f.size, f.origin)
        fetched.append(f)
    return fetched


def _pattern(full: Path) -> str:
    """``full`` as a glob pattern in which directories that exist as named are literal: an
    input dir such as ``/data/exports[2024]`` holds files, it is no character class."""
    parts = full.parts
    literal = 0
    for i in range(1, len(parts)):
        if not Path(*parts[:i]).is_dir():
            break
        literal = i
    fixed = glob.escape(str(Path(*parts[:literal]))) if literal else ""
    return os.path.join(fixed, *parts[literal:]) if fixed else str(full)


def _matching(artifact: str, uri: str, full: Path) -> list[Path]:
    matches = sorted(Path(p) for p in glob.glob(_pattern(full), recursive=True))
    files = [p for p in matches if p.is_file()]
    if not files:
        only_dirs = " (only directories matched)" if matches else ""
        bracket = (
            "; '[' starts a character class: write '[[]' for a literal '['" if "[" in uri else ""
        )
        raise InputError(
            f"input '{artifact}': pattern '{uri}' matched no files in "
            f"{full.parent.resolve()}{only_dirs}{bracket}",
            artifact=artifact,
            file=str(full),
        )
    return files


def _check_same_columns(artifact: str, files: Sequence[tuple[SourceFile, list[str]]]) -> None:
    first_file, expected = files[0]
    for source, names in files[1:]:
        if set(names) != set(expected):
            missing = [c for c in expected if c not in names]
            extra = [c for c in names if c not in expected]
            raise InputError(
                f"input '{artifact}' (combine_strategy: concat): {source.shown} has different "
                f"columns than {first_file.shown}: missing {missing}, extra {extra}. Use "
                "combine_strategy: union to align columns by name.",
                artifact=artifact,
                file=str(source.path),
            )


def _check_source_column(
    artifact: str, source: SourceFile, names: Sequence[str], column: str | None
) -> None:
    """``source_column`` adds a column: one the file already has would be overwritten."""
    if column and column in names:
        raise InputError(
            f"input '{artifact}': {source.shown} already has a column '{column}', the name "
            "source_column gives the added column of file names (it would replace the "
            "file's values); choose another name for source_column, e.g. source_file",
            artifact=artifact,
            file=source.shown,
            column=column,
        )


@contextmanager
def _about(artifact: str) -> Iterator[None]:
    """Errors while reading name the input they belong to."""
    try:
        yield
    except TraktError as exc:
        exc.fields.setdefault("artifact", artifact)
        raise


def read_combined(
    artifact: str,
    fmt: Format,
    files: Sequence[SourceFile],
    strategy: str,
    options: Mapping[str, Any],
    sheet: str | int | None = None,
    counts: dict[str, int] | None = None,
    source_column: str | None = None,
) -> pa.Table:
    """Read every file (or only the latest) and combine them into one Arrow table;
    ``counts`` (if given) gets each file's row count, by its shown name."""
    chosen = [files[-1]] if strategy == "latest" else list(files)
    tables: list[tuple[SourceFile, pa.Table]] = []
    for source in chosen:
        with _about(artifact):
            table = fmt.read_table(source.request(options, sheet))
        _check_source_column(artifact, source, table.column_names, source_column)
        if counts is not None:
            counts[source.shown] = table.num_rows
        tables.append((source, _with_source(table, source_column, source)))
    if len(tables) == 1:
        return tables[0][1]
    if strategy == "concat":
        _check_same_columns(artifact, [(s, t.column_names) for s, t in tables])
    unified = unify([t.schema for _, t in tables])
    if getattr(fmt, "rereads_as_text", False):
        tables = [(s, _text_where_unified(artifact, fmt, s, t, unified, options, source_column))
                  for s, t in tables]  # fmt: skip
    return pa.concat_tables([_conformed(artifact, s, t, unified) for s, t in tables])


def _text_where_unified(
    artifact: str,
    fmt: Format,
    source: SourceFile,
    table: pa.Table,
    unified: pa.Schema,
    options: Mapping[str, Any],
    source_column: str | None,
) -> pa.Table:
    """A column that is a number here but text in another file is re-read as this file's
    own text (casting 007 to a number and back would give 7), as stream mode reads it."""
    text = [
        f.name
        for f in table.schema
        if f.name != source_column
        and pa.types.is_string(unified.field(f.name).type)
        and not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    declared = options.get("dtype")
    if not text or isinstance(declared, str):
        return table
    pinned = {**options, "dtype": {**(declared or {}), **dict.fromkeys(text, "str")}}
    with _about(artifact):
        again = fmt.read_table(source.request(pinned))
    return _with_source(again, source_column, source)


def _with_source(table: pa.Table, column: str | None, source: SourceFile) -> pa.Table:
    if not column:
        return table
    return table.append_column(column, pa.array([source.shown] * table.num_rows, pa.string()))


def stream_combined(
    artifact: str,
    fmt: Format,
    files: Sequence[SourceFile],
    strategy: str,
    options: Mapping[str, Any],
    chunk_rows: int,
    sheet: str | int | None = None,
    counts: dict[str, int] | None = None,
    column: str | None = None,
) -> Iterator[pa.Table]:
    """Chunks of ``chunk_rows`` rows, file after file, all with one schema.

    Every file's header and first block are looked at before the first chunk is produced:
    ``concat`` checks the columns match, ``union`` fixes the combined column set, and the
    types are unified the way batch mode's combine does, so chunks never change dtype.
    """
    chosen = [files[-1]] if strategy == "latest" else list(files)
    requests = [f.request(options, sheet) for f in chosen]
    with _about(artifact):
        schemas = [fmt.schema(r) for r in requests]
    for source, own in zip(chosen, schemas, strict=True):
        _check_source_column(artifact, source, own.names, column)
    if strategy == "concat":
        _check_same_columns(
            artifact, [(s, sc.names) for s, sc in zip(chosen, schemas, strict=True)]
        )
    # unify_schemas keeps first-seen column order: for concat the first file's, as in batch.
    unified = unify(schemas)
    for source, request, own in zip(chosen, requests, schemas, strict=True):
        # Integers that widen to another file's floats are read as integers and then cast
        # checked (as in batch mode): parsed as floats they would round silently.
        own_types = pa.schema(
            [own.field(n) if _widened(own.field(n).type, unified.field(n).type)
             else unified.field(n) for n in own.names]
        )  # fmt: skip
        with _about(artifact):
            for table in fmt.iter_tables(request, chunk_rows, own_types):
                if counts is not None:
                    counts[source.shown] = counts.get(source.shown, 0) + table.num_rows
                yield _with_source(_conformed(artifact, source, table, unified), column, source)


def _widened(own: pa.DataType, unified: pa.DataType) -> bool:
    return bool(pa.types.is_integer(own) and pa.types.is_floating(unified))


def _conformed(artifact: str, source: SourceFile, table: pa.Table, unified: pa.Schema) -> pa.Table:
    """``table`` in the combined schema; an integer that a float would not keep exactly
    (beyond 2**53) stops the run rather than being rounded."""
    try:
        return conform(table, unified)
    except pa.ArrowInvalid:
        pass
    for f in table.schema:
        if f.name not in unified.names or not _widened(f.type, unified.field(f.name).type):
            continue
        values = table.column(f.name)
        over = pc.greater(pc.abs(values), 2**53)
        if not pc.any(over).as_py():
            continue
        value = pc.filter(values, pc.fill_null(over, False))[0].as_py()
        raise InputError(
            f"input '{artifact}': {source.shown}: column '{f.name}' holds the integer {value}, "
            "and another file has floats in that column; as a float it would become "
            f"{float(value)!r} (a float keeps integers exactly only up to 2**53). Keep the "
            f"column as text: options: {{dtype: {{{f.name}: str}}}}",
            artifact=artifact,
            file=source.shown,
            column=f.name,
            value=str(value),
        )
    return conform(table, unified)  # not one of ours: raised as it is
