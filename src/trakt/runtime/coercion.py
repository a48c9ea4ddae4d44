"""Column types of data contracts: text parsed into ``int``, ``float``, ``string``,
``bool``, ``date``, ``datetime`` and ``decimal(p,s)`` without changing any value.

A value either converts exactly or becomes null, and is then told apart: it does not parse
(``not a valid int``) or it parses but would have to change to fit (``does not fit ...``:
rounded decimals, fractions or overflow for ``int``, digits a 64-bit float cannot hold for
``float``, any spelling but ``YYYY-MM-DD`` for ``date``, a spelling that is not ISO 8601,
nanoseconds or years beyond 9999 for ``datetime``). A date column holds dates (Arrow
``date32``), written back as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_INT64 = (-(2**63), 2**63 - 1)
# Up to 18 digits always fit int64: converted at once, the rest one by one.
_PLAIN_INT = r"[+-]?[0-9]{1,18}"
# A UTC offset after a time of day (a date's "-02" is none). Patterns use [0-9] and no \s,
# so pandas runs them in pyarrow's regex engine, not value by value in Python's.
_OFFSET = r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)? ?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_FINE_FRACTION = r"[.,][0-9]{7,}"  # more than microseconds: parsed at nanoseconds, checked
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# ISO 8601 as written in data: a date, then (after T or a space) a time of day with optional
# seconds and fraction, then an optional UTC offset or Z. Nothing else is guessed at.
_ISO_DATETIME = (
    _ISO_DATE + r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?: ?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?))?)?"
)
_BIG_YEAR = r"[+-]?[0-9]{5,}-[0-9]{2}-[0-9]{2}.*"
_FLOAT_DIGITS = 17  # a float holds 15-17 significant digits: more are rounded away
_EXACT_UP_TO = 2**53  # every integer up to here is a float exactly
_INFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


MISFIT_RULE = "does not fit "


def misfit_rule(kind: str) -> str:
    """The rule of the coercion event for values that parse but do not fit ``kind``."""
    match = DECIMAL.fullmatch(kind)
    why = {
        "int": "a fraction, or outside the 64-bit range",
        "float": "more digits than a 64-bit float holds, or too large or too small for one",
        "date": "expected YYYY-MM-DD",
        "datetime": "expected ISO 8601 YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|+HH:MM]; finer than "
        "microseconds, outside years 1-9999, or with(out) a UTC offset unlike the column's "
        "first value",
    }.get(kind, "")
    if match:
        why = f"more than {match.group(2)} decimal places or {match.group(1)} digits"
    return f"{MISFIT_RULE}{kind} ({why})"


def coerce(
    raw: pd.Series, kind: str, memo: dict[str, Any] | None = None, decimal: str = "."
) -> tuple[pd.Series, pd.Series]:
    """Parse text into ``kind``: the typed values, and where a value parsed but would have
    to change to fit (rounded, truncated, overflowed). Both kinds of failure become null.
    ``decimal``: the input's decimal character (CSV ``options.decimal``), for numbers."""
    text = raw.astype("string")
    none = pd.Series(False, index=raw.index)
    if kind == "string":
        return raw, none
    if kind in ("int", "float") or DECIMAL.fullmatch(kind):
        text = _with_point(text, decimal)
    if kind == "int":
        return _to_int(text)
    if kind == "float":
        return _to_float(text)
    if kind == "bool":
        lowered = text.str.strip().str.lower()
        mapped = lowered.map(lambda v: True if v in _TRUE else False if v in _FALSE else pd.NA)
        return mapped.astype("boolean"), none
    if kind in ("date", "datetime"):
        return _to_datetime(text, kind, {} if memo is None else memo)
    match = DECIMAL.fullmatch(kind)
    assert match, kind  # the spec validated the type
    return _to_decimal(text, int(match.group(1)), int(match.group(2)))


def _with_point(text: pd.Series, decimal: str) -> pd.Series:
    """Numbers written with another decimal character (``1,50`` under ``decimal: ","``) as
    Python reads them; there a value holding a ``.`` is not a number (null: not valid), as
    the CSV reader keeps such a column text."""
    if decimal == ".":
        return text
    dotted = text.str.contains(".", regex=False).fillna(False).astype(bool)
    return text.where(~dotted).str.replace(decimal, ".", regex=False)


