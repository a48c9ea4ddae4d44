"""Batch mode: every artifact is whole, held once, in the form its producer gave: an Arrow
table (as read, or an Arrow step's), a pandas frame, or a polars DataFrame or LazyFrame
(consecutive polars steps extend one lazy query, run once where it is needed)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import pyarrow as pa

from trakt.errors import TraktError
from trakt.runtime.adapter import Data, is_lazy, is_polars, result_table, rows, step_input
from trakt.runtime.execution import Execution
from trakt.runtime.planning import StepPlan
from trakt.runtime.shared_input import SharedInputGuard
from trakt.runtime.stepcalls import close_step_iterator, passes_through, step_failure
from trakt.runtime.stepcheck import (
    check_chunks,
    check_frame,
    check_outputs,
    concat_results,
    finish_failed,
)
from trakt.runtime.timeouts import deadline


class BatchExecution(Execution):
    """Steps run one after another on whole frames; artifacts are dropped after last use and
    outputs are written as soon as their artifact exists."""

    def run_body(self) -> None:
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
        finally:
            self.artifacts.clear()

    def _artifact(self, artifact: str) -> Data:
        if artifact not in self.artifacts and artifact in self.plan.inputs:
            self.artifacts[artifact] = self.read_whole(artifact)
            self.keeper.take(artifact, self.artifacts[artifact])
        return self.artifacts[artifact]

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
        if isinstance(data, pd.DataFrame) and frame == "pandas":
            return data.copy(deep=more)
        if is_lazy(data) and (more or frame != "polars"):
            data = self.artifacts[artifact] = data.collect()
        if not more:  # held once: as the step's frame only
            self.artifacts.pop(artifact, None)
        return step_input(data, frame)  # a new frame each time (polars: a clone)

    def _run_step(self, step: StepPlan) -> None:
        # Inputs are read before the step starts: a read that fails is the input's failure.
        frames = {b: self._hand_out(a, step.frame) for b, a in step.inputs.items()}
        record, ctx = self.start_step(step)
        try:
            record.rows_in = {
                b: self.counts.get(step.inputs[b]) or rows(f) for b, f in frames.items()
            }
            if step.function.supports_stream and step.mode != "batch":
                produced = self._call_stream_step(step, ctx, frames)
            else:
                result = check_outputs(step, self.call(step, ctx, frames))
                produced = {b: check_frame(step, b, v) for b, v in result.items()}
                del result
            frames.clear()  # the inputs' frames are the step's no longer: freed before storing
            for binding, value in produced.items():
                produced[binding] = self._held(value)
            record.rows_out = {b: rows(f) for b, f in produced.items()}
        except BaseException as exc:
            finish_failed(record, ctx, exc, step.id)
            raise
        for binding, frame in produced.items():
            artifact = step.outputs[binding]
            self.artifacts[artifact] = frame
            if is_lazy(frame):
                self.counts[artifact] = record.rows_out[binding]
            self.keeper.take(artifact, frame)
        record.events = [e.to_dict() for e in ctx.events]
        record.finish("success")

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
            if self.targets[name].sink(query, count, self.settings.column_summaries):
                return None
        if not is_lazy(frame):
            return frame
        collected: Data = frame.collect()
        self.artifacts[artifact] = collected
        return collected
