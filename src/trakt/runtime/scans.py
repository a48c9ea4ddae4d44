"""CSV inputs read as polars scans, in runs whose every step may run again (built-ins, and
steps with ``run.lazy = True``). In batch, a CSV input whose one reader is a polars step that
takes LazyFrames (``run.lazy``, and the built-ins select, rename, cast, derive, filter, join,
sort, dedupe, sql and aggregate) is handed to it as a query over the file
(:mod:`trakt.io.csv_scan`) instead of a table read whole. The step's query, and the polars
steps after it, then run in polars' streaming engine, usually straight into the output file,
in bounded memory. An intermediate result's row count is known when a built-in that keeps
every row made it (its input's count: :meth:`Scans.same`) or one that collects it counted it
(``ROWS``); the others are counted at the end, all in one polars call (another pass over the
file, one for them all).

The scan is verified once its rows have gone through (an output sunk, a frame collected):
the exact reader's table or nothing. Where it is not (a later value that does not fit the
type the first block gave, a short record, polars refusing the file), the run starts over
with every input read by the exact reader, which also words any error as usual; so a step
that takes LazyFrames may be called twice. Counts of rows that only the query knows
(``rows_in`` / ``rows_out`` of the steps on the way) are filled in when it has run.

Stream runs scan too, where every step may run again (built-ins, ``run.lazy``) and every
reader of the input streams it: the file is read in blocks of whole lines by polars
(:meth:`trakt.io.csv_scan.CsvScan.frames`), checked alike, and handed on as polars chunks of
exactly the chunk size; any failure while a scan was given up starts the run over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trakt.runtime.adapter import Data, is_lazy, rows
from trakt.runtime.manifest import Timing
from trakt.runtime.summary import BatchSummaries, ColumnSummaries
from trakt.steps.builtins.spec import SCANNED

if TYPE_CHECKING:
    from trakt.runtime.execution import Execution
    from trakt.runtime.inputs import InputSource
    from trakt.runtime.planning import ExecutionPlan, StepPlan

_log = logging.getLogger("trakt.scans")


class ScanMismatch(Exception):
    """A scanned input was not what its first block said, or polars refused it: the run
    starts over, every input read by the exact reader."""


@dataclass
class _Scan:
    source: InputSource
    scan: Any  # trakt.io.csv_scan.CsvScan
    summary: BatchSummaries | None
    timing: Timing
    verified: bool = False


@dataclass
class _Later:
    data: Data
    fills: list[Callable[[int], None]] = field(default_factory=list)


class Scans:
    """The scanned inputs of one batch run, which artifacts derive from them, and the row
    counts waiting for their queries to run."""

    def __init__(self, execution: Execution, stream: bool = False) -> None:
        self.execution = execution
        self.candidates = _stream_candidates(execution) if stream else _candidates(execution)
        self.gave_up = False  # a scan failed: whatever the attempt raised, start over
        self.scans: dict[str, _Scan] = {}
        self.lineage: dict[str, frozenset[str]] = {}  # artifact -> scans its query runs
        self.later: dict[str, _Later] = {}
        self.counted: dict[str, int] = {}  # row counts known (queries that ran, twins)
        # artifact -> the artifacts with as many rows (a step that keeps every row between)
        self.twins: dict[str, frozenset[str]] = {}

    def open(self, artifact: str) -> Any | None:
        """The input as a marked LazyFrame, or None: read it whole."""
        if artifact not in self.candidates:
            return None
        source = self.execution.sources[artifact]
        timing = Timing.start()
        summaries = self.execution.settings.column_summaries
        holder: list[BatchSummaries] = []
        try:
            found = source.scan(lambda batch: holder[0].add(batch) if holder else None)
        except Exception:  # the exact reader says what is wrong, in its words
            found = None
        if found is None:
            return None
        _log.debug("input '%s': read by a polars scan", artifact)
        if summaries:
            holder.append(BatchSummaries(found.query.collect_schema()))
        self.execution.manifest.inputs.setdefault(artifact, source.record)
        self.scans[artifact] = _Scan(source, found, holder[0] if holder else None, timing)
        self.lineage[artifact] = frozenset({artifact})
        query = found.query
        setattr(query, SCANNED, True)
        return query

    def pending(self, artifacts: Iterable[str]) -> frozenset[str]:
        """The unverified scans the queries of ``artifacts`` run."""
        found: set[str] = set()
        for artifact in artifacts:
            found |= {s for s in self.lineage.get(artifact, ()) if not self.scans[s].verified}
        return frozenset(found)

    def derive(self, inputs: Iterable[str], outputs: Iterable[str], lazy: set[str]) -> None:
        """A step ran: its ``lazy`` outputs' queries run what its inputs' run."""
        scans = self.pending(inputs)
        for artifact in outputs:
            if artifact in lazy and scans:
                self.lineage[artifact] = scans

    def wait(self, artifact: str, data: Data, fill: Callable[[int], None]) -> None:
        """``fill`` the artifact's row count once its query has run."""
        self.later.setdefault(artifact, _Later(data)).fills.append(fill)

    def count(self, artifact: str) -> int | None:
        """The artifact's row count where it is known already."""
        return self.counted.get(artifact)

    def same(self, artifact: str, as_: str) -> None:
        """``artifact`` has as many rows as ``as_`` (a step that keeps every row made one of
        the other): whichever count is known first is both's, and neither needs a query of
        its own to be counted."""
        twins = self.twins.get(artifact, frozenset({artifact}))
        twins |= self.twins.get(as_, frozenset({as_}))
        for name in twins:
            self.twins[name] = twins
        known = next((self.counted[n] for n in sorted(twins) if n in self.counted), None)
        if known is not None:
            self.known(artifact, known)

    def unverified(self) -> bool:
        """Whether a scan handed out rows that were never verified (a reader stopped early, or
        the attempt failed first): its rows cannot be trusted, the run starts over."""
        return any(not scanned.verified for scanned in self.scans.values())

    def waits(self, artifact: str) -> bool:
        """Whether the artifact's row count waits for its query to run."""
        return artifact in self.later

    def ran(self, artifacts: Iterable[str]) -> None:
        """The queries of ``artifacts`` ran: verify the scans they read (ScanMismatch)."""
        for name in sorted(self.pending(artifacts)):
            self._verify(name)

    def known(self, artifact: str, count: int) -> None:
        """An artifact's row count (and its twins'), now that its query ran."""
        for name in sorted(self.twins.get(artifact, frozenset({artifact}))):
            self.counted[name] = count
            waiting = self.later.pop(name, None)
            for fill in waiting.fills if waiting else ():
                fill(count)

    def finish(self) -> None:
        """Scans no query ran (a step's output nobody read) verified now, and the counts
        still waiting counted: the input is read, as the exact reader would have read it."""
        for name, scanned in self.scans.items():
            if not scanned.verified:
                self._verify(name)
        self._count_queries()
        while self.later:  # counting one counts its twins too (they leave ``later``)
            artifact = next(iter(self.later))
            self.known(artifact, rows(self.later[artifact].data))

    def _count_queries(self) -> None:
        """The waiting counts of queries, all in one go (one of each group of twins):
        polars runs what they share, the scan above all, once, not once a query."""
        queries: dict[str, Any] = {}
        for name, waiting in self.later.items():
            if is_lazy(waiting.data) and not self.twins.get(name, {name}) & queries.keys():
                queries[name] = waiting.data.select(_len())
        if not queries:
            return
        import polars as pl

        counts = pl.collect_all(list(queries.values()), engine="streaming")
        for name, count in zip(queries, counts, strict=True):
            self.known(name, int(count.item()))

    def chunks(self, artifact: str, chunk_rows: int) -> Iterator[Any]:
        """A scanned input in polars DataFrames of exactly ``chunk_rows`` rows (the last may
        be shorter; one empty frame for a file without rows), verified after the last."""
        import polars as pl

        scanned = self.scans[artifact].scan
        held: list[Any] = []
        size = 0
        given = False
        try:
            for batch in scanned.frames():
                held.append(batch)
                size += batch.height
                while size >= chunk_rows:
                    whole = pl.concat(held) if len(held) > 1 else held[0]
                    held = [whole.slice(chunk_rows)] if whole.height > chunk_rows else []
                    size -= chunk_rows
                    given = True
                    yield whole.slice(0, chunk_rows)
        except Exception as exc:  # polars refused the file
            self.gave_up = True
            raise ScanMismatch(f"polars: {exc}") from exc
        if size or not given:
            yield pl.concat(held) if held else pl.DataFrame(schema=scanned.query.collect_schema())
        self.ran([artifact])

    def _verify(self, name: str) -> None:
        scanned = self.scans[name]
        if not scanned.scan.tally.batches:
            # No query read it (its step's output nobody read, a SQL query that names another
            # input): read it through now, as the exact reader would have read it.
            try:
                scanned.scan.query.select(_len()).collect()
            except Exception as exc:
                self.gave_up = True
                raise ScanMismatch(f"polars: {exc}") from exc
        try:
            why = scanned.scan.verify()
        except Exception as exc:  # the byte count could not read the file
            why = f"the file could not be counted: {exc}"
        if why is not None:
            self.gave_up = True
            raise ScanMismatch(f"input '{name}': {why}")
        scanned.verified = True
        _log.debug("input '%s': the scan read what the exact reader reads", name)
        source = scanned.source
        count = scanned.scan.tally.rows
        source.took_scan(count, list(scanned.scan.schema.names), scanned.timing)
        if scanned.summary is not None:
            source.summary = ColumnSummaries()
            scanned.summary.into(source.summary)
        self.known(name, count)


