"""Input sources: one object per input artifact, owning where it is, how it is read (format,
options, bad-lines policy), its contract, its column summary and its manifest entry.

``read()`` gives the whole input as one Arrow table, ``chunks(rows)`` an iterator of Arrow
tables with one schema fixed up front; both read afresh on every call. ``take`` is where a
table read leaves the source: its contract checked, summarized and recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trakt.errors import InputError, TraktError
from trakt.io import Format, format_for_uri, get_format
from trakt.io.badlines import BadLine
from trakt.io.locations import redacted
from trakt.io.registry import split_compression
from trakt.io.sources import (
    FileCounts,
    InputFiles,
    SourceFile,
    fetch,
    read_combined,
    resolve_files,
    stream_combined,
)
from trakt.runtime.adapter import Data, as_pandas, column_names, rows
from trakt.runtime.contracts import ContractState
from trakt.runtime.datasets import InputPlan, override_format
from trakt.runtime.manifest import FileRecord, InputRecord, Timing, utc_now
from trakt.runtime.summary import ColumnSummaries

if TYPE_CHECKING:
    import pandas as pd

_log = logging.getLogger("trakt.inputs")
SEPARATOR_RULE = "separator"  # the rule of the warning: a header split wrong (set ``sep``)


class InputSource:
    """One input artifact (see the module docstring)."""

    options: dict[str, Any]
    source_column: str | None
    files: list[SourceFile]
    contract: ContractState | None

    def __init__(self, plan: InputPlan, index: int, uri: str, base: Path, fmt: str) -> None:
        self._start(plan, index, uri)
        spec = plan.spec
        self.format: Format = get_format(fmt)
        options = self.format.options_for(uri, spec.options)  # e.g. a .tsv file's separator
        if spec.schema_ is not None:  # declared columns read as text: the contract parses
            read_as_text = getattr(self.format, "read_as_text", None)
            if read_as_text is not None:
                options = read_as_text(options, list(spec.schema_.columns))
        # ``source_column`` may be given as the input's key or among its options: it is the
        # input's own column of file names, not a reader option.
        option_column = options.pop("source_column", None)
        self.options = options
        self.source_column = spec.source_column or option_column
        self.files = resolve_files(plan.artifact, uri, base, f"input{index}", spec.storage_options)
        self._check_one_format()
        self.contract = (
            ContractState(
                plan.artifact,
                spec.schema_,
                ", ".join(f.shown for f in self.files),
                source_column=self.source_column,
                decimal=str(options.get("decimal") or "."),
            )
            if spec.schema_ is not None
            else None
        )
        self.record = InputRecord(redacted(uri), self.format.name, spec.combine_strategy)

    def _start(self, plan: InputPlan, index: int, uri: str) -> None:
        """What every source holds before it is read, a database source too (which has no
        files or format): its place in the plan, and an empty account of what was read."""
        self.artifact = plan.artifact
        self.plan = plan
        self.index = index  # names its scratch copies (the name need not fit in a path)
        self.uri = uri
        self.options = {}
        self.source_column = None
        self.combine_strategy: str = plan.spec.combine_strategy
        self.sheet = plan.spec.sheet
        self.files = []
        self.scanned: list[SourceFile] | None = None  # the files before bad lines went
        self.bad: list[BadLine] = []
        self.counts: dict[str, FileCounts] = {}  # by shown name: records, set aside
        self.file_rows: dict[str, int] = {}  # by shown name: rows read
        self.contract = None
        self.summary: ColumnSummaries | None = None
        self.header_hint: str | None = None  # the fix for a header split wrong: set ``sep``
        self.recorded = False  # whether the manifest holds the record yet
        self.originals: list[tuple[str, Path]] = []  # (shown name, local path) once prepared

    @classmethod
    def open(
        cls,
        plan: InputPlan,
        index: int,
        input_dir: Path,
        override: str | None,
        start_dir: Path,
    ) -> InputSource:
        """The source for ``plan``; ``override`` (``--input NAME=PATH``) replaces its uri."""
        if override:
            return cls(plan, index, override, start_dir, override_format(plan, override))
        return cls(plan, index, plan.spec.uri, input_dir, plan.format)

    def _check_one_format(self) -> None:
        """A glob's files must all be of the input's format: a parquet file read as CSV
        would be garbage, not an error."""
        for f in self.files:
            implied = format_for_uri(split_compression(f.shown)[0])
            if implied is not None and get_format(implied).name != self.format.name:
                raise InputError(
                    f"input '{self.artifact}': {f.shown} is a {implied} file, but the input is "
                    f"read as {self.format.name} (uri {redacted(self.uri)!r}); one input's "
                    "files must be one format: narrow the uri "
                    f"(e.g. '*{self.format.extensions[0]}'), or make two inputs",
                    artifact=self.artifact,
                    file=f.shown,
                )

    # --- before reading -------------------------------------------------------------------

    def prepare(self, new_file: Callable[[str], Path]) -> None:
        """Copy a store's files into the scratch dir, then let the format make the files
        ready (UTF-8 copies, malformed records set aside)."""
        self.files = fetch(self.files, new_file)
        # The user's bytes (a store's file copied as it is), before any conversion: hashed.
        self.originals = [(f.shown, f.path) for f in self.files]
        prepare = getattr(self.format, "prepare", None)
        if prepare is None:
            return
        spec = self.plan.spec
        given = InputFiles(
            self.artifact,
            self.files,
            self.options,
            spec.on_bad_lines,
            spec.max_bad_lines,
            f"input{self.index}",
        )
        prepared = prepare(given, new_file)
        self.files, self.options = prepared.files, prepared.options
        self.bad, self.counts, self.scanned = prepared.bad, prepared.counts, prepared.scanned

    # --- reading ----------------------------------------------------------------------------

    def read(self) -> pa.Table:
        """The whole input (its files combined) as one Arrow table."""
        self.file_rows = {}
        return read_combined(
            self.artifact,
            self.format,
            self.files,
            self.combine_strategy,
            self.options,
            self.sheet,
            self.file_rows,
            self.source_column,
        )

    def chunks(self, chunk_rows: int) -> Iterator[pa.Table]:
        """The input in Arrow tables of ``chunk_rows`` rows, all with one schema."""
        self.file_rows = {}
        return stream_combined(
            self.artifact,
            self.format,
            self.files,
            self.combine_strategy,
            self.options,
            chunk_rows,
            self.sheet,
            self.file_rows,
            self.source_column,
        )

    def scan(self, on_batch: Callable[[Any], None] | None) -> Any | None:
        """The input as a checked polars query (the format's ``scan``: one file, no contract,
        no column of file names), or None: it is read by :meth:`read`. ``on_batch`` sees each
        batch of typed rows as it passes (the column summary)."""
        scan = getattr(self.format, "scan", None)
        if scan is None or self.contract is not None or self.source_column is not None:
            return None
        if len(self.files) != 1:
            return None
        found = scan(self.files[0].request(self.options, self.sheet), on_batch)
        if found is not None:
            self._check_header(list(found.schema.names))
        return found

    def took_scan(self, rows: int, columns: list[str], timing: Timing) -> None:
        """A scan verified: its rows and columns recorded as a read's are."""
        record = self.record
        fields = timing.fields()
        record.started_at, record.duration_s = fields["started_at"], fields["duration_s"]
        record.rows = rows
        record.columns = columns
        self.file_rows = {self.files[0].shown: rows}
        record.files = [self._file_record(f) for f in self.files]

    def start_over(self) -> None:
        """Forget what a scan recorded: the input is read again, by :meth:`read`."""
        self.record = InputRecord(redacted(self.uri), self.format.name, self.combine_strategy)
        self.summary = None
        self.file_rows = {}
        self.header_hint = None

    # --- what was read ----------------------------------------------------------------------

    def take(self, table: pa.Table, timing: Timing, summaries: bool, first: bool = True) -> Data:
        """A table (or chunk) just read, on its way out: the contract applied (which makes it
        a pandas frame), summarized, recorded; ``first`` for the first chunk."""
        data: pa.Table | pd.DataFrame = table
        if first:
            self._check_header(table.column_names)
        if self.contract is not None:
            data = self.contract.apply(as_pandas(table))
            try:
                self.contract.check_errors()
            except TraktError:
                self.finish()  # what was found so far, for the manifest
                raise
        if summaries:
            if self.summary is None:
                self.summary = ColumnSummaries()
            self.summary.add_data(data)
        record = self.record
        fields = timing.fields()
        record.started_at, record.duration_s = fields["started_at"], fields["duration_s"]
        record.rows = rows(data) + (0 if first else record.rows)
        record.columns = column_names(data)
        record.files = [self._file_record(f) for f in self.files]
        return data

    def _check_header(self, columns: list[str]) -> None:
        """A header read as one column holding another separator (``id;amount`` read with
        ``,``): a warning now (stderr, the manifest), the fix with any missing column later."""
        hint = getattr(self.format, "header_hint", None)
        names = [n for n in columns if n != self.source_column]
        self.header_hint = hint(names, self.options) if hint is not None else None
        if self.header_hint is None:
            return
        if self.contract is not None:
            self.contract.header_hint = self.header_hint
        else:  # in the manifest at once: a step may fail before the input is read to its end
            self.record.events = [self._warning(self.header_hint)]
        _log.warning("input '%s' (%s): %s", self.artifact, self.shown, self.header_hint)

    @property
    def shown(self) -> str:
        """The input's files, as the user named them."""
        return ", ".join(f.shown for f in self.files)

    def finish(self) -> None:
        """Once the input has been read (or failed): its contract's events recorded, with the
        warning of a header split wrong unless a missing column said it already."""
        if self.contract is None:
            return  # a header's warning is recorded as soon as it is seen
        events = [
            {"kind": kind, "message": message, "at": utc_now(), **attributes}
            for kind, message, attributes in self.contract.events()
        ]
        said = any(e["kind"] == "missing_column" for e in events)  # with the hint
        if self.header_hint is not None and not said:
            events.insert(0, self._warning(self.header_hint))
        self.record.events = events

    @staticmethod
    def _warning(hint: str) -> dict[str, Any]:
        return {"kind": "warning", "message": hint, "at": utc_now(), "rule": SEPARATOR_RULE}

    def _file_record(self, f: SourceFile) -> FileRecord:
        """One file: its records, how many were kept and set aside."""
        entry = FileRecord(f.shown, f.size)
        read = self.file_rows.get(f.shown)
        counted = self.counts.get(f.shown)
        if counted is not None:
            entry.records, entry.set_aside = counted.records, counted.set_aside
            entry.kept = counted.records - counted.set_aside if read is None else read
        elif read is not None:
            entry.records, entry.kept, entry.set_aside = read, read, 0
        return entry

    # --- quarantine -------------------------------------------------------------------------

    def contract_rows(self) -> list[BadLine]:
        """Rows the contract quarantined, each at its own file and line; counted as set aside
        in the manifest's file entries, like malformed records."""
        if self.contract is None:
            return []
        located = self.contract.rejected
        files = self.scanned if self.scanned is not None else self.files
        if self.combine_strategy == "latest":
            files = files[-1:]
        locate = getattr(self.format, "locate", None)
        if locate is not None:
            located = locate(located, files, self.file_rows, self.options)
        elif len(files) > 1:  # rows are numbered across the files: name each one's own
            located = [self._placed(row, files) for row in located]
        per_file: dict[str, int] = {}
        for row in located:
            per_file[row.file] = per_file.get(row.file, 0) + 1
        for entry in self.record.files:
            count = per_file.get(entry.path, 0)
            if count and entry.kept is not None and entry.set_aside is not None:
                entry.kept -= count  # kept + set_aside = records, as for bad lines
                entry.set_aside += count
        return located

    def _placed(self, row: BadLine, files: list[SourceFile]) -> BadLine:
        start = 0
        for f in files:
            count = self.file_rows.get(f.shown, 0)
            if start <= row.line - 2 < start + count:
                return replace(row, file=f.shown, line=row.line - start)
            start += count
        return row

    @property
    def encoding(self) -> str:
        """The encoding quarantined rows are written in: the input's own."""
        return str(self.options.get("encoding") or "utf-8")
