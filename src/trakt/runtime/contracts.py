"""Data contracts: an input's (or output's) ``schema:`` checked chunk by chunk.

For each chunk: a missing required column is reported (``missing_column``) and added as
nulls; columns are coerced to their declared type, and values that do not parse become null
(``coercion``, with the count and up to five samples with their line numbers); rules are
checked — null in a non-nullable column, out of ``min``/``max``, not in ``allowed``, a
duplicate in a ``unique`` column (across all chunks) — and handled by ``on_violation``:
``error`` stops the run, ``warn`` reports (event ``warning``) and keeps the rows,
``quarantine`` moves the rows to ``_rejected/<input>.csv``.

Events are totalled over the whole input and emitted once it has been read, so batch and
stream mode report exactly the same events. Line numbers count one line per record after the
header (a record with a quoted line break shifts later numbers).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from trakt.errors import TraktError
from trakt.io.badlines import BadLine
from trakt.spec.model import ColumnRule, SchemaSpec

SAMPLES = 5
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}

Emit = Callable[..., None]


class ContractViolation(TraktError):
    """Data broke a declared rule under ``on_violation: error``."""


@dataclass
class _Finding:
    kind: str  # coercion | warning | missing_column
    column: str
    rule: str
    count: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, values: pd.Series, lines: pd.Series) -> None:
        self.count += len(values)
        for value, line in zip(values.tolist(), lines.tolist(), strict=True):
            if len(self.samples) >= SAMPLES:
                break
            self.samples.append({"value": None if pd.isna(value) else str(value), "line": line})


_INT64 = (-(2**63), 2**63 - 1)
# Up to 18 digits always fit int64: converted at once, the rest one by one.
_PLAIN_INT = r"[+-]?[0-9]{1,18}"
# A UTC offset after a time of day (a date's "-02" is none). Patterns use [0-9] and no \s,
# so pandas runs them in pyarrow's regex engine, not value by value in Python's.
_OFFSET = r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)? ?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_FINE_FRACTION = r"[.,][0-9]{7,}"  # more than microseconds: parsed at nanoseconds, checked
_INFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


_MISFIT_RULE = "does not fit "


def _misfit_rule(kind: str) -> str:
    """The rule of the coercion event for values that parse but do not fit ``kind``."""
    match = _DECIMAL.fullmatch(kind)
    why = {
        "int": "a fraction, or outside the 64-bit range",
        "float": "too large or too small for a 64-bit float",
        "date": "has a time of day, or is outside years 1-9999",
        "datetime": "finer than microseconds, outside years 1-9999, or with(out) a UTC offset "
        "unlike the column's first value",
    }.get(kind, "")
    if match:
        why = f"more than {match.group(2)} decimal places or {match.group(1)} digits"
    return f"{_MISFIT_RULE}{kind} ({why})"


def _coerce(
    raw: pd.Series, kind: str, memo: dict[str, Any] | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse text into ``kind``: the typed values, and where a value parsed but would have
    to change to fit (rounded, truncated, overflowed). Both kinds of failure become null."""
    text = raw.astype("string")
    none = pd.Series(False, index=raw.index)
    if kind == "string":
        return raw, none
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
    match = _DECIMAL.fullmatch(kind)
    assert match, kind  # the spec validated the type
    return _to_decimal(text, int(match.group(1)), int(match.group(2)))


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
    return numbers.where(~misfit), misfit


