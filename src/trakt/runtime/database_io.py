"""Database inputs and outputs as the runtime's sources and targets.

:class:`DatabaseSource` is an input source whose rows come from a table or a query;
:class:`TableTarget` an output target whose rows go into a table, inside the run's one
transaction per database (:class:`DatabaseSessions`, owned by the run). The run commits every
database only when everything else succeeded, just before its files are published; a failed,
cancelled or killed run commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from trakt.errors import OutputError
from trakt.io.sql_read import DatabaseReader
from trakt.io.sql_urls import described, dialect, redacted_url
from trakt.io.sql_write import DatabaseSession, TableLoad
from trakt.runtime.adapter import Data, as_arrow, as_pandas, rows, settle
from trakt.runtime.contracts import ContractState
from trakt.runtime.datasets import InputPlan, OutputPlan
from trakt.runtime.inputs import InputSource
from trakt.runtime.manifest import InputRecord, OutputRecord, Timing, utc_now
from trakt.runtime.targets import OutputTarget


class DatabaseSessions:
    """The run's database sessions, one per database uri; committed or closed together."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.sessions: dict[str, DatabaseSession] = {}

    def session(self, uri: str) -> DatabaseSession:
        """The session (and transaction) for ``uri``, shared by every output to it."""
        if uri not in self.sessions:
            self.sessions[uri] = DatabaseSession(uri, self.base)
        return self.sessions[uri]

    def commit(self) -> None:
        """Commit every database, one after the other (no two-phase commit: see README)."""
        for session in self.sessions.values():
            session.commit()

    def close(self) -> None:
        """End every session; what was not committed is rolled back."""
        for session in self.sessions.values():
            session.close()


class DatabaseSource(InputSource):
    """One database input (see the module docstring)."""

    def __init__(self, plan: InputPlan, index: int, uri: str, base: Path) -> None:
        spec = plan.spec
        self._start(plan, index, uri)
        self.combine_strategy, self.sheet = "concat", None  # one table, no sheets
        self.reader = DatabaseReader(plan.artifact, uri, spec.table, spec.query, spec.params, base)
        shown = described(uri, spec.table, spec.query)
        self.contract = (
            ContractState(plan.artifact, spec.schema_, shown) if spec.schema_ is not None else None
        )
        self.record = InputRecord(redacted_url(uri), dialect(uri) or "", "concat")
        self.record.table, self.record.query = spec.table, spec.query

    def _check_header(self, columns: list[str]) -> None:
        """A table's columns are the database's: no header line to have been split wrong."""

    def scan(self, on_batch: Callable[[Any], None] | None) -> Any | None:
        """A database result is read by its reader, never scanned as a file."""
        return None

    def start_over(self) -> None:
        """Forget what was read: the result is read again."""
        self.summary = None
        self.record.rows, self.record.columns = 0, []

    def prepare(self, new_file: Callable[[str], Path]) -> None:
        """Connect and learn the result's columns: a missing table, a wrong password or an
        unreachable host fail the run before any data moves."""
        self.reader.schema()

    def read(self) -> pa.Table:
        """The whole table or query result."""
        return self.reader.read()

    def chunks(self, chunk_rows: int) -> Iterator[pa.Table]:
        """The result ``chunk_rows`` rows at a time, through a server-side cursor."""
        return self.reader.chunks(chunk_rows)


class TableTarget(OutputTarget):
    """One output written to a database table (see the module docstring)."""

    def __init__(self, plan: OutputPlan, sessions: DatabaseSessions) -> None:
        spec = plan.table
        assert spec is not None
        self.plan = plan
        self.name = plan.name
        self.spec = spec
        self.shown = f"{redacted_url(spec.uri)} table {spec.table}"
        keys = list(spec.upsert_keys) if spec.upsert_keys is not None else None
        self.load = TableLoad(
            sessions.session(spec.uri),
            plan.name,
            spec.table,
            spec.if_exists,
            keys,
            spec.create_table,
        )
        self.contract = (
            ContractState(plan.name, plan.schema_, plan.name, kind="output")
            if plan.schema_ is not None
            else None
        )
        self.summary = None
        self.writer = None
        self.created = False
        self.rows = 0
        self.timing = None
        self.events = None
        self.schema: pa.Schema | None = None

    @property
    def directory(self) -> bool:
        """A table is never a directory."""
        return False

    def preload(self) -> None:
        """Connect and check the table before any data moves (exists, if_exists, keys)."""
        self.load.check()

    def open(self) -> None:
        """Start timing; the table is created or emptied with the first rows."""
        self.timing = Timing.start()

    def write(self, data: Data, summaries: bool) -> None:
        """One table (batch) or chunk (stream): the contract applied, summarized, loaded."""
        data = settle(data)
        if self.contract is not None:
            data = self.contract.apply(as_pandas(data))
            self.contract.check_errors()
        if summaries:
            if self.summary is None:
                from trakt.runtime.summary import ColumnSummaries

                self.summary = ColumnSummaries()
            self.summary.add_data(data)
        table = as_arrow(data)
        self.schema = table.schema
        try:
            self.load.write(table)
        except OutputError as exc:
            exc.fields.setdefault("output", self.name)
            raise
        self.rows += rows(data)

    def close(self) -> None:
        """After the last chunk: the table made (or merged), uncommitted; contract events."""
        try:
            self.load.finish(self.schema)
        except OutputError as exc:
            exc.fields.setdefault("output", self.name)
            raise
        if self.contract is not None:
            self.events = [
                {"kind": kind, "message": message, "at": utc_now(), **attributes}
                for kind, message, attributes in self.contract.events()
            ]

    def record(self) -> OutputRecord:
        """The manifest's entry: the database (password redacted), table and rows."""
        assert self.timing is not None
        fields = self.timing.fields()
        record = OutputRecord(
            self.name,
            self.plan.from_,
            self.spec.dialect,
            redacted_url(self.spec.uri),
            self.shown,
            self.rows,
            0,
            fields["started_at"],
            fields["duration_s"],
            self.events,
            self.summary.to_dict() if self.summary is not None else None,
        )
        record.table = self.spec.table
        record.if_exists = "upsert" if self.spec.upsert_keys is not None else self.spec.if_exists
        return record

    def staged(self) -> tuple[str, Path]:
        """A table has no file to publish; the run commits its database instead."""
        raise AssertionError("a table target has nothing to stage")

    def discard(self) -> None:
        """Nothing to remove: the session's rollback undoes every write."""
