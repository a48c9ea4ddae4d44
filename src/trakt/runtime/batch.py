"""Batch mode: every artifact is whole (an Arrow table as read, or a step's pandas frame)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from trakt.errors import TraktError
from trakt.runtime.adapter import Data, step_frame
from trakt.runtime.execution import Execution
from trakt.runtime.planning import StepPlan
from trakt.runtime.shared_input import SharedInputGuard
from trakt.runtime.stepcalls import close_step_iterator, passes_through, step_failure
from trakt.runtime.stepcheck import (
    check_chunks,
    check_frame,
    check_outputs,
    concat_chunks,
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

    def _hand_out(self, artifact: str) -> pd.DataFrame:
        """The artifact for one binding, which may change it in place without others seeing.

        Copy-on-write covers pandas' own methods, but not writes through ``.array`` or a
        numpy view made writable: a binding that is not the artifact's last reader gets a deep
        copy; the last one gets the frame itself (shallowly copied), as nobody reads it after.
        (Outputs are written as soon as their artifact exists, before any step reads it.)
        """
        data = self._artifact(artifact)
        self.readers_left[artifact] -= 1
        more = self.readers_left[artifact] > 0
        if isinstance(data, pd.DataFrame):
            return data.copy(deep=more)
        if not more:  # held once: as the step's frame only
            self.artifacts.pop(artifact, None)
        return step_frame(data)  # a new frame each time

    def _run_step(self, step: StepPlan) -> None:
        # Inputs are read before the step starts: a read that fails is the input's failure.
        frames = {b: self._hand_out(a) for b, a in step.inputs.items()}
        record, ctx = self.start_step(step)
        try:
            record.rows_in = {b: len(f) for b, f in frames.items()}
            if step.function.supports_stream and step.mode != "batch":
                produced = self._call_stream_step(step, ctx, frames)
            else:
                result = check_outputs(step, self.call(step, ctx, frames))
                produced = {b: check_frame(step, b, v) for b, v in result.items()}
        except BaseException as exc:
            finish_failed(record, ctx, exc, step.id)
            raise
        for binding, frame in produced.items():
            self.artifacts[step.outputs[binding]] = frame
            self.keeper.take(step.outputs[binding], frame)
        record.rows_out = {b: len(f) for b, f in produced.items()}
        record.events = [e.to_dict() for e in ctx.events]
        record.finish("success")

    def _call_stream_step(
        self, step: StepPlan, ctx: Any, frames: dict[str, pd.DataFrame]
    ) -> dict[str, pd.DataFrame]:
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
        produced = {}
        for binding, value in result.items():
            chunks: list[pd.DataFrame] = []
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
            produced[binding] = concat_chunks(chunks)
        return produced

    def _write_ready_outputs(self) -> None:
        """Write each output as soon as its artifact exists, so memory can be released."""
        for dataset in self.plan.outputs:
            if dataset.name in self.written:
                continue
            if dataset.from_ in self.plan.inputs or dataset.from_ in self.artifacts:
                target = self.targets[dataset.name]
                target.open()
                target.write(self._artifact(dataset.from_), self.settings.column_summaries)
                self.written.add(dataset.name)
                self.output_done(dataset.name)
