"""Checks on the values pyarrow's fast CSV reader produced, vectorised with pyarrow.compute.

Numbers keep their value: a column is read as numbers only if no value would come back
different. Columns pyarrow infers as numbers are read as text and settled here:

- integers: every value must be written the way the integer is written back (``-?[1-9]\\d*``
  or ``0``): ``007``, ``+7``, ``-0``, ``0x1F`` and numbers with spaces around stay text;
- integers with 17 digits or more in a float column, such as ids beyond the int64 range,
  keep the column text (as floats they would lose digits);
- floats: a leading ``+`` or a leading zero before a digit (``007.5``, ``-01.2``) keeps the
  column text; other spellings of the same value (``1.50``, ``1e5``, ``.5``) are read as the
  number and written in shortest round-trip form (``1.5``, ``100000.0``, ``0.5``);
- floats whose value is not what their text says keep the column text: more digits than a
  float keeps (``9007199254740993``, ``0.12345678901234567890``), overflow to inf (``1e400``)
  or underflow (``1e-400``, ``4.9e-324``); see :func:`unfaithful`.

And quoted fields that swallowed line after line (a stray quote) are found by counting the
line breaks in each record's values.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trakt.io.arrow_scalars import scalar

_SPELLED = r"^\+|^-?0[0-9]"  # a float text that a number would not give back
# ... or an integer with more digits than a float keeps (an id beyond the int64 range)
_SPELLED_OR_LONG = _SPELLED + r"|^-?[0-9]{17,}$"


class Mismatch(Exception):
    """A value that does not fit the type a column was fixed to (stream mode)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason


def _as_float(text: pa.ChunkedArray, decimal: str) -> pa.ChunkedArray:
    floats: pa.ChunkedArray = pc.cast(_dotted(text, decimal), pa.float64())
    return floats


def _dotted(text: pa.ChunkedArray, decimal: str) -> pa.ChunkedArray:
    if decimal == ".":
        return text
    if pc.any(pc.match_substring(text, ".")).as_py():
        raise pa.ArrowInvalid("a '.' in a column with another decimal point")
    dotted: pa.ChunkedArray = pc.replace_substring(text, decimal, ".")
    return dotted


INFINITE = r"(?i)^[-+]?inf(inity)?$"
_NONZERO = r"^[-+]?[0-9.]*[1-9]"  # a mantissa with a non-zero digit
_SMALLEST_NORMAL = 2.2250738585072014e-308  # below: subnormal floats keep fewer digits
# Python values in compute calls would make pyarrow import pandas (see arrow_scalars)
_FALSE, _TRUE = scalar(False, pa.bool_()), scalar(True, pa.bool_())
_ZERO = scalar(0, pa.float64())
_TINY = scalar(_SMALLEST_NORMAL, pa.float64())
_FIRST = scalar(0, pa.int64())
_DBL_DIG_PLUS_1 = scalar(16, pa.int64())


