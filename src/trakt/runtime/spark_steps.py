"""Steps on Spark: a stream-capable step per partition (``mapInArrow``; the step sees Trakt's
own pandas frames, converted by the same adapter as locally), a stateful one over a single
partition in input order, and a batch-only one on the driver.

The one place a step is called on Spark: :func:`run_partition` (executors, and the driver
for a schema sample) and :meth:`DriverSteps.call` (driver).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trakt.errors import StepError, TraktError
from trakt.runtime.adapter import as_arrow, step_input
from trakt.runtime.context import make_context
from trakt.runtime.planning import StepPlan
from trakt.runtime.spark_arrow import (
    conform,
    decode,
    encode,
    encoded,
    from_spark,
    plain_type,
    spark_schema,
)
from trakt.runtime.spark_counts import failure, partition_id
from trakt.runtime.spark_read import TypingJob, typed_batches
from trakt.runtime.spark_ship import StepRef, load
from trakt.runtime.stepcalls import passes_through, step_failure
from trakt.runtime.stepcheck import check_chunks, check_frame, check_outputs
from trakt.runtime.timeouts import deadline
from trakt.steps.resolve import describe

SAMPLE_ROWS = 1000
_END = object()  # a step's chunks are over
# Side inputs above this size are broadcast rather than captured in every task's closure:
# measured by benchmarks/spark_side_input.py (local[2], a 32-task job), the closure costs
# nothing measurable up to 1.1 MB of IPC bytes and 0.4 s per job at 37 MB (README: Spark).
BROADCAST_BYTES = 1 << 20


@dataclass(frozen=True)
class PartitionJob:
    """Everything an executor needs to run one stream step on its partition (picklable)."""

    ref: StepRef
    index: int
    step_id: str
    uses: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    params: Mapping[str, Any]
    streamed: str  # the binding fed chunk by chunk
    side: Mapping[str, Any]  # binding -> Arrow IPC bytes, or a Broadcast of them
    schema: pa.Schema | None  # None: as the step gives it (the driver's sample run)
    run_id: str
    pipeline: str
    counts: Any  # the run's accumulator (None on the driver)
    # Batch mode: the partition is one chunk (a stateful step's: the whole input, as a local
    # batch run hands a stream-capable step one chunk).
    whole: bool = False
    frame: str = "pandas"  # the library the step's chunks and side inputs arrive in
    timeout_s: float | None = None  # the step's timeout_s, per call and chunk pull


def _plan(job: PartitionJob, fn: Any) -> StepPlan:
    return StepPlan(
        job.index, job.step_id, job.uses, describe(fn, job.uses), job.inputs, job.outputs,
        job.params, frame=job.frame, timeout_s=job.timeout_s,
    )  # fmt: skip


def run_partition(
    job: PartitionJob, batches: Iterable[pa.RecordBatch], fn: Any = None
) -> Iterator[pa.RecordBatch]:
    """Run the step over one partition's batches; yield its output as Arrow batches."""
    pid = partition_id()
    try:
        fn = fn if fn is not None else load(job.ref)
    except ImportError as exc:
        raise failure(kind="import", step_id=job.step_id, uses=job.uses, message=str(exc)) from None
    step = _plan(job, fn)
    ctx = make_context(job.run_id, job.pipeline, job.step_id)
    rows = {"in": 0, "out": 0, "chunk": -1}

    if job.whole:
        batches = _one_batch(batches)

    def frames() -> Iterator[Any]:
        for batch in batches:
            rows["in"] += batch.num_rows
            rows["chunk"] += 1
            yield step_input(pa.Table.from_batches([batch]), job.frame)

    try:
        side = {
            b: step_input(decode(getattr(v, "value", v)), job.frame) for b, v in job.side.items()
        }
        with deadline(step):  # timeout_s, as locally: the call, then every chunk pulled
            produced = fn(ctx, **{job.streamed: frames()}, **side, **job.outputs, **job.params)
        result = check_outputs(step, produced, "an iterator of DataFrames")
        (binding,) = job.outputs
        chunks = iter(check_chunks(step, binding, result[binding]))
        while True:
            with deadline(step, None if job.whole else lambda: _chunk(rows)):
                chunk = next(chunks, _END)
            if chunk is _END:
                break
            table = as_arrow(check_frame(step, binding, chunk))
            if job.schema is not None:
                table = _conformed(step, table, job.schema)
            rows["out"] += table.num_rows
            yield from table.to_batches()
    except TraktError as exc:
        kept = {k: exc.fields[k] for k in ("exception_type", "chunk_index") if k in exc.fields}
        raise failure(kind="trakt", step_id=job.step_id, message=exc.message, **kept) from None
    except BaseException as exc:
        if passes_through(exc):
            raise
        chunk = rows["chunk"] if rows["chunk"] >= 0 else None
        error = step_failure(step, exc, chunk)
        raise failure(kind="step", step_id=job.step_id, message=error.message,
                      exception_type=type(exc).__name__) from None  # fmt: skip
    finally:
        if job.counts is not None and pid >= 0:
            job.counts.add(
                {
                    ("in", job.step_id, job.streamed, pid): rows["in"],
                    ("out", job.step_id, next(iter(job.outputs)), pid): rows["out"],
                    ("events", job.step_id, "", pid): [e.to_dict() for e in ctx.events],
                }
            )