def start_over(execution: Execution) -> None:
    """Everything an attempt wrote or recorded dropped, for another attempt that reads every
    input exactly: targets discarded and made anew, the manifest's steps, inputs and outputs
    cleared, the sources' records forgotten."""
    for target in execution.targets.values():
        target.discard()
    execution.targets = execution.new_targets()
    execution.current_step = None
    execution.manifest.steps.clear()
    execution.manifest.inputs.clear()
    execution.manifest.outputs.clear()
    for source in execution.sources.values():
        source.start_over()


def guarded(
    run: Callable[[], Any],
    artifacts: Iterable[str],
    scans: Scans | None,
    ran: Callable[[Any], bool] = lambda _: True,
) -> Any:
    """``run()``, a query over ``artifacts``; with scans among them, a failure is the
    scan's (the exact reader words it, or it recurs) and the scans are verified after, if
    ``ran(result)`` says the query did run (a sink that declined did not)."""
    names = list(artifacts)
    if scans is None or not scans.pending(names):
        return run()
    try:
        result = run()
    except Exception as exc:
        scans.gave_up = True
        raise ScanMismatch(f"polars: {exc}") from exc
    if ran(result):
        scans.ran(names)
    return result


def _len() -> Any:
    import polars as pl

    return pl.len()


def _may_start_over(execution: Execution) -> bool:
    """Whether a run can start over cleanly: no data contract, database or kept artifact, and
    every step one that may run again."""
    from trakt.runtime.inputs import InputSource

    plan, settings = execution.plan, execution.settings
    if settings.keep or any(d.table is not None or d.schema_ is not None for d in plan.outputs):
        return False
    sources = execution.sources.values()
    if any(type(s) is not InputSource or s.contract is not None for s in sources):
        return False
    return all(_again(step) for step in plan.steps)