def unfaithful(text: pa.ChunkedArray, floats: pa.ChunkedArray, decimal: str = ".") -> str | None:
    """A value whose float is not the number its text says (rounded to fewer digits,
    overflowed to inf, underflowed to 0), or None when every value is.

    Only candidates are looked at (inf, zero, subnormal, 16+ characters): the common column of
    short floats costs a few vectorised comparisons."""
    dotted = _dotted(text, decimal)
    inf = pc.fill_null(pc.is_inf(floats), _FALSE)
    if pc.any(inf).as_py():
        said = pc.match_substring_regex(pc.filter(dotted, inf), INFINITE)
        wrong = pc.filter(pc.filter(text, inf), pc.invert(said))
        if len(wrong):
            return str(wrong[0].as_py())
    zero = pc.fill_null(pc.equal(floats, _ZERO), _FALSE)
    if pc.any(zero).as_py():
        wrong = pc.filter(
            pc.filter(text, zero), pc.match_substring_regex(pc.filter(dotted, zero), _NONZERO)
        )
        if len(wrong):
            return str(wrong[0].as_py())
    # A float keeps any decimal of up to 15 significant digits exactly (DBL_DIG), except a
    # subnormal one: longer texts and subnormals have their digits compared.
    look = pc.fill_null(
        pc.or_(
            pc.greater_equal(pc.binary_length(dotted), _DBL_DIG_PLUS_1),
            pc.and_(pc.less(pc.abs(floats), _TINY), pc.invert(zero)),
        ),
        _FALSE,
    )
    if not pc.any(look).as_py():
        return None
    text, dotted, floats = (pc.filter(c, look) for c in (text, dotted, floats))
    # Exact when the float's shortest form has the text's significant digits (the two parse
    # to the same float, so a power of ten apart is impossible). Most long texts are that
    # shortest form already: only the others have their digits compared.
    back = pc.cast(floats, pa.string())
    differ = pc.invert(pc.fill_null(pc.equal(back, dotted), _FALSE))
    if not pc.any(differ).as_py():
        return None
    text, dotted, back = (pc.filter(c, differ) for c in (text, dotted, back))
    other = pc.invert(pc.fill_null(pc.equal(_digits(back), _digits(dotted)), _FALSE))
    wrong = pc.filter(text, other)
    return str(wrong[0].as_py()) if len(wrong) else None


def _digits(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """A number's significant digits: no sign, point, exponent, leading or trailing zeros."""
    mantissa = pc.list_element(pc.split_pattern(pc.ascii_lower(text), "e", max_splits=1), _FIRST)
    unsigned = pc.utf8_ltrim(pc.replace_substring(mantissa, ".", ""), "+-0")
    digits: pa.ChunkedArray = pc.utf8_rtrim(unsigned, "0")
    return digits


def exact_ints(text: pa.ChunkedArray, ints: pa.ChunkedArray) -> bool:
    """Whether each int is spelled the way it is written back (no ``007``, ``+7``, ``-0``)."""
    back = pc.cast(ints, pa.string())
    return bool(pc.all(pc.equal(back, text)).as_py() is not False)


def _any(text: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(text, pattern)).as_py())


def settle(text: pa.ChunkedArray, decimal: str = ".") -> pa.ChunkedArray:
    """A column pyarrow took for numbers, read as text: as int64, float64 or kept text."""
    if text.null_count == len(text):
        return text
    ints = as_ints(text)
    if ints is not None:
        return ints if exact_ints(text, ints) else text
    floats = as_floats(text, decimal)
    return text if floats is None else floats