def _to_datetime(text: pd.Series, kind: str, memo: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 at microsecond resolution (years 1-9999) in every chunk, whatever pandas
    would infer for it; a date has no time of day."""
    stripped = text.str.strip()
    present = stripped.notna() & (stripped != "")
    aware = stripped.str.contains(_OFFSET, regex=True).fillna(False).astype(bool) & present
    # The column's first time of day decides, in every chunk: with a UTC offset (values are
    # then instants in UTC) or without; a value of the other kind is never guessed.
    timed = present & stripped.str.contains(r"[0-9]:[0-9]{2}", regex=True).fillna(False).astype(
        bool
    )
    if "utc" not in memo and timed.any():
        memo["utc"] = bool(aware[timed].iloc[0])
    utc = bool(memo.get("utc", False))
    misfit = (present & (aware != utc)).astype(bool)
    fine = stripped.str.contains(_FINE_FRACTION, regex=True).fillna(False).astype(bool)
    usable = stripped.where(present & ~misfit)
    parsed = _parse(usable.where(~fine), utc)
    if fine.any():  # nanosecond digits: they fit only when they are zero
        exact = pd.to_datetime(usable.where(fine), errors="coerce", format="ISO8601", utc=utc)
        ok = exact.notna() & (exact.dt.nanosecond == 0)
        misfit |= fine & present & ~ok & ~misfit
        parsed = parsed.where(~(fine & ok), exact.where(ok).astype(parsed.dtype))
    if kind == "date":
        timed = parsed.notna() & (parsed != parsed.dt.normalize())
        misfit |= timed
        parsed = parsed.where(~timed)
    # Out of range (year 10000...) and invalid values alike come back as NaT: tell them apart.
    unparsed = parsed.isna() & present & ~misfit
    if unparsed.any():
        misfit |= unparsed & stripped.str.fullmatch(r"[+-]?[0-9]{5,}-[0-9]{2}-[0-9]{2}.*").fillna(
            False
        ).astype(bool)
    return parsed, misfit.astype(bool)


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


def _bound(series: pd.Series, value: Any) -> Any:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        bound = pd.Timestamp(value)
        aware = getattr(series.dtype, "tz", None) is not None
        if aware and bound.tz is None:  # a column of UTC instants: a plain bound is UTC too
            return bound.tz_localize("UTC")
        if not aware and bound.tz is not None:
            return bound.tz_convert("UTC").tz_localize(None)
        return bound
    if series.dtype == object:
        return Decimal(str(value))
    return value


@dataclass
class ContractState:
    """One input's (or output's) contract across all its chunks."""

    name: str
    schema: SchemaSpec
    shown: str
    kind: str = "artifact"  # "artifact" for an input, "output" for an output dataset
    findings: dict[tuple[str, str, str], _Finding] = field(default_factory=dict)
    seen: dict[str, set[Any]] = field(default_factory=dict)
    rows_seen: int = 0
    rejected: list[BadLine] = field(default_factory=list)
    source_column: str | None = None  # the input's own column of file names: not extra
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)  # per column, across chunks

    def _finding(self, kind: str, column: str, rule: str) -> _Finding:
        return self.findings.setdefault((kind, column, rule), _Finding(kind, column, rule))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Coerce and check one chunk; return the rows to keep."""
        if any(name is not None for name in frame.index.names):
            frame = frame.reset_index()  # a named index (groupby) is written as columns
        lines = pd.Series(np.arange(len(frame)) + self.rows_seen + 2, index=frame.index)
        self.rows_seen += len(frame)
        original = frame
        frame = frame.copy()
        reasons = pd.Series("", index=frame.index, dtype=object)
        for name, rule in self.schema.columns.items():
            if name not in frame.columns:
                if rule.required:
                    self._finding("missing_column", name, "required").count = 1
                nulls = pd.Series([None] * len(frame), index=frame.index, dtype="string")
                frame[name] = _coerce(nulls, rule.type)[0]
                continue
            raw = frame[name]
            typed, misfit = _coerce(raw, rule.type, self.memo.setdefault(name, {}))
            failed = typed.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
            failed = failed.fillna(False).astype(bool)
            invalid = failed & ~misfit
            if invalid.any():
                finding = self._finding("coercion", name, f"not a valid {rule.type}")
                finding.add(raw[invalid], lines[invalid])
            if misfit.any():
                finding = self._finding("coercion", name, _misfit_rule(rule.type))
                finding.add(raw[misfit], lines[misfit])
            # A value that does not fit its type breaks the contract like any rule.
            first = failed & (reasons == "")
            reasons[first & misfit] = f"{name}: {_misfit_rule(rule.type)}"
            reasons[first & ~misfit] = f"{name}: not a valid {rule.type}"
            frame[name] = typed
            self._rules(name, rule, typed, raw, lines, reasons)
        frame = self._extra_columns(frame)
        bad = reasons != ""
        if self.schema.on_violation == "quarantine" and bad.any():
            self._quarantine(original[bad], lines[bad], reasons[bad])
            frame = frame[~bad]
        return frame

    def _rules(
        self,
        name: str,
        rule: ColumnRule,
        typed: pd.Series,
        raw: pd.Series,
        lines: pd.Series,
        reasons: pd.Series,
    ) -> None:
        """Check one column's rules; note the first broken rule of each row in ``reasons``."""
        checks: list[tuple[str, pd.Series]] = []
        if not rule.nullable:
            checks.append(("null in a non-nullable column", typed.isna()))
        present = typed.notna()
        if rule.min is not None:
            below = (typed < _bound(typed, rule.min)).fillna(False)
            checks.append((f"below min {rule.min}", present & below))
        if rule.max is not None:
            above = (typed > _bound(typed, rule.max)).fillna(False)
            checks.append((f"above max {rule.max}", present & above))
        if rule.allowed is not None:
            allowed = set(map(str, rule.allowed))
            checks.append(("not an allowed value", present & ~typed.astype(str).isin(allowed)))
        if rule.unique:
            seen = self.seen.setdefault(name, set())
            values = typed.where(present)
            duplicate = (values.duplicated(keep="first") | values.isin(seen)) & present
            seen.update(values[present].tolist())
            checks.append(("duplicate in a unique column", duplicate))
        for label, mask in checks:
            mask = mask.astype(bool)
            if mask.any():
                self._finding("warning", name, label).add(raw[mask], lines[mask])
                reasons[mask & (reasons == "")] = f"{name}: {label}"

    def _extra_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        extra = [
            c for c in frame.columns if c not in self.schema.columns and c != self.source_column
        ]
        if not extra or self.schema.extra_columns == "keep":
            return frame
        if self.schema.extra_columns == "drop":
            return frame.drop(columns=extra)
        raise ContractViolation(
            f"{self.name}: columns {extra} are not in the schema (extra_columns: error); "
            "add them to schema.columns or set extra_columns: keep | drop",
            **{self.kind: self.name},
        )

    def _quarantine(self, rows: pd.DataFrame, lines: pd.Series, reasons: pd.Series) -> None:
        """The rows as read (before coercion), with their line and the rule they broke."""
        for values, line, reason in zip(
            rows.itertuples(index=False), lines.tolist(), reasons.tolist(), strict=True
        ):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(
                ["" if pd.isna(v) else v for v in values]
            )
            self.rejected.append(BadLine(self.shown, int(line), buffer.getvalue().encode(), reason))

    def check_errors(self) -> None:
        """Under ``on_violation: error``, stop at the first chunk that broke a rule."""
        if self.schema.on_violation != "error":
            return
        order = {"missing_column": 0, "warning": 1, "coercion": 2}
        for finding in sorted(self.findings.values(), key=lambda f: order[f.kind]):
            if finding.kind in ("warning", "missing_column", "coercion"):
                raise ContractViolation(
                    f"{self.name}: {finding.count} value(s) of column '{finding.column}': "
                    f"{finding.rule} (e.g. {finding.samples[:SAMPLES]}); schema "
                    "on_violation: error — fix the data or set on_violation: warn | quarantine",
                    **{self.kind: self.name},
                    column=finding.column,
                )

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, message, attributes) for every finding, in a stable order."""
        out = []
        order = {"missing_column": 0, "coercion": 1, "warning": 2}
        for f in sorted(self.findings.values(), key=lambda f: (order[f.kind], f.column, f.rule)):
            if f.kind == "missing_column":
                message = f"required column '{f.column}' is missing"
            elif f.kind == "coercion" and f.rule.startswith(_MISFIT_RULE):
                message = (
                    f"{f.count} value(s) of '{f.column}' do not fit "
                    f"{f.rule.removeprefix(_MISFIT_RULE)}; set to null, never rounded or cut"
                )
            elif f.kind == "coercion":
                message = f"{f.count} value(s) of '{f.column}' are {f.rule}; set to null"
            else:
                message = f"{f.count} value(s) of '{f.column}': {f.rule}"
            attributes = {"column": f.column, "count": f.count, "rule": f.rule}
            if f.samples:
                attributes["samples"] = f.samples
            out.append((f.kind, message, attributes))
        return out