def _stream_candidates(execution: Execution) -> set[str]:
    """Inputs a stream run may scan: CSV-like files every reader streams, in a run that can
    start over cleanly and whose every step may run again (built-ins, ``run.lazy``)."""
    plan = execution.plan
    if not _may_start_over(execution):
        return set()
    return {
        artifact
        for artifact, readers in _readers(plan).items()
        if readers and all(_streams(s, b) for s, b in readers)
    }


def _again(step: StepPlan) -> bool:
    """Whether a step may run again from the start: a built-in, or one that says so."""
    return step.function.lazy or getattr(step.function.fn, "builtin", None) is not None


def _streams(step: StepPlan, binding: str) -> bool:
    """Whether a stream run hands ``step`` the chunks of ``binding`` (not a whole frame)."""
    if step.mode == "batch" or not step.function.supports_stream:
        return False
    return step.function.stream_inputs is None or binding in step.function.stream_inputs


def _candidates(execution: Execution) -> set[str]:
    """Inputs that may be scanned: CSV-like files read by one lazy polars step only, in a run
    that can start over cleanly and whose every step may run again."""
    plan = execution.plan
    if not _may_start_over(execution):
        return set()
    return {
        artifact
        for artifact, readers in _readers(plan).items()
        if len(readers) == 1 and readers[0][0].frame == "polars" and readers[0][0].function.lazy
    }


def _readers(plan: ExecutionPlan) -> dict[str, list[tuple[StepPlan, str]]]:
    """Each input no output reads directly, with the (step, binding) pairs that read it."""
    direct = {d.from_ for d in plan.outputs}
    return {
        artifact: [(s, b) for s in plan.steps for b, a in s.inputs.items() if a == artifact]
        for artifact in plan.inputs
        if artifact not in direct
    }
