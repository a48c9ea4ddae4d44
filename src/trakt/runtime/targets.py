"""Output targets: one object per output dataset, owning its format, location, writer
options, contract, column summary and manifest entry.

A target writes into the temporary place its output location gives it (in a local output
dir ``.trakt-tmp-<run>-<file name>``, never through a link); :meth:`OutputTarget.staged`
hands that place to the run's publish, which moves every target's file into place at once
(all or nothing); :meth:`OutputTarget.discard` removes it. Batch and stream runs write
through the same writer: one table, or one per chunk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from trakt.errors import OutputError
from trakt.io import Format, TableWriter, get_format
from trakt.io.badlines import BadLine
from trakt.runtime.adapter import Data, as_arrow, as_pandas, is_lazy, is_polars, rows, settle
from trakt.runtime.contracts import ContractState
from trakt.runtime.datasets import OutputPlan
from trakt.runtime.manifest import OutputRecord, Timing, utc_now
from trakt.runtime.output_location import OutputLocation
from trakt.runtime.safefs import create_new
from trakt.runtime.summary import BatchSummaries, ColumnSummaries


class OutputTarget:
    """One output dataset (see the module docstring)."""

    def __init__(
        self, plan: OutputPlan, location: OutputLocation, shown_dir: str, run_id: str
    ) -> None:
        self.plan = plan
        self.name = plan.name
        self.format: Format = get_format(plan.format)
        self.output_dir = location.path
        self.final = location.path / plan.path
        self.shown = str(Path(shown_dir or location.path) / plan.path)
        self.temp = location.temporary(run_id, plan.path)
        self.contract = (
            ContractState(plan.name, plan.schema_, plan.name, kind="output")
            if plan.schema_ is not None
            else None
        )
        self.summary: ColumnSummaries | None = None
        self.writer: TableWriter | None = None
        self.created = False
        self.rows = 0
        self.timing: Timing | None = None
        self.events: list[dict[str, Any]] | None = None

    @property
    def directory(self) -> bool:
        """Whether the format writes this output as a directory (e.g. partitioned)."""
        writes_directory = getattr(self.format, "writes_directory", None)
        return bool(writes_directory(self.plan.options)) if writes_directory else False

    def preload(self) -> None:
        """Let the format get ready in the background (import its writer's library)."""
        preload = getattr(self.format, "preload", None)
        if preload is not None:
            preload()

    def open(self) -> None:
        """Create the temporary place and open the format's writer on it."""
        self.timing = Timing.start()
        try:
            if not self.directory:  # a directory is created by the writer (mkdir: no link)
                create_new(self.temp, "temporary output")
            self.created = True
            self.writer = self.format.open_writer(self.temp, self.plan.options)
        except OutputError as exc:
            exc.fields.setdefault("output", self.name)
            raise
        except OSError as exc:  # e.g. ENAMETOOLONG: the name is the output's
            raise OutputError(
                f"cannot write output '{self.name}' in {self.output_dir}: "
                f"{exc.strerror or exc}; choose a shorter output name or output dir",
                output=self.name,
                file=str(self.output_dir),
            ) from None

    def write(self, data: Data, summaries: bool) -> None:
        """One table (batch) or chunk (stream): the contract applied, summarized, written."""
        assert self.writer is not None, "open() first"
        if self.contract is None and is_polars(data) and not is_lazy(data):
            write_frame = getattr(self.writer, "write_frame", None)
            if write_frame is not None and write_frame(data):  # no Arrow copy in between
                if summaries:
                    if self.summary is None:
                        self.summary = ColumnSummaries()
                    self.summary.add_polars(data)
                self.rows += data.height
                return
        data = settle(data)  # a polars frame: Arrow, zero-copy (a LazyFrame collected)
        if self.contract is not None:
            data = self.contract.apply(as_pandas(data))
            self.contract.check_errors()
        if summaries:
            if self.summary is None:
                self.summary = ColumnSummaries()
            self.summary.add_data(data)
        try:
            self.writer.write(as_arrow(data))
        except OutputError as exc:
            exc.fields.setdefault("output", self.name)
            raise
        self.rows += rows(data)

    def sink(self, query: Any, count: int | None, summaries: bool) -> int | None:
        """Write a polars LazyFrame straight into the file where the format's writer can and
        no contract has to see the rows; its summary (and row count, where not known) added
        up from the batches on their way into the file, so the source is read once. The rows
        written, or None: nothing written."""
        sink = getattr(self.writer, "sink", None)  # a database table has no file writer
        if sink is None or self.contract is not None:
            return None
        tally = BatchSummaries(query.collect_schema()) if summaries or count is None else None
        try:
            found = sink(tally.passing(query) if tally is not None else query)
        except OutputError as exc:
            exc.fields.setdefault("output", self.name)
            raise
        if found is None:
            return None
        written = count
        if tally is not None:
            row = tally.found()
            written = int(row["rows"]) if count is None else count
            if summaries:
                if self.summary is None:
                    self.summary = ColumnSummaries()
                self.summary.add_found(tally.schema, row)
        assert written is not None
        self.rows += written
        return written

    def close(self) -> None:
        """Finish the file (footers, compression trailers); the events of its contract."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.close()
            except OutputError as exc:
                exc.fields.setdefault("output", self.name)
                raise
        if self.contract is not None:
            self.events = [
                {"kind": kind, "message": message, "at": utc_now(), **attributes}
                for kind, message, attributes in self.contract.events()
            ]

    def record(self) -> OutputRecord:
        """The manifest's entry for this output, once written."""
        assert self.timing is not None
        fields = self.timing.fields()
        return OutputRecord(
            self.name,
            self.plan.from_,
            self.format.name,
            self.final.as_uri(),
            self.shown,
            self.rows,
            _size(self.temp),
            fields["started_at"],
            fields["duration_s"],
            self.events,
            self.summary.to_dict() if self.summary is not None else None,
        )

    def quarantined(self) -> list[BadLine]:
        """Rows the output's contract set aside."""
        return list(self.contract.rejected) if self.contract is not None else []

    def staged(self) -> tuple[str, Path]:
        """(file name in the output dir, temporary place) for the run's publish."""
        return self.plan.path, self.temp

    def discard(self) -> None:
        """Remove what this run wrote (best effort, never raising)."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None
        if not self.created:
            return
        if self.temp.is_dir() and not self.temp.is_symlink():
            shutil.rmtree(self.temp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                self.temp.unlink(missing_ok=True)


def _size(path: Path) -> int:
    """A file's size, or the total of a directory's files."""
    if path.is_dir() and not path.is_symlink():
        return sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, files in os.walk(path)
            for name in files
        )
    return path.stat().st_size
