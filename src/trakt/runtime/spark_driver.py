"""A step that cannot run per partition (batch-only, several streamed inputs or outputs, or
``mode: batch``) runs on the Spark driver: its inputs collected (at most
``spark.max_driver_rows`` rows each), the step called as in a local batch run, its outputs
handed back to Spark. The manifest gets a ``warning`` event saying how many rows came in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trakt.runtime.adapter import as_arrow, rows, step_input
from trakt.runtime.context import StepContext
from trakt.runtime.manifest import StepRecord
from trakt.runtime.planning import StepPlan
from trakt.runtime.spark_arrow import to_spark
from trakt.runtime.spark_steps import collect
from trakt.runtime.stepcheck import check_chunks, check_frame, check_outputs, concat_results

if TYPE_CHECKING:
    from trakt.runtime.spark_execution import SparkExecution


def run_on_driver(
    execution: SparkExecution, step: StepPlan, record: StepRecord, ctx: StepContext
) -> dict[str, Any]:
    """Run ``step`` on the driver; its outputs as DataFrames, by binding."""
    frames = {
        binding: step_input(
            collect(
                execution._frame(artifact),
                execution.max_driver_rows,
                f"its input '{binding}'",
                step.id,
            ),
            step.frame,
        )
        for binding, artifact in step.inputs.items()
    }
    collected = sum(rows(f) for f in frames.values())
    record.rows_in = {b: rows(f) for b, f in frames.items()}
    ctx.emit_event(
        "warning",
        f"step '{step.id}' ran on the Spark driver: {collected} rows collected "
        f"(limit spark.max_driver_rows = {execution.max_driver_rows} per input)",
        rows=collected,
        runner="spark",
    )
    produced = _call(execution, step, ctx, frames)
    record.rows_out = {b: rows(f) for b, f in produced.items()}
    record.extra = {"runner": "spark", "where": "driver", "collected_rows": collected}
    record.events = [e.to_dict() for e in ctx.events]
    out = {}
    for binding, frame in produced.items():
        table = as_arrow(frame)
        out[binding] = to_spark(execution.spark, [table], table.schema)
    return out


def _call(
    execution: SparkExecution, step: StepPlan, ctx: StepContext, frames: dict[str, Any]
) -> dict[str, Any]:
    """The step called as a local batch run calls it (a stream-capable one over one chunk)."""
    function = step.function
    if step.mode == "batch" or not function.supports_stream:
        result = check_outputs(step, execution.call(step, ctx, frames))
        return {b: check_frame(step, b, v) for b, v in result.items()}
    streamed = function.stream_inputs
    whole = set(step.inputs) - set(step.inputs if streamed is None else streamed)
    inputs = {b: f if b in whole else iter([f]) for b, f in frames.items()}
    result = check_outputs(step, execution.call(step, ctx, inputs), "an iterator of DataFrames")
    return {
        binding: concat_results(
            [check_frame(step, binding, c) for c in check_chunks(step, binding, value)]
        )
        for binding, value in result.items()
    }
