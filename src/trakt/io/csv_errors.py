"""Where a CSV read went wrong: every error names the user's file (never a scratch copy), the
line (found by a careful re-read, :mod:`trakt.io.badlines`), what was found, and the fix."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trakt.errors import InputError
from trakt.io.arrow_scalars import scalar
from trakt.io.badlines import (
    MAX_FIELD_BYTES,
    MAX_FIELD_LINES,
    first_bad_line,
    record_line,
)
from trakt.io.csv_checks import swallowed
from trakt.io.csv_options import (
    PROBE_BLOCK,
    convert_options,
    declared_types,
    parse_options,
    read_all,
    read_options,
)
from trakt.io.csv_separator import held_separator, separator, set_sep
from trakt.io.rawshape import line_count, needs_careful_read
from trakt.io.registry import ReadRequest

FIX_ROWS = "fix the file, or set on_bad_lines: skip | quarantine on this input"


def fix_rows(request: ReadRequest) -> str:
    """The fix for malformed records: the separator, when the header is one column that holds
    another usual separator (``a;b;c`` read with ``,``), else fixing or setting them aside."""
    options = request.options
    encoding = str(options.get("encoding") or "utf-8")
    skip = int(options.get("skiprows") or 0)
    try:
        with open(request.path, encoding=encoding, errors="replace", newline="") as handle:
            lines = [handle.readline(1 << 16) for _ in range(skip + 1)]
    except (OSError, LookupError):
        return FIX_ROWS
    header = lines[-1].rstrip("\r\n")
    found = held_separator(header, separator(options))
    if found is None:
        return FIX_ROWS
    shown = "\\t" if found == "\t" else found
    return (
        f"the header line is one column holding '{shown}': {set_sep(found)} "
        "(on_bad_lines would set aside good rows)"
    )


def located(request: ReadRequest, fallback: str) -> InputError:
    """The first malformed record with its line number, found by a careful re-read."""
    try:
        bad = first_bad_line(request.path, request.options, request.shown)
    except (OSError, LookupError, ValueError):
        bad = None
    if bad is None:
        return InputError(f"cannot read CSV {request.shown}: {fallback}", file=request.shown)
    return InputError(
        f"{request.shown}:{bad.line}: {bad.reason}; {fix_rows(request)}",
        file=request.shown,
        line=bad.line,
    )


def fail(request: ReadRequest, exc: Exception) -> InputError:
    text = str(exc).strip()
    shown = request.shown
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, PermissionError):
        text = "permission denied; make the file readable for this user"
    elif isinstance(exc, IsADirectoryError):
        text = "expected a file, found a directory"
    elif isinstance(exc, OSError):
        text = exc.strerror or text
    elif "Empty CSV file" in text:
        text = "the file is empty (not even a header line)"
    elif _CONVERSION.search(text):
        return _declared_mismatch(request, text)
    elif isinstance(exc, UnicodeDecodeError) or "CSV parse error" in text:
        return located(request, text)
    return InputError(f"cannot read CSV {shown}: {text}", file=shown)


def check_quotes(request: ReadRequest) -> None:
    """pyarrow silently reads a quoted field that never closes as running to the end of the
    file, drops a quote followed by text (merging lines), and ends a record at a stray
    ``\\r``: look for those first (a byte-level look; the careful re-read only if it may be)."""
    if not needs_careful_read(request.path, request.options):
        return
    bad = first_bad_line(request.path, request.options, request.shown)
    if bad is not None:
        raise InputError(
            f"{request.shown}:{bad.line}: {bad.reason}; {fix_rows(request)}",
            file=request.shown,
            line=bad.line,
        )


def check_names(request: ReadRequest, names: list[str]) -> None:
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if twice:
        raise InputError(
            f"{request.shown}:{int(request.options.get('skiprows') or 0) + 1}: the header "
            f"names column(s) {twice} more than once; give every column its own name",
            file=request.shown,
            line=int(request.options.get("skiprows") or 0) + 1,
            column=twice[0],
        )


def check_swallowed(
    request: ReadRequest, table: pa.Table, before: int = 0, whole: bool = False
) -> None:
    """A quoted value over too many lines: pyarrow took a stray quote at its word.

    For a ``whole`` file with one line per record (the common case) there is nothing to
    look at: a line count settles it faster than looking at every value."""
    options = request.options
    skip = int(options.get("skiprows") or 0)
    if whole and table.num_rows + 1 + skip == line_count(request.path, options):
        return
    limit = int(options.get("max_field_lines") or MAX_FIELD_LINES)
    size = int(options.get("max_field_bytes") or MAX_FIELD_BYTES)
    index = swallowed(table, limit, size)
    if index is None:
        return
    bad = first_bad_line(request.path, options, request.shown)
    if bad is not None:
        raise InputError(
            f"{request.shown}:{bad.line}: {bad.reason}; {fix_rows(request)}",
            file=request.shown,
            line=bad.line,
        )
    line = record_line(request.path, options, before + index)
    raise InputError(
        f"{request.shown}:{line}: a quoted value spans more than {limit} lines or {size} bytes "
        "(a stray quote?); fix the quoting, or raise options.max_field_lines / max_field_bytes",
        file=request.shown,
        line=line,
    )


_CONVERSION = re.compile(
    r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'",
    re.DOTALL,  # a quoted value may span lines
)


def _undecodable(request: ReadRequest, column: str) -> InputError:
    encoding = request.options.get("encoding") or "utf-8"
    hint = f"set options.encoding to the file's encoding (e.g. latin-1, cp1252), or {FIX_ROWS}"
    try:
        bad = first_bad_line(request.path, request.options, request.shown)
    except (OSError, LookupError, ValueError):
        bad = None
    where = f"{request.shown}:{bad.line}" if bad else f"cannot read CSV {request.shown}"
    return InputError(
        f"{where}: column '{column}' has bytes that are not valid {encoding}; {hint}",
        file=request.shown,
        column=column,
        line=bad.line if bad else None,
    )


def check_text(request: ReadRequest, schema: pa.Schema) -> None:
    """pyarrow turns undecodable text into binary columns; say so instead."""
    for f in schema:
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            raise _undecodable(request, f.name)


def _value_line(
    request: ReadRequest,
    column: str,
    value: str,
    start: int = 0,
    any_value: bool = False,
    streamed: bool = False,
) -> int | None:
    """The line of the first record (from ``start``) whose ``column`` holds ``value`` (or any
    value at all); pyarrow shortens long values in its messages, so a prefix will do.

    ``streamed``: the stream reader failed converting the value's block, so every row up to
    the end of that block parsed; a malformed row, skipped here, comes after the value."""
    try:
        table = read_all(request, dict.fromkeys([column], pa.string()), skip_bad_rows=streamed)
        text = table.column(column).slice(start)
        if any_value:
            hits = pc.is_valid(text)
        else:  # scalars from bytes: converting Python values would import pandas
            hits = pc.equal(text, scalar(value, text.type))
            if not pc.any(hits).as_py():
                hits = pc.starts_with(text, value[:40])
        yes, no = scalar(True, pa.bool_()), scalar(False, pa.bool_())
        found = pc.index(pc.fill_null(hits, no), yes).as_py()
    except (pa.ArrowException, OSError, ValueError, KeyError):
        return None
    return None if found < 0 else record_line(request.path, request.options, start + found)


def _declared_mismatch(request: ReadRequest, text: str) -> InputError:
    """A value that does not parse as its column's declared dtype, with its line."""
    found = _CONVERSION.search(text)
    assert found is not None
    names = _header(request)
    index = int(found.group(1))
    column = names[index] if index < len(names) else found.group(1)
    kind, value = found.group(2), found.group(3)
    if kind in ("string", "utf8", "large_string"):
        return _undecodable(request, str(column))
    line = _value_line(request, str(column), value)
    where = f"{request.shown}:{line}" if line else f"cannot read CSV {request.shown}"
    return InputError(
        f"{where}: column '{column}' is declared {kind} (options.dtype) but holds {value!r}; "
        "fix the value or declare the column str",
        file=request.shown,
        line=line,
        column=column,
    )


