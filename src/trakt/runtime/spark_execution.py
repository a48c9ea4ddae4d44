"""One run of a plan on Spark: the local runner's execution (sources, targets, quarantine,
all-or-nothing publish, manifest) with steps as Spark DataFrame operations.

Steps are wired lazily in plan order; nothing runs until the outputs are pulled. Each output
is pulled partition by partition in order and written on the driver by the same
:class:`OutputTarget` writer as a local run: the same bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from trakt.errors import InputError, OutputError, StepError, TraktError, UsageError
from trakt.runtime import spark_counts, spark_parts
from trakt.runtime.adapter import as_arrow
from trakt.runtime.execution import Execution, RunSettings
from trakt.runtime.manifest import Manifest, StepRecord, Timing
from trakt.runtime.planning import ExecutionPlan, StepPlan
from trakt.runtime.spark_arrow import (
    arrow_schema,
    blobs_of,
    from_spark,
    plain_type,
    spark_schema,
    to_spark,
)
from trakt.runtime.spark_driver import run_on_driver
from trakt.runtime.spark_native import native, native_counts
from trakt.runtime.spark_read import TypingJob, local_head, read_csv, spark_readable, typed
from trakt.runtime.spark_ship import ship
from trakt.runtime.spark_steps import (
    SAMPLE_ROWS,
    Branches,
    PartitionJob,
    collect,
    declared_schema,
    map_partitions,
    mapped_blobs,
    pull_mapped,
    sample_output,
    side_value,
)
from trakt.runtime.stepcheck import finish_failed


class SparkExecution(Execution):
    """A plan executed on a SparkSession (see the module docstring)."""

    def __init__(
        self,
        settings: RunSettings,
        plan: ExecutionPlan,
        manifest: Manifest,
        spark: Any,
        max_driver_rows: int,
        output: str = "file",
    ) -> None:
        super().__init__(settings, plan, manifest)
        self.spark = spark
        self.max_driver_rows = max_driver_rows
        self.parts = output == "parts"

    def run_body(self) -> None:
        spark = self.spark
        conf = spark.conf
        conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(self.settings.chunk_rows))
        conf.set("spark.sql.execution.pandas.convertToArrowArraySafely", "true")
        self.counts = spark.sparkContext.accumulator({}, spark_counts.LastWins())
        self.frames: dict[str, Any] = {}
        self.spark_read: dict[str, Timing] = {}
        self.readers = Counter(a for s in self.plan.steps for a in s.inputs.values())
        self.readers.update(d.from_ for d in self.plan.outputs)
        self.readers.update(self.settings.keep)  # kept: read once more, so cached
        self.cached: list[Any] = []
        self.samples: dict[str, pa.Table] = {}
        # a Spark-read input -> its files' text DataFrames with their typing jobs
        self.text_reads: dict[
            str, list[tuple[Any, TypingJob]]
        ] = {}  # artifact -> its first rows, on the driver
        # artifact -> (input DataFrame, job) of the executor step producing it
        self.mapped: dict[str, tuple[Branches, PartitionJob]] = {}
        self.distributed: list[StepPlan] = []
        self.native: list[StepPlan] = []  # built-in steps run as Spark operations
        try:
            for target in self.targets.values() if self.parts else ():
                refused = spark_parts.refusal(target)
                if refused is not None:
                    raise UsageError(refused)
            for step in self.plan.steps:
                self._wire(step)
            for dataset in self.plan.outputs:
                self._write(dataset.name, dataset.from_)
            for artifact in self.settings.keep:
                self.keeper.take(artifact, self._kept(artifact))
        except BaseException as exc:
            self._settle("aborted", exc)
            raise
        finally:
            for df in self.cached:
                df.unpersist()
            self._record_counts()
        self._settle("success", None)

    # --- artifacts ----------------------------------------------------------------------

    def _frame(self, artifact: str) -> Any:
        if artifact not in self.frames:
            self.frames[artifact] = self._keep(artifact, self._read(artifact))
        return self.frames[artifact]

    def _keep(self, artifact: str, df: Any) -> Any:
        """An artifact read more than once is cached, so its steps run once."""
        if self.readers[artifact] > 1:
            df = df.cache()
            self.cached.append(df)
        return df

    def _read(self, artifact: str) -> Any:
        source = self.sources[artifact]
        csv = spark_readable(source)
        if csv is not None:
            self.spark_read[artifact] = Timing.start()
            self.manifest.inputs.setdefault(artifact, source.record)
            head = local_head(source, SAMPLE_ROWS)
            self.samples[artifact] = head
            branches = read_csv(self.spark, source, csv, self.counts, head)
            self.text_reads[artifact] = branches
            return typed(branches)
        timing = Timing.start()
        tables: list[pa.Table] = []
        for table in source.chunks(self.settings.chunk_rows):
            data = self.take_input(source, table, timing, not tables)
            tables.append(as_arrow(data))
        source.finish()
        self.samples[artifact] = tables[0].slice(0, SAMPLE_ROWS)
        return to_spark(self.spark, tables, tables[0].schema)

    # --- steps --------------------------------------------------------------------------

    def _wire(self, step: StepPlan) -> None:
        record, ctx = self.start_step(step)
        try:
            streamed = _streamed_binding(step)
            if streamed is None or step.mode == "batch":
                produced = run_on_driver(self, step, record, ctx)
                record.finish("success")
            else:
                produced = {next(iter(step.outputs)): self._distribute(step, streamed)}
                if step not in self.native:
                    self.distributed.append(step)
        except BaseException as exc:
            error = self._translated(exc)
            finish_failed(record, ctx, error, step.id)
            if getattr(error, "fields", {}).get("step_id", step.id) != step.id:
                record.status = "aborted"  # an upstream step failed while this one collected
            if error is exc:
                raise
            raise error from None
        for binding, df in produced.items():
            artifact = step.outputs[binding]
            self.frames[artifact] = self._keep(artifact, df)

    def _distribute(self, step: StepPlan, streamed: str) -> Any:
        df = self._frame(step.inputs[streamed])
        side = {}
        for binding, artifact in step.inputs.items():
            if binding != streamed:
                table = collect(
                    self._frame(artifact), self.max_driver_rows, f"side input '{binding}'", step.id
                )
                side[binding] = side_value(self.spark, table)
        fn = step.function.fn
        ref = ship(fn, self.scratch / "spark", self.spark.sparkContext.addPyFile)
        job = PartitionJob(
            ref, step.index, step.id, step.uses, dict(step.inputs), dict(step.outputs),
            dict(step.params), streamed, side, None, self.manifest.run_id,
            self.plan.pipeline.name, self.counts, self.plan.mode == "batch", step.frame,
            step.timeout_s,
        )  # fmt: skip
        schema = declared_schema(fn)
        if schema is None:
            # Rows known on the driver (an input's head, an upstream step's sample output)
            # spare a Spark job; else the first rows are pulled.
            sample = self.samples.get(step.inputs[streamed])
            if sample is None:
                sample = collect(df.limit(SAMPLE_ROWS), SAMPLE_ROWS, "a sample", step.id)
            produced = sample_output(job, fn, sample)
            self.samples[step.outputs[next(iter(step.outputs))]] = produced
            schema = produced.schema
        done = native(step, df) if not side else None
        if done is not None and _types(arrow_schema(done.schema)) == _types(schema):
            self.native.append(step)  # no Python on the executors
            return done
        branches: Branches = [(df, None)]
        source = step.inputs[streamed]
        if self._stateful(step):
            # One partition in input order: the step sees every chunk, in order, as locally.
            branches = [(df.coalesce(1), None)]
        elif source in self.text_reads and self.readers[source] == 1:
            branches = list(self.text_reads[source])  # typed and stepped in one pass
        job = _with_schema(job, schema)
        self.mapped[step.outputs[next(iter(step.outputs))]] = (branches, job)
        return map_partitions(branches, job)

    def _stateful(self, step: StepPlan) -> bool:
        spec = next((s for s in self.plan.pipeline.spec.steps if s.id == step.id), None)
        declared = getattr(spec, "stateful", None)
        if declared is not None:
            return bool(declared)
        return bool(getattr(step.function.fn, "stateful", False))

    # --- outputs ------------------------------------------------------------------------

    def _write(self, name: str, artifact: str) -> None:
        target = self.targets[name]
        parts = None
        try:
            mapped = self.mapped.get(artifact)
            single = mapped is not None and self.readers[artifact] == 1
            if self.parts and spark_parts.takes_parts(target):
                if mapped is not None and single:
                    blobs, struct = mapped_blobs(*mapped), spark_schema(mapped[1].schema)
                else:
                    df = self._frame(artifact)
                    blobs, struct = blobs_of(df), df.schema
                parts = spark_parts.write_parts(target, blobs, arrow_schema(struct))
            else:
                target.open()
                # a step whose output is read once: step and pull in one pass
                tables = pull_mapped(*mapped) if mapped and single else None
                for table in tables or from_spark(self._frame(artifact)):
                    target.write(table, self.settings.column_summaries)
        except Exception as exc:
            error = self._translated(exc)
            if error is exc:
                raise
            raise error from None
        self.output_done(name)
        if parts is not None:
            record = self.manifest.outputs[-1]
            record.directory, record.parts = True, parts

    def _kept(self, artifact: str) -> pa.Table:
        """A kept artifact on the driver (``keep=``), at most ``max_driver_rows`` rows."""
        tables: list[pa.Table] = []
        for table in from_spark(self._frame(artifact)):
            tables.append(table)
            if sum(t.num_rows for t in tables) > self.max_driver_rows:
                raise UsageError(
                    f"keep={artifact!r}: the artifact has more than spark.max_driver_rows = "
                    f"{self.max_driver_rows} rows to bring to the driver; keep a smaller "
                    "artifact, write it as an output, or raise the limit (--spark-conf "
                    "spark.max_driver_rows=N, SparkRunner(max_driver_rows=N))"
                )
        return pa.concat_tables(tables)

    def _translated(self, exc: BaseException) -> BaseException:
        """A Spark job's failure as the error a local run raises (the executor's marker)."""
        if isinstance(exc, TraktError) or not isinstance(exc, Exception):
            return exc
        found = spark_counts.read_failure(exc)
        if found is None:
            return exc
        message = str(found.pop("message"))
        kind = found.pop("kind")
        if kind == "input":
            return InputError(message, **found)
        if kind == "output":
            return OutputError(message, **found)
        if kind == "import":
            message = (
                f"step '{found['step_id']}': {message}; ship the step package with "
                "--spark-conf spark.submit.pyFiles=steps.zip (or install it on the "
                "executors)"
            )
        return StepError(message, **found)

    # --- the manifest -------------------------------------------------------------------

    def _settle(self, status: str, exc: BaseException | None) -> None:
        failed = getattr(exc, "fields", {}).get("step_id") if exc is not None else None
        values = self.counts.value if hasattr(self, "counts") else {}
        for record in self.manifest.steps:
            if record.status != "running":
                continue
            record.events = [*record.events, *spark_counts.events(values, record.id)]
            record.finish("failed" if record.id == failed else status)

    def _record_counts(self) -> None:
        values = self.counts.value
        for step in self.distributed:
            record = _record(self.manifest.steps, step.id)
            for what, into in (("in", record.rows_in), ("out", record.rows_out)):
                for binding in spark_counts.bindings(values, what, step.id):
                    into[binding] = spark_counts.total(values, what, step.id, binding)
            record.extra = {"runner": "spark", "where": "executors", "plan": "mapInArrow"}
        for artifact, timing in self.spark_read.items():
            source = self.sources[artifact]
            entry = source.record
            fields = timing.fields()
            entry.started_at, entry.duration_s = fields["started_at"], fields["duration_s"]
            source.file_rows = {
                f.shown: spark_counts.total(values, "input", artifact, f.shown)
                for f in source.files
            }
            entry.rows = sum(source.file_rows.values())
            entry.files = [source._file_record(f) for f in source.files]
            if artifact in self.frames:
                entry.columns = list(self.frames[artifact].columns)
        if self.native:
            native_counts(self, values)


def _types(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """Names and the types Spark maps (nullability aside: Spark knows a count is never null)."""
    return [(f.name, plain_type(f.type)) for f in schema]


def _with_schema(job: PartitionJob, schema: pa.Schema) -> PartitionJob:
    from dataclasses import replace

    return replace(job, schema=schema)


def _record(records: list[StepRecord], step_id: str) -> StepRecord:
    return next(r for r in records if r.id == step_id)


def _streamed_binding(step: StepPlan) -> str | None:
    """The one binding a stream step takes chunk by chunk, if it can run on executors (one
    streamed input, one output); None: it runs on the driver."""
    function = step.function
    if not function.supports_stream or len(step.outputs) != 1:
        return None
    streamed = [
        b for b in step.inputs if function.stream_inputs is None or b in function.stream_inputs
    ]
    return streamed[0] if len(streamed) == 1 else None
