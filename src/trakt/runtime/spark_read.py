"""Inputs on Spark. A CSV input (see io/spark_csv.py) is read by Spark itself, file by file
in sorted order (one DataFrame per file, unioned: partition order is row order), every column
as text, and typed on the executors by the schema Trakt's own reader fixes for it (the same
missing-value markers, the same types); any other input is read by Trakt on the driver and
handed over.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trakt.io.spark_csv import SparkCsv, read_text, spark_csv, typed_column
from trakt.runtime.inputs import InputSource
from trakt.runtime.spark_arrow import plain_type, spark_schema
from trakt.runtime.spark_counts import failure, partition_id


def spark_readable(source: InputSource) -> SparkCsv | None:
    """How Spark reads this input itself, or None: read by Trakt (another format, a contract,
    a file-name column, options or files Spark's reader would not take the same way)."""
    if source.contract is not None or source.source_column:
        return None
    if source.combine_strategy not in ("concat", "latest"):
        return None
    if any(f.store is not None for f in source.files):
        return None
    return spark_csv(source.format.name, source.options)


def local_head(source: InputSource, rows: int) -> pa.Table:
    """The input's first ``rows`` rows as Trakt's stream reader gives them (its schema fixed
    from every file's header and first block, types unified), in the types Spark holds: the
    schema Spark is given, and a sample for steps' output schemas."""
    chunks = source.chunks(rows)
    try:
        first = next(iter(chunks))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    source.file_rows = {}
    schema = pa.schema([pa.field(f.name, plain_type(f.type)) for f in first.schema])
    return first.cast(schema)


@dataclass(frozen=True)
class TypingJob:
    """What an executor needs to type one file's text columns (picklable)."""

    artifact: str
    file: str
    schema: pa.Schema
    markers: tuple[str, ...]
    counts: Any


def typed_batches(job: TypingJob, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Text batches typed as the local reader types them; rows counted per file."""
    rows = 0
    markers = pa.array(job.markers, pa.string())
    try:
        for batch in batches:
            columns = [
                typed_column(batch.column(i), field.type, markers)
                for i, field in enumerate(job.schema)
            ]
            rows += batch.num_rows
            yield pa.RecordBatch.from_arrays(columns, schema=job.schema)
    except (pa.ArrowException, ValueError) as exc:
        raise failure(
            kind="input", artifact=job.artifact, file=job.file,
            message=f"input '{job.artifact}': {job.file}: {exc}",
        ) from None  # fmt: skip
    finally:
        pid = partition_id()
        if pid >= 0:
            job.counts.add({("input", job.artifact, job.file, pid): rows})


def read_csv(
    spark: Any, source: InputSource, csv: SparkCsv, counts: Any, head: pa.Table
) -> list[tuple[Any, TypingJob]]:
    """The input's files as Spark reads them (text columns), each with the job that types
    its batches as ``head`` is typed (see the module docstring); :func:`typed` unions them."""
    schema = head.schema
    text = spark_schema(pa.schema([pa.field(f.name, pa.string()) for f in schema]))
    files = source.files[-1:] if source.combine_strategy == "latest" else source.files
    return [
        (read_text(spark, f.path, text, csv),
         TypingJob(source.artifact, f.shown, schema, csv.markers, counts))
        for f in files
    ]  # fmt: skip


def typed(branches: list[tuple[Any, TypingJob]]) -> Any:
    """The files typed and unioned in order: the input as one DataFrame."""
    frames = [
        df.mapInArrow(functools.partial(typed_batches, job), spark_schema(job.schema))
        for df, job in branches
    ]
    return functools.reduce(lambda a, b: a.union(b), frames)