def as_ints(text: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Every value of ``text`` as an int64 (however spelled), or None where one is not."""
    try:
        # pyarrow's cast spends ~0.3 us on each value it cannot parse (an error message for
        # each): a column of floats is found out by its first values instead.
        pc.cast(text.slice(0, 64), pa.int64())
        ints: pa.ChunkedArray = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return ints


def as_floats(text: pa.ChunkedArray, decimal: str = ".") -> pa.ChunkedArray | None:
    """``text`` as float64 by :func:`settle`'s rules for a column that is not all integers,
    or None where a value keeps the column text (spelled like ``007.5``, not a number, or a
    float would not keep it exactly). A rule on each value: a column passes where every part
    of it passes."""
    if _any(text, _SPELLED_OR_LONG):
        return None
    try:
        floats = _as_float(text, decimal)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None if unfaithful(text, floats, decimal) is not None else floats


def fix(text: pa.Array | pa.ChunkedArray, to: pa.DataType, decimal: str = ".") -> pa.Array:
    """A chunk's text column as ``to`` (int64 or float64), or :class:`Mismatch`."""
    chunked = text if isinstance(text, pa.ChunkedArray) else pa.chunked_array([text])
    if pa.types.is_integer(to):
        try:
            ints = pc.cast(chunked, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise Mismatch(_first_failing(chunked, to, decimal), "not an integer") from None
        if not exact_ints(chunked, ints):
            back = pc.cast(ints, pa.string())
            bad = pc.filter(chunked, pc.invert(pc.fill_null(pc.equal(back, chunked), _TRUE)))
            raise Mismatch(str(bad[0]), "spelled so an integer would not give it back")
        return _combined(pc.cast(ints, to))
    if pa.types.is_floating(to):
        spelled = pc.filter(
            chunked, pc.fill_null(pc.match_substring_regex(chunked, _SPELLED), _FALSE)
        )
        if len(spelled):
            raise Mismatch(str(spelled[0]), "spelled so a number would not give it back")
        try:
            floats = _as_float(chunked, decimal)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise Mismatch(_first_failing(chunked, to, decimal), "not a number") from None
        lost = unfaithful(chunked, floats, decimal)
        if lost is not None:
            raise Mismatch(lost, "a float would not keep this number exactly")
        return _combined(pc.cast(floats, to))
    return _combined(pc.cast(chunked, to))


def _combined(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _first_failing(text: pa.ChunkedArray, to: pa.DataType, decimal: str) -> str:
    for i, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        # A slice, not pa.array([value]): converting a Python value would import pandas
        # (pyarrow asks whether it is a pandas object), here in a reader's thread.
        one = text.slice(i, 1)
        try:
            _as_float(one, decimal) if pa.types.is_floating(to) else pc.cast(one, to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return str(value)
    return "?"


def breaks(text: pa.ChunkedArray | pa.Array) -> pa.Array | pa.ChunkedArray:
    """Line breaks in each value: ``\\n``, ``\\r\\n`` and a lone ``\\r`` count one each."""
    newlines = pc.count_substring(text, "\n")
    returns = pc.count_substring(text, "\r")
    if not pc.max(returns).as_py():
        return pc.fill_null(newlines, scalar(0, newlines.type))
    both = pc.count_substring(text, "\r\n")
    total = pc.subtract(pc.add(newlines, returns), both)
    return pc.fill_null(total, scalar(0, total.type))


def may_break(text: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a value of ``text`` may hold a line break: False when no byte of its values is
    below 14 (``\\n`` is 10, ``\\r`` 13), found by one pass over the bytes the values occupy
    (each chunk's values are one run of its data buffer). Counting line breaks value by value
    took most of a stream read's time; only text with a control character is counted so."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        if not len(chunk):
            continue
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        _, offsets, data = chunk.buffers()
        if data is None or offsets is None:
            continue
        width = np.int32 if pa.types.is_string(chunk.type) else np.int64
        bounds = np.frombuffer(offsets, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
        start, end = int(bounds[0]), int(bounds[-1])
        if end > start and np.frombuffer(data, dtype=np.uint8)[start:end].min() < 14:
            return True
    return False


def swallowed(table: pa.Table, max_lines: int, max_bytes: int) -> int | None:
    """The index of the first record whose quoted values span more than ``max_lines`` lines
    (or ``max_bytes`` over several lines): a stray quote that swallowed the lines after it."""
    texts = [c for c in table.columns if pa.types.is_string(c.type)]
    if not texts or table.num_rows == 0:
        return None
    total = None
    size = None
    for column in texts:
        if not may_break(column):
            continue
        count = breaks(column)
        if not pc.max(count).as_py():
            continue
        length = pc.binary_length(column)
        length = pc.fill_null(length, scalar(0, length.type))
        total = count if total is None else pc.add(total, count)
        size = length if size is None else pc.add(size, length)
    if total is None or size is None:
        return None
    over = pc.or_(
        pc.greater_equal(total, scalar(max_lines, pa.int64())),
        pc.and_(
            pc.greater(total, scalar(0, pa.int64())),
            pc.greater(size, scalar(max_bytes, pa.int64())),
        ),
    )
    if not pc.any(over).as_py():
        return None
    found = pc.index(over, _TRUE).as_py()
    return int(found)