def stream_fail(request: ReadRequest, exc: Exception, names: list[str], done: int) -> InputError:
    found = _CONVERSION.search(str(exc))
    if not found:
        if "invalid UTF8" in str(exc):
            return _undecodable(request, "?")
        return fail(request, exc)
    column = names[int(found.group(1))] if int(found.group(1)) < len(names) else found.group(1)
    kind, value = found.group(2), found.group(3)
    if kind in ("string", "utf8", "large_string"):
        return _undecodable(request, str(column))
    declared = declared_types(request.options, names)
    if column in declared:
        return _declared_mismatch(request, str(exc))
    return unstreamable(request, str(column), kind, value, "", done)


def unstreamable(
    request: ReadRequest, column: str, kind: str, value: str, why: str, done: int
) -> InputError:
    seen = "had no values" if kind == "null" else f"held only {kind} values"
    line = _value_line(request, column, value, done, any_value=kind == "null", streamed=True)
    where = f"{request.shown}:{line}: cannot stream CSV" if line else "cannot stream CSV"
    return InputError(
        f"{where} {request.shown}: column '{column}' {seen} in the first rows, so "
        f"stream mode reads it as {kind}, but a later row has {value!r}{why}. Declare its "
        f"type: options: {{dtype: {{{column}: <str|int|float|bool>}}}}",
        file=request.shown,
        line=line,
        column=column,
    )


def _header(request: ReadRequest) -> list[str]:
    with pacsv.open_csv(
        request.path,
        read_options=read_options(request.options, PROBE_BLOCK),
        parse_options=parse_options(request.options),
        convert_options=convert_options(request.options, {}),
    ) as reader:
        return list(reader.schema.names)