def _chunk(rows: dict[str, int]) -> int | None:
    """The input chunk being worked on (a stream run's index within the partition)."""
    return rows["chunk"] if rows["chunk"] >= 0 else None


def _one_batch(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    listed = list(batches)
    if listed:
        yield pa.Table.from_batches(listed).combine_chunks().to_batches()[0]


def _conformed(step: StepPlan, table: pa.Table, schema: pa.Schema) -> pa.Table:
    try:
        return conform(table, schema)
    except (ValueError, pa.ArrowException) as exc:
        raise StepError(
            f"step '{step.id}' gave a chunk that does not fit the output schema "
            f"{_shown(schema)} taken from a sample of its first rows: {exc}; declare "
            "run.output_schema (a pyarrow.Schema) on the step",
            step_id=step.id,
        ) from None


def _shown(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def declared_schema(fn: Any) -> pa.Schema | None:
    """``run.output_schema`` as Arrow: a pyarrow.Schema, or a mapping of names to types."""
    declared = getattr(fn, "output_schema", None)
    if declared is None or isinstance(declared, pa.Schema):
        return declared
    return pa.schema([(str(k), v) for k, v in dict(declared).items()])


def sample_output(job: PartitionJob, fn: Any, sample: pa.Table) -> pa.Table:
    """The step's output for a sample of real rows, run on the driver: its schema is the
    step's output schema (all-null columns typed as string), its rows the next sample."""
    tables = [
        pa.Table.from_batches([b])
        for b in run_partition(job, sample.to_batches(max_chunksize=SAMPLE_ROWS), fn)
    ]
    if not tables:
        raise StepError(
            f"step '{job.step_id}' gave no rows for a sample of {sample.num_rows} rows, so "
            "Spark cannot tell its output columns; declare run.output_schema "
            "(a pyarrow.Schema) on the step",
            step_id=job.step_id,
        )
    merged = pa.concat_tables(tables, promote_options="permissive")
    schema = pa.schema([pa.field(f.name, plain_type(f.type)) for f in merged.schema])
    return merged.cast(schema).slice(0, SAMPLE_ROWS)


# Where a step's rows come from: DataFrames, each with the job typing its text batches first
# (a CSV input's files, typed and stepped in one Python pass) or None (already typed).
Branches = list[tuple[Any, TypingJob | None]]


def run_branch(
    typing: TypingJob | None, job: PartitionJob, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """Type the batches if need be, then run the step over them."""
    return run_partition(job, typed_batches(typing, batches) if typing else batches)


def _union(frames: list[Any]) -> Any:
    return functools.reduce(lambda a, b: a.union(b), frames)


def map_partitions(branches: Branches, job: PartitionJob) -> Any:
    """The step applied to every partition (lazily), branches unioned in order."""
    assert job.schema is not None
    struct = spark_schema(job.schema)
    return _union(
        [df.mapInArrow(functools.partial(run_branch, t, job), struct) for df, t in branches]
    )


def mapped_blobs(branches: Branches, job: PartitionJob) -> Any:
    """The step applied to every partition and its output serialized, in one Python pass
    per partition (typing, step and serialization together): a DataFrame of IPC blobs."""
    return _union([encoded(df, functools.partial(run_branch, t, job)) for df, t in branches])


def pull_mapped(branches: Branches, job: PartitionJob) -> Iterator[pa.Table]:
    """The step applied to every partition, its output pulled in partition order."""
    assert job.schema is not None
    blobs = mapped_blobs(branches, job)
    return from_spark(blobs, blobs, spark_schema(job.schema))


def collect(df: Any, limit: int, what: str, step_id: str) -> pa.Table:
    """``df`` on the driver as one Arrow table (partition order), at most ``limit`` rows."""
    tables: list[pa.Table] = []
    count = 0
    for table in from_spark(df):
        count += table.num_rows
        if count > limit:
            raise StepError(
                f"step '{step_id}' needs {what} whole on the Spark driver, but it has more "
                f"than spark.max_driver_rows = {limit} rows; make the step stream-capable "
                "(run.supports_stream = True) or raise the limit (--spark-conf "
                "spark.max_driver_rows=N, SparkRunner(max_driver_rows=N))",
                step_id=step_id,
                max_driver_rows=limit,
            )
        tables.append(table)
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def side_value(spark: Any, table: pa.Table) -> Any:
    """A side input for the executors: its bytes, broadcast when large."""
    blob = encode(table)
    return spark.sparkContext.broadcast(blob) if len(blob) > BROADCAST_BYTES else blob
