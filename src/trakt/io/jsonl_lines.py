"""The careful JSON Lines reader: line by line, to name the line of a problem.

Used only when the fast reader (pyarrow) refuses a file or a block, or reads something Trakt
does not accept (a nested value, a key stream mode did not expect), so the fast path stays
fast. It finds the first problem and describes it: file, line, key, what was expected, the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from trakt.errors import InputError

INT64 = range(-(1 << 63), 1 << 63)
_BLOCK = 1 << 20


def numbered_lines(file: IO[bytes], first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """The file's lines with their numbers (a last line without ``\\n`` included)."""
    number = first_line
    rest = b""
    while True:
        block = file.read(_BLOCK)
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield number, line
            number += 1
    if rest:
        yield number, rest


def kind(value: Any) -> str:
    """A JSON value's kind as messages name it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "null"


def _family(value_kind: str) -> str:
    return "a number" if value_kind in ("an integer", "a number") else value_kind


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass
class Expect:
    """What a scan holds the lines to.

    ``kinds``: column -> the kind its values must have (``None``: no values seen yet, so any
    value is a problem); ``closed``: a key outside ``kinds`` is a problem (stream mode's fixed
    columns), else ``selected`` (the ``columns`` option) or every key is read; ``why`` ends
    the messages about ``kinds`` (how they were fixed, and the fix).
    """

    kinds: dict[str, str | None] = field(default_factory=dict)
    closed: bool = False
    selected: frozenset[str] | None = None
    why: str = ""


def find_problem(
    lines: Iterator[tuple[int, bytes]], shown: str, flatten: bool, expect: Expect
) -> InputError | None:
    """The first problem in ``lines``, as an error naming its line; None when there is none."""
    seen: dict[str, tuple[str, int]] = {}  # inferred: column -> (kind, line)
    for number, raw in lines:
        where = f"{shown}:{number}"
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError as exc:
            return _error(
                f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start} of the line); "
                "JSON Lines files are UTF-8: convert the file",
                shown,
                number,
            )
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:
            reason = (
                f"{exc.msg} at column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError)
                else str(exc)
            )
            return _error(
                f"{where}: invalid JSON ({reason}); every line must be one complete JSON "
                "object (a value spread over several lines is not JSON Lines)",
                shown,
                number,
            )
        if not isinstance(record, dict):
            return _error(
                f"{where}: expected one JSON object ({{...}}) per line, found "
                f"{kind(record)}: {_shown(record)}",
                shown,
                number,
            )
        problem = _check_record(record, "", where, flatten, expect, seen, number)
        if problem is not None:
            return _error(problem[0], shown, number, problem[1])
    return None


def _check_record(
    record: Mapping[str, Any],
    prefix: str,
    where: str,
    flatten: bool,
    expect: Expect,
    seen: dict[str, tuple[str, int]],
    number: int,
) -> tuple[str, str] | None:
    for key, value in record.items():
        name = prefix + key
        if isinstance(value, dict):
            if not flatten:
                return (
                    f"{where}: key '{name}' holds an object ({_shown(value)}); JSON Lines "
                    "inputs are read as flat records: set options.flatten: true to read it as "
                    f"'{name}.<key>' columns",
                    name,
                )
            nested = _check_record(value, name + ".", where, flatten, expect, seen, number)
            if nested is not None:
                return nested
            continue
        if isinstance(value, list):
            return (
                f"{where}: key '{name}' holds a list ({_shown(value)}); lists are not read "
                "(not even with flatten: true): store it as text (a JSON string), or split it "
                "into columns before reading",
                name,
            )
        problem = _check_value(name, value, where, expect, seen, number)
        if problem is not None:
            return problem, name
    return None


def _check_value(
    name: str,
    value: Any,
    where: str,
    expect: Expect,
    seen: dict[str, tuple[str, int]],
    number: int,
) -> str | None:
    if expect.selected is not None and name not in expect.selected:
        return None
    if name not in expect.kinds and expect.closed:
        return (
            f"{where}: key '{name}' first appears on line {number}, after the columns were "
            f"fixed{expect.why}; list every column in options.columns, or read this input in "
            "batch mode (mode: batch)"
        )
    if value is None:
        return None
    got = kind(value)
    if got == "an integer" and value not in INT64:
        return (
            f"{where}: key '{name}' holds the integer {value}, beyond the 64-bit range; "
            "write it as text (in quotes) in the file"
        )
    if name in expect.kinds:
        wanted = expect.kinds[name]
        if wanted is None:
            return (
                f"{where}: key '{name}' holds {got} ({_shown(value)}) but had no values where "
                f"the types were fixed{expect.why}; declare its type: "
                f"options.columns: {{{name}: str|int|float|bool}}, or read the input in batch "
                "mode (mode: batch)"
            )
        fits = got == wanted or (wanted == "a number" and got == "an integer")
        if not fits:
            return (
                f"{where}: key '{name}' holds {got} ({_shown(value)}) but the column is "
                f"{wanted}{expect.why}; declare its type: options.columns: "
                f"{{{name}: {'float' if _family(got) == _family(wanted) else 'str'}}} "
                "(str needs text in the file), or fix the value"
            )
        return None
    first = seen.get(name)
    if first is None:
        seen[name] = (got, number)
    elif _family(first[0]) != _family(got):
        return (
            f"{where}: key '{name}' holds {got} ({_shown(value)}) but {first[0]} on line "
            f"{first[1]}; a column holds one kind of JSON value (numbers, text or booleans): "
            "fix the data, or write every value of the column as text (in quotes)"
        )
    return None


def _error(message: str, shown: str, line: int, column: str | None = None) -> InputError:
    return InputError(message, file=shown, line=line, column=column)