def _to_int(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    stripped = text.str.strip()
    plain = stripped.str.fullmatch(_PLAIN_INT).fillna(False).astype(bool)
    typed = pd.Series(pd.NA, index=text.index, dtype="Int64")
    if plain.any():
        typed[plain] = stripped[plain].astype("int64")
    rest = stripped[~plain & stripped.notna()]  # 1.0, 1e3, 1.5, huge numbers, text
    values = [_exact_int(v) for v in rest.tolist()]
    exact = [v if isinstance(v, int) else None for v in values]
    typed.update(pd.Series(exact, rest.index, dtype="Int64"))
    misfit = pd.Series([v is _MISFIT for v in values], rest.index, dtype=bool)
    return typed, misfit.reindex(text.index, fill_value=False)


def _exact_int(value: Any) -> object:
    """``value`` as an int if it is one exactly (``1.0``, ``1e3``); _MISFIT if it is a
    number that is no int64; None if it is no number."""
    number = _decimal(value)
    if number is None or not number.is_finite():
        return None
    if number == number.to_integral_value() and _INT64[0] <= number <= _INT64[1]:
        return int(number)
    return _MISFIT


def _to_float(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    misfit = pd.Series(False, index=text.index)
    suspect = numbers.isin([np.inf, -np.inf, 0.0])
    if suspect.any():  # 1e400 became inf, 1e-400 became 0: only a written inf or 0 is one
        lowered = text[suspect].str.strip().str.lower()
        mantissa = lowered.str.replace(r"e.*$", "", regex=True)
        zero = ~mantissa.str.contains(r"[1-9]", regex=True).fillna(False).astype(bool)
        infinite = lowered.isin(_INFINITE).fillna(False).astype(bool)
        fits = ((numbers[suspect] == 0) & zero) | infinite
        misfit[suspect] = ~fits
    # Only a text of 16 characters or more can hold more digits than a float keeps.
    long = numbers.notna() & ~misfit & (text.str.strip().str.len() >= 16).fillna(False)
    if long.any():
        rounded = [_rounded(t, n) for t, n in zip(text[long], numbers[long], strict=True)]
        misfit[long] = pd.Series(rounded, index=text.index[long], dtype=bool)
    return numbers.where(~misfit), misfit


def _rounded(text: str, number: float) -> bool:
    """Whether ``number`` is not what ``text`` says: more significant digits than a float
    keeps (and they differ from it), or an integer beyond 2**53 that no float is."""
    written = _decimal(text)
    if written is None or not written.is_finite() or not math.isfinite(number):
        return False
    digits = written.normalize().as_tuple().digits
    integer = re.fullmatch(r"[+-]?[0-9]+(?:\.0*)?", text.strip()) is not None
    if integer and abs(written) > _EXACT_UP_TO:
        return Decimal(number) != written
    return len(digits) > _FLOAT_DIGITS and Decimal(repr(number)) != written


def _to_datetime(text: pd.Series, kind: str, memo: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 at microsecond resolution (years 1-9999) in every chunk, whatever pandas
    would infer for it; a date is ``YYYY-MM-DD`` and nothing else, and holds no time."""
    stripped = text.str.strip()
    present = stripped.notna() & (stripped != "")
    iso = stripped.str.fullmatch(_ISO_DATE if kind == "date" else _ISO_DATETIME)
    iso = iso.fillna(False).astype(bool) & present
    if kind == "date":
        parsed = pd.to_datetime(stripped.where(iso), errors="coerce", format="%Y-%m-%d")
        misfit = _other_spelling(stripped, present & ~iso)
        dates = parsed.astype("datetime64[s]").astype(pd.ArrowDtype(pa.date32()))
        return dates, misfit
    aware = stripped.str.contains(_OFFSET, regex=True).fillna(False).astype(bool) & iso
    # The column's first time of day decides, in every chunk: with a UTC offset (values are
    # then instants in UTC) or without; a value of the other kind is never guessed.
    timed = iso & stripped.str.contains(r"[0-9]:[0-9]{2}", regex=True).fillna(False).astype(bool)
    if "utc" not in memo and timed.any():
        memo["utc"] = bool(aware[timed].iloc[0])
    utc = bool(memo.get("utc", False))
    misfit = (iso & (aware != utc)).astype(bool) | _other_spelling(stripped, present & ~iso)
    fine = stripped.str.contains(_FINE_FRACTION, regex=True).fillna(False).astype(bool)
    usable = stripped.where(iso & ~misfit)
    parsed = _parse(usable.where(~fine), utc)
    if fine.any():  # nanosecond digits: they fit only when they are zero
        exact = pd.to_datetime(usable.where(fine), errors="coerce", format="ISO8601", utc=utc)
        ok = exact.notna() & (exact.dt.nanosecond == 0)
        misfit |= fine & iso & ~ok & ~misfit
        parsed = parsed.where(~(fine & ok), exact.where(ok).astype(parsed.dtype))
    return parsed, misfit.astype(bool)


def _other_spelling(stripped: pd.Series, candidates: pd.Series) -> pd.Series:
    """Values that are a date or time, but not spelled as the contract reads them
    (``2025-1-9``, ``20250109``, a time for a date, a year beyond 9999): never reformatted."""
    misfit = pd.Series(False, index=stripped.index)
    if not candidates.any():
        return misfit
    some = stripped.where(candidates)
    readable = pd.to_datetime(some, errors="coerce", format="ISO8601", utc=True).notna()
    big_year = some.str.fullmatch(_BIG_YEAR).fillna(False).astype(bool)
    return (candidates & (readable | big_year)).astype(bool)


def _parse(text: pd.Series, utc: bool) -> pd.Series:
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    return parsed.astype("datetime64[us, UTC]") if utc else parsed.astype("datetime64[us]")


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _to_decimal(text: pd.Series, precision: int, scale: int) -> tuple[pd.Series, pd.Series]:
    quantum = Decimal(1).scaleb(-scale)

    def to_decimal(value: Any) -> Any:
        if value is None or value is pd.NA:
            return None
        number = _decimal(value)
        if number is None or not number.is_finite():
            return None
        try:
            exact = number.quantize(quantum)
        except InvalidOperation:  # more digits than the context holds: far too large
            return _MISFIT
        if exact != number or len(exact.as_tuple().digits) > precision:
            return _MISFIT  # rounding 1.234 to 1.23 would change the value
        return exact

    values = [to_decimal(v) for v in text.tolist()]
    misfit = pd.Series([v is _MISFIT for v in values], index=text.index, dtype=bool)
    exact = [None if v is _MISFIT else v for v in values]
    return pd.Series(exact, index=text.index, dtype=object), misfit


_MISFIT = object()
