"""Batch mode: every artifact is whole, held once, in the form its producer gave: an Arrow
table (as read, or an Arrow step's), a pandas frame, or a polars DataFrame or LazyFrame
(consecutive polars steps extend one lazy query, run once where it is needed)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trakt.errors import TraktError
from trakt.io.base import is_pandas
from trakt.runtime.adapter import Data, is_lazy, is_polars, result_table, rows, step_input
from trakt.runtime.execution import Execution
from trakt.runtime.manifest import StepRecord
from trakt.runtime.planning import StepPlan
from trakt.runtime.scans import ScanMismatch, Scans, guarded, start_over
from trakt.runtime.shared_input import SharedInputGuard
from trakt.runtime.stepcalls import close_step_iterator, passes_through, step_failure
from trakt.runtime.stepcheck import (
    check_chunks,
    check_frame,
    check_outputs,
    concat_results,
    finish_failed,
)
from trakt.runtime.timeouts import deadline, is_timeout
from trakt.steps.builtins.spec import ROWS, SCANNED

_log = logging.getLogger("trakt.scans")


class BatchExecution(Execution):
    """Steps run one after another on whole frames; artifacts are dropped after last use and
    outputs are written as soon as their artifact exists."""

    def run_body(self) -> None:
        enabled = self.settings.scan_inputs
        self.scans: Scans | None = Scans(self) if enabled else None
        try:
            self._run_steps()
        except ScanMismatch as exc:
            # The exact reader reads every input now; a real problem is worded by it.
            _log.debug("the run starts over, every input read exactly: %s", exc)
            start_over(self)
            self.scans = None
            self._run_steps()

    def _run_steps(self) -> None:
        self.artifacts: dict[str, Data] = {}
        self.written: set[str] = set()
        # Bindings still to be handed each artifact: every one but the last gets a deep copy.
        self.readers_left = Counter(a for s in self.plan.steps for a in s.inputs.values())
        self.counts: dict[str, int] = {}  # rows of LazyFrame artifacts, counted once
        try:
            self._write_ready_outputs()
            for position, step in enumerate(self.plan.steps):
                self._run_step(step)
                self._write_ready_outputs()
                for artifact in self.plan.release_after.get(position, ()):
                    self.artifacts.pop(artifact, None)
            if self.scans is not None:
                self.scans.finish()
        finally:
            self.artifacts.clear()

    def _artifact(self, artifact: str) -> Data:
        if artifact not in self.artifacts and artifact in self.plan.inputs:
            query = self.scans.open(artifact) if self.scans is not None else None
            if query is not None:
                self.artifacts[artifact] = query
                return query
            self.artifacts[artifact] = self.read_whole(artifact)
            self.keeper.take(artifact, self.artifacts[artifact])
        return self.artifacts[artifact]

    def _run(self, artifact: str, run: Callable[[], Any], ran: Callable[[Any], bool]) -> Any:
        """A query over ``artifact`` run (scans it reads verified after, if ``ran``)."""
        return guarded(run, [artifact], self.scans, ran)

    def _rows(self, artifact: str, data: Data, record: StepRecord, fill: _Fill) -> int:
        """An artifact's rows; a query over a scan not run yet fills them in once it ran (0
        until then; ``record.counting`` says how many are still to come)."""
        if artifact in self.counts:
            return self.counts[artifact]
        if self.scans is not None and is_lazy(data) and self.scans.pending([artifact]):
            known = self.scans.count(artifact)
            if known is not None:  # a twin's, counted already
                return known
            record.counting += 1
            self.scans.wait(artifact, data, fill)
            return 0
        return rows(data)

    def _hand_out(self, artifact: str, frame: str) -> Any:
        """The artifact for one binding, in the step's library, which may change it in place
        without others seeing.

        Copy-on-write covers pandas' own methods, but not writes through ``.array`` or a
        numpy view made writable: a binding that is not the artifact's last reader gets a deep
        copy; the last one gets the frame itself (shallowly copied), as nobody reads it after.
        (Outputs are written as soon as their artifact exists, before any step reads it.)
        A LazyFrame goes on lazy to its one polars reader (fusion); with more readers, or for
        another library, its query runs once and every reader gets the result.
        """
        data = self._artifact(artifact)
        self.readers_left[artifact] -= 1
        more = self.readers_left[artifact] > 0
        if is_pandas(data) and frame == "pandas":
            return data.copy(deep=more)
        if is_lazy(data) and (more or frame != "polars"):
            data = self.artifacts[artifact] = self._collect(artifact, data)
        if not more:  # held once: as the step's frame only
            self.artifacts.pop(artifact, None)
        handed = step_input(data, frame)  # a new frame each time (polars: a clone)
        if is_lazy(handed) and self.scans is not None and self.scans.pending([artifact]):
            setattr(handed, SCANNED, True)  # a built-in extends it too
            setattr(handed, ROWS, lambda count: self._known(artifact, count))
        return handed

    def _collect(self, artifact: str, query: Any) -> Any:
        """A LazyFrame artifact's rows (its query run once)."""
        collected = self._run(artifact, query.collect, lambda _: True)
        self._known(artifact, collected.height)
        return collected

    def _known(self, artifact: str, count: int) -> None:
        """A LazyFrame artifact's rows, now that its query ran."""
        self.counts[artifact] = count
        if self.scans is not None:
            self.scans.known(artifact, count)

    def _run_step(self, step: StepPlan) -> None:
        # Inputs are read before the step starts: a read that fails is the input's failure.
        frames = {b: self._hand_out(a, step.frame) for b, a in step.inputs.items()}
        record, ctx = self.start_step(step)
        scanned = self.scans.pending(step.inputs.values()) if self.scans is not None else None
        try:
            record.rows_in = {}
            for b, f in frames.items():
                fill = _Fill(record, record.rows_in, b)
                record.rows_in[b] = self._rows(step.inputs[b], f, record, fill)
            if step.function.supports_stream and step.mode != "batch" and not scanned:
                produced = self._call_stream_step(step, ctx, frames)
            else:
                result = check_outputs(step, self.call(step, ctx, frames))
                produced = {b: check_frame(step, b, v) for b, v in result.items()}
                del result
            frames.clear()  # the inputs' frames are the step's no longer: freed before storing
            for binding, value in produced.items():
                produced[binding] = self._held(value)
            if scanned:
                self._scanned_step(step, produced)
            record.rows_out = {}
            for b, f in produced.items():
                fill = _Fill(record, record.rows_out, b)
                record.rows_out[b] = self._rows(step.outputs[b], f, record, fill)
        except ScanMismatch:
            raise
        except BaseException as exc:
            # Maybe the file: read it exactly (not for a timeout, which would only recur).
            if scanned and isinstance(exc, Exception) and not is_timeout(exc):
                raise ScanMismatch(f"step '{step.id}': {exc}") from exc
            finish_failed(record, ctx, exc, step.id)
            raise
        for binding, frame in produced.items():
            artifact = step.outputs[binding]
            self.artifacts[artifact] = frame
            if is_lazy(frame) and not (self.scans is not None and self.scans.waits(artifact)):
                self.counts[artifact] = record.rows_out[binding]
            self.keeper.take(artifact, frame)
        record.events = [e.to_dict() for e in ctx.events]
        record.finish("success")

    def _scanned_step(self, step: StepPlan, produced: dict[str, Data]) -> None:
        """A step that read a scan: its lazy outputs go on reading it; anything else means the
        step ran the query itself, so the scan is verified now. A built-in that keeps every
        row gives out its input's row count (no query of its own counts it)."""
        assert self.scans is not None
        lazy = {step.outputs[b] for b, v in produced.items() if is_lazy(v)}
        self.scans.derive(step.inputs.values(), step.outputs.values(), lazy)
        if getattr(step.function.fn, "keeps_rows", False) is True and len(step.inputs) == 1:
            (source,) = step.inputs.values()
            for artifact in lazy:
                self.scans.same(artifact, source)
        if len(lazy) < len(produced):
            self.scans.ran(step.inputs.values())

    @staticmethod
    def _held(value: Data) -> Data:
        """How a step's result is kept: as returned (a table's text as pandas' would be)."""
        return result_table(value) if isinstance(value, pa.Table) else value

    def _call_stream_step(
        self, step: StepPlan, ctx: Any, frames: dict[str, Any]
    ) -> dict[str, Data]:
        """A stream-capable step in a batch run: one-chunk iterators in, chunks concatenated."""
        streamed = step.function.stream_inputs
        whole = set(step.inputs) - set(step.inputs if streamed is None else streamed)
        guard = SharedInputGuard(step.id) if len(step.outputs) > 1 else None
        inputs = {
            b: f if b in whole else (guard.wrap(b, iter([f])) if guard else iter([f]))
            for b, f in frames.items()
        }
        result = check_outputs(step, self.call(step, ctx, inputs), "an iterator of DataFrames")
        if guard:
            guard.watch(result)
        produced: dict[str, Data] = {}
        for binding, value in result.items():
            chunks: list[Data] = []
            pulled = check_chunks(step, binding, value)
            try:
                with deadline(step):
                    for chunk in pulled:
                        chunks.append(check_frame(step, binding, chunk, f" (chunk {len(chunks)})"))
            except BaseException as exc:
                close_step_iterator(step, pulled, len(chunks), quiet=True)
                if isinstance(exc, TraktError) or passes_through(exc):
                    raise
                # sys.exit(), GeneratorExit, a custom BaseException in the generator
                raise step_failure(step, exc, len(chunks)) from exc
            close_step_iterator(step, pulled, None, quiet=False)
            produced[binding] = concat_results(chunks)
        return produced

    def _write_ready_outputs(self) -> None:
        """Write each output as soon as its artifact exists, so memory can be released."""
        for dataset in self.plan.outputs:
            if dataset.name in self.written:
                continue
            if dataset.from_ in self.plan.inputs or dataset.from_ in self.artifacts:
                target = self.targets[dataset.name]
                target.open()
                data = self._artifact(dataset.from_)
                if is_polars(data):
                    data = self._polars_for_output(dataset.name, dataset.from_, data)
                if data is not None:
                    target.write(data, self.settings.column_summaries)
                self.written.add(dataset.name)
                self.output_done(dataset.name)

    def _polars_for_output(self, name: str, artifact: str, frame: Any) -> Data | None:
        """A polars frame an output needs: sunk straight into the output (polars' streaming
        engine, no Arrow copy) when nothing else reads it and the output can take a query
        (None: written); else, a LazyFrame's query run once, the result kept for the others."""
        others = self.readers_left[artifact] > 0 or any(
            d.from_ == artifact and d.name != name and d.name not in self.written
            for d in self.plan.outputs
        )
        if not others:
            count = self.counts.get(artifact) if is_lazy(frame) else frame.height
            query = frame if is_lazy(frame) else frame.lazy()
            target, summaries = self.targets[name], self.settings.column_summaries
            sink = lambda: target.sink(query, count, summaries)  # noqa: E731
            written = self._run(artifact, sink, lambda rows: rows is not None)
            if written is not None:
                self._known(artifact, written)
                return None
        if not is_lazy(frame):
            return frame
        collected: Data = self._collect(artifact, frame)
        self.artifacts[artifact] = collected
        return collected


@dataclass(frozen=True)
class _Fill:
    """Sets one binding's row count once a query has counted it."""

    record: StepRecord
    counts: dict[str, int]
    binding: str

    def __call__(self, count: int) -> None:
        self.counts[self.binding] = count
        self.record.counting -= 1
