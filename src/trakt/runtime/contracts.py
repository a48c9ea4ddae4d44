"""Data contracts: an input's (or output's) ``schema:`` checked chunk by chunk.

For each chunk: a named index (after ``groupby``) becomes columns, as it is written; a missing
required column is reported (``missing_column``) and added as nulls; columns are coerced to
their declared type (:mod:`trakt.runtime.coercion`: never rounded or cut), and values that do
not parse or do not fit become null (``coercion``, with the count and up to five samples with
their line numbers); rules are checked — null in a non-nullable column, out of
``min``/``max``, not in ``allowed``, a duplicate in a ``unique`` column (across all chunks).
A row with a coercion or a broken rule is handled by ``on_violation``: ``error`` stops the
run, ``warn`` reports (event ``warning``) and keeps the rows, ``quarantine`` moves the rows to
``_rejected/<input>.csv``. The input's ``source_column`` is a known column, never extra.

Events are totalled over the whole input and emitted once it has been read, so batch and
stream mode report exactly the same events. Line numbers count one line per record after the
header (a record with a quoted line break shifts later numbers).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trakt.errors import TraktError
from trakt.io.badlines import BadLine
from trakt.model.model import ColumnRule, SchemaSpec

if TYPE_CHECKING:  # pandas and the coercions only once a contract checks data
    import pandas as pd

SAMPLES = 5

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
        import pandas as pd

        self.count += len(values)
        for value, line in zip(values.tolist(), lines.tolist(), strict=True):
            if len(self.samples) >= SAMPLES:
                break
            self.samples.append({"value": None if pd.isna(value) else str(value), "line": line})


def _bound(series: pd.Series, value: Any) -> Any:
    import pandas as pd

    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_date(series.dtype.pyarrow_dtype):
        return pd.Timestamp(value).date()  # a date column holds dates: so is its bound
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
    # the reader's fix when a required column is missing because the header was split wrong
    # (``id;amount`` read with ``,``: set ``sep``); said with the missing column
    header_hint: str | None = None
    decimal: str = "."  # the input's decimal character (CSV options.decimal): "1,50" is 1.50

    def _finding(self, kind: str, column: str, rule: str) -> _Finding:
        return self.findings.setdefault((kind, column, rule), _Finding(kind, column, rule))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Coerce and check one chunk; return the rows to keep."""
        import numpy as np
        import pandas as pd

        from trakt.runtime.coercion import coerce, misfit_rule

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
                frame[name] = coerce(nulls, rule.type)[0]
                continue
            raw = frame[name]
            memo = self.memo.setdefault(name, {})
            typed, misfit = coerce(raw, rule.type, memo, self.decimal)
            failed = typed.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
            failed = failed.fillna(False).astype(bool)
            invalid = failed & ~misfit
            if invalid.any():
                finding = self._finding("coercion", name, f"not a valid {rule.type}")
                finding.add(raw[invalid], lines[invalid])
            if misfit.any():
                finding = self._finding("coercion", name, misfit_rule(rule.type))
                finding.add(raw[misfit], lines[misfit])
            # A value that does not fit its type breaks the contract like any rule.
            first = failed & (reasons == "")
            reasons[first & misfit] = f"{name}: {misfit_rule(rule.type)}"
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
        import pandas as pd

        if self.source_column in rows.columns:  # added by the reader: not in the record
            rows = rows.drop(columns=[self.source_column])
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
            if finding.kind == "missing_column" and self.header_hint:
                raise ContractViolation(
                    f"{self.name}: required column '{finding.column}' is missing; "
                    f"{self.header_hint}",
                    **{self.kind: self.name},
                    column=finding.column,
                )
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
        from trakt.runtime.coercion import MISFIT_RULE

        out = []
        order = {"missing_column": 0, "coercion": 1, "warning": 2}
        for f in sorted(self.findings.values(), key=lambda f: (order[f.kind], f.column, f.rule)):
            if f.kind == "missing_column":
                message = f"required column '{f.column}' is missing"
                if self.header_hint:
                    message += f"; {self.header_hint}"
            elif f.kind == "coercion" and f.rule.startswith(MISFIT_RULE):
                message = (
                    f"{f.count} value(s) of '{f.column}' do not fit "
                    f"{f.rule.removeprefix(MISFIT_RULE)}; set to null, never rounded or cut"
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
