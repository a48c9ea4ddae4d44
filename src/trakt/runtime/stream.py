"""Stream mode: artifacts are lazy iterators of DataFrame chunks.

Wiring: steps are called once, in plan order, with chunk iterators for their streamed inputs;
they return iterators. Nothing is read until the driver pulls. Driving: the driver pulls one
chunk from each sink (output writers, and a drain for artifacts nobody consumes) in turn, so a
chunk flows from reader through every step to the writer before the next one is read.

Fan-out: an artifact read by several consumers is split into branches
(:class:`trakt.runtime.fanout.Fanout`). Because every sink advances one chunk per turn, the
branches advance together and only the chunks in flight are held. (A branch that consumes
everything before yielding — an aggregation — makes its siblings buffer; materialized inputs
are read separately where they come from a file.)
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from trakt.errors import TraktError
from trakt.io.base import is_pandas
from trakt.runtime.adapter import Data, passed_on, result_table, rows, step_input
from trakt.runtime.context import StepContext
from trakt.runtime.execution import Execution
from trakt.runtime.fanout import Fanout
from trakt.runtime.manifest import StepRecord, Timing
from trakt.runtime.planning import StepPlan
from trakt.runtime.scans import Scans, start_over
from trakt.runtime.shared_input import SharedInputGuard
from trakt.runtime.stepcalls import close_step_iterator, passes_through, step_failure
from trakt.runtime.stepcheck import (
    check_chunks,
    check_frame,
    check_outputs,
    claim,
    concat_results,
    finish_failed,
)
from trakt.runtime.targets import OutputTarget
from trakt.runtime.timeouts import deadline, is_timeout

Chunks = Iterator[Data]
_log = logging.getLogger("trakt.scans")


@dataclass
class _Sink:
    artifact: str
    chunks: Chunks
    target: OutputTarget | None = None  # None drains an unused artifact


@dataclass
class _StepState:
    record: StepRecord
    ctx: StepContext
    open_outputs: set[str] = field(default_factory=set)


def _streamed(step: StepPlan, binding: str) -> bool:
    if step.mode == "batch" or not step.function.supports_stream:
        return False
    return step.function.stream_inputs is None or binding in step.function.stream_inputs


class StreamExecution(Execution):
    """Steps wired as chunk iterators and driven chunk by chunk (see the module docstring)."""

    def run_body(self) -> None:
        enabled = self.settings.scan_inputs
        self.scans: Scans | None = Scans(self, stream=True) if enabled else None
        try:
            self._run_once()
        except Exception as exc:
            # A scanned input not verified yet may be what failed (a value the first block did
            # not foresee reached a step): the exact reader reads every input now, and words
            # a real problem; a step's own failure recurs (a timeout, not tried again).
            if self.scans is None or is_timeout(exc):
                raise
            if not (self.scans.gave_up or self.scans.unverified()):
                raise
            _log.debug("the run starts over, every input read exactly: %s", exc)
        else:
            if self.scans is None or not self.scans.unverified():
                return
            # A reader stopped early: the rows it got were never verified.
            _log.debug("the run starts over, every input read exactly: a scan was not verified")
        start_over(self)
        self.scans = None
        self._run_once()

    def _run_once(self) -> None:
        self.whole: dict[str, Data] = {}
        self.generators: list[Generator[Any, None, None]] = []
        self.branches: dict[str, list[Chunks]] = {}
        self.fanout = self._count_branches()
        # Steps still to be handed each whole frame: all but the last get a deep copy.
        self.whole_left = Counter(
            a for s in self.plan.steps for b, a in s.inputs.items() if not _streamed(s, b)
        )
        self.manifest.stream_chunk_size = self.settings.chunk_rows
        sinks: list[_Sink] = []
        driven = False
        try:
            for step in self.plan.steps:
                self._wire(step)
            self.whole.clear()  # the steps that needed whole frames hold them now
            for d in self.plan.outputs:
                target = self.targets[d.name]
                target.open()
                sinks.append(_Sink(d.from_, self._branch(d.from_), target))
            sinks += [_Sink(a, self._branch(a)) for a, n in self.fanout.items() if n == 0]
            self._drive(sinks)
            driven = True
        except BaseException:
            self._settle("aborted")
            raise
        finally:
            self._close_all(raise_failure=driven)
        # A step whose consumer stopped reading early has done all that was asked of it.
        self._settle("success")
        for sink in sinks:
            if sink.target is not None:
                self.output_done(sink.target.name)

    def _close_all(self, raise_failure: bool) -> None:
        """Close every chain now (readers, prefetch threads, open files, steps' generators),
        not whenever the garbage collector finds the cycle that a failure's traceback makes.
        All are closed even if one fails; the first failure (a step's cleanup) is raised."""
        first: BaseException | None = None
        for generator in reversed(self.generators):
            try:
                generator.close()
            except BaseException as exc:
                first = first or exc
        if first is not None and raise_failure:
            raise first

    # --- wiring -------------------------------------------------------------------------

    def _count_branches(self) -> dict[str, int]:
        """How many streaming branches each artifact needs (0: produced but never read)."""
        count: dict[str, int] = {a: 0 for s in self.plan.steps for a in s.outputs.values()}
        whole: set[str] = set()
        streamed: set[str] = set()
        for step in self.plan.steps:
            for binding, artifact in step.inputs.items():
                if _streamed(step, binding):
                    count[artifact] = count.get(artifact, 0) + 1
                    streamed.add(artifact)
                else:
                    whole.add(artifact)
        # An input no step streams is read whole, on its own; one that a step streams is
        # read once, and the whole frame gathered from a branch of that stream.
        # (An output streaming it does not count: its branch would have to buffer the file.)
        self.read_whole_inputs = set(self.plan.inputs) - streamed
        whole -= self.read_whole_inputs
        for artifact in whole:
            count[artifact] = count.get(artifact, 0) + 1
        for dataset in self.plan.outputs:
            count[dataset.from_] = count.get(dataset.from_, 0) + 1
        return count

    def _track(self, chunks: Any) -> Any:
        self.generators.append(chunks)
        return chunks

    def _provide(self, artifact: str, chunks: Chunks) -> None:
        n = max(self.fanout.get(artifact, 0), 1)
        chunks = self.keeper.wrap(artifact, chunks)
        branches = Fanout(chunks, n).branches() if n > 1 else [chunks]
        self.branches[artifact] = [self._track(b) for b in branches]

    def _branch(self, artifact: str) -> Chunks:
        if artifact not in self.branches:
            self._provide(artifact, self._track(self._read(artifact)))
        return self.branches[artifact].pop()

    def _read(self, artifact: str) -> Chunks:
        query = self.scans.open(artifact) if self.scans is not None else None
        if query is not None:  # polars DataFrames, checked as they pass (runtime/scans.py)
            assert self.scans is not None
            yield from self.scans.chunks(artifact, self.settings.chunk_rows)
            return
        source = self.sources[artifact]
        timing = Timing.start()
        first = True
        for table in source.chunks(self.settings.chunk_rows):
            data = self.take_input(source, table, timing, first)
            first = False
            yield data
        source.finish()

    def _whole_frame(self, artifact: str) -> Data:
        if artifact not in self.whole:
            if artifact in self.read_whole_inputs:
                data = self.read_whole(artifact)
                self.keeper.take(artifact, data)
            else:
                data = concat_results(list(self._branch(artifact)))
            self.whole[artifact] = data
        return self.whole[artifact]

    def _hand_out_whole(self, artifact: str, frame: str) -> Any:
        """A whole frame for one binding, in the step's library: a deep copy unless it is the
        last to get it, so in-place writes (``.array``, writable numpy views) stay its own."""
        data = self._whole_frame(artifact)
        self.whole_left[artifact] -= 1
        more = self.whole_left[artifact] > 0
        if is_pandas(data) and frame == "pandas":
            return data.copy(deep=more)
        return step_input(data, frame)  # a new frame each time

    def _wire(self, step: StepPlan) -> None:
        record, ctx = self.start_step(step)
        state = _StepState(record, ctx)
        try:
            if step.mode == "batch" or not step.function.supports_stream:
                self._wire_batch_step(step, state)
            else:
                self._wire_stream_step(step, state)
        except BaseException as exc:
            finish_failed(record, ctx, exc, step.id)
            raise

    def _wire_stream_step(self, step: StepPlan, state: _StepState) -> None:
        record = state.record
        record.chunks_in, record.chunks_out = {}, {}
        inputs: dict[str, Any] = {}
        guard = SharedInputGuard(step.id) if len(step.outputs) > 1 else None
        for binding, artifact in step.inputs.items():
            if _streamed(step, binding):
                counted = self._count_in(record, binding, self._branch(artifact), step.frame)
                inputs[binding] = self._track(guard.wrap(binding, counted) if guard else counted)
            else:
                frame = self._hand_out_whole(artifact, step.frame)
                record.rows_in[binding] = rows(frame)
                inputs[binding] = frame
        result = check_outputs(
            step, self.call(step, state.ctx, inputs), "an iterator of DataFrames"
        )
        if guard:
            guard.watch(result)
        state.open_outputs = set(result)
        for binding, value in result.items():
            record.chunks_out[binding] = 0
            record.rows_out[binding] = 0
            chunks = self._track(
                self._count_out(step, state, binding, check_chunks(step, binding, value))
            )
            self._provide(step.outputs[binding], chunks)
        if not result:
            self._finish(state)

    def _wire_batch_step(self, step: StepPlan, state: _StepState) -> None:
        """``mode: batch``: materialize this step's inputs on purpose; its outputs stream on."""
        frames = {b: self._hand_out_whole(a, step.frame) for b, a in step.inputs.items()}
        state.record.rows_in = {b: rows(f) for b, f in frames.items()}
        materialized = sum(state.record.rows_in.values())
        state.record.extra = {"mode": "batch", "materialized_rows": materialized}
        result = check_outputs(step, self.call(step, state.ctx, frames))
        for binding, value in result.items():
            frame = passed_on(check_frame(step, binding, value))
            state.record.rows_out[binding] = rows(frame)
            chunks = self._track(_frame_chunks(frame, self.settings.chunk_rows))
            self._provide(step.outputs[binding], chunks)
        self._finish(state)

    # --- counting and failure attribution -------------------------------------------------

    @staticmethod
    def _count_in(record: StepRecord, binding: str, chunks: Chunks, library: str) -> Chunks:
        assert record.chunks_in is not None
        for chunk in chunks:
            record.current_chunk = record.chunks_in.get(binding, 0)
            record.chunks_in[binding] = record.current_chunk + 1
            frame = step_input(chunk, library)
            record.rows_in[binding] = record.rows_in.get(binding, 0) + rows(frame)
            yield frame

    def _count_out(self, step: StepPlan, state: _StepState, binding: str, chunks: Any) -> Chunks:
        record = state.record
        counts = record.chunks_out
        assert counts is not None

        def at() -> int:
            """The chunk being worked on: the input chunk taken last, else the output's."""
            return record.current_chunk if record.current_chunk is not None else counts[binding]

        try:
            while True:
                try:
                    with deadline(step, at):
                        chunk = next(chunks)
                    frame = passed_on(
                        check_frame(step, binding, chunk, f" (chunk {counts[binding]})")
                    )
                except StopIteration:
                    break
                except TraktError as exc:
                    claim(exc, step.id)
                    if exc.fields.get("step_id") == step.id:
                        exc.fields.setdefault("chunk_index", at())
                    self._abort(state, exc)
                    raise
                except BaseException as exc:  # sys.exit(), GeneratorExit, ... fail the step
                    if passes_through(exc):
                        raise
                    error = step_failure(step, exc, at())
                    self._abort(state, error)
                    raise error from exc
                counts[binding] += 1
                record.rows_out[binding] += rows(frame)
                yield frame
        except GeneratorExit:  # closed at the end of the run: the step's cleanup runs now
            self._close_step(step, state, chunks, at(), quiet=False)
            raise
        except BaseException:
            self._close_step(step, state, chunks, at(), quiet=True)
            raise
        self._close_step(step, state, chunks, None, quiet=False)
        state.open_outputs.discard(binding)
        if not state.open_outputs:
            self._finish(state)

    def _close_step(
        self, step: StepPlan, state: _StepState, chunks: Any, at: int | None, quiet: bool
    ) -> None:
        try:
            close_step_iterator(step, chunks, at, quiet)
        except TraktError as exc:
            self._abort(state, exc)
            raise

    def _settle(self, status: str) -> None:
        """Close the records of steps still marked running when the driving ends."""
        for record in self.manifest.steps:
            if record.status == "running":
                record.finish(status)

    @staticmethod
    def _abort(state: _StepState, exc: TraktError) -> None:
        if state.record.status != "running":
            return
        own = exc.fields.get("step_id") == state.record.id
        state.record.events = [e.to_dict() for e in state.ctx.events]
        state.record.finish("failed" if own else "aborted")

    @staticmethod
    def _finish(state: _StepState) -> None:
        state.record.events = [e.to_dict() for e in state.ctx.events]
        state.record.finish("success")

    # --- driving ------------------------------------------------------------------------

    def _drive(self, sinks: list[_Sink]) -> None:
        active = list(sinks)
        while active:
            for sink in list(active):
                chunk = next(sink.chunks, None)
                if chunk is None:
                    active.remove(sink)
                    continue
                if sink.target is not None:
                    sink.target.write(chunk, self.settings.column_summaries)


def _frame_chunks(frame: Data, chunk_rows: int) -> Chunks:
    if not is_pandas(frame):  # polars or Arrow: zero-copy slices of the table
        table = result_table(frame)
        if table.num_rows <= chunk_rows:
            yield table
            return
        for offset in range(0, table.num_rows, chunk_rows):
            yield table.slice(offset, chunk_rows)
        return
    if len(frame) <= chunk_rows:
        yield frame
        return
    for offset in range(0, len(frame), chunk_rows):
        yield frame.iloc[offset : offset + chunk_rows]
