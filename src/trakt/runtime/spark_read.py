"""Inputs on Spark. A CSV input is read by Spark itself, file by file in sorted order (one
DataFrame per file, unioned: partition order is row order), every column as text, and typed
on the executors by the schema Trakt's own reader fixes for it (the same missing-value
markers, the same types); any other input is read by Trakt on the driver and handed over.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trakt.io.csv_option_rules import DEFAULT_NA
from trakt.runtime.inputs import InputSource
from trakt.runtime.spark_arrow import plain_type, spark_schema
from trakt.runtime.spark_counts import failure, partition_id

# Reader options Spark's CSV reader is given the same meaning for; any other: read by Trakt.
SPARK_CSV_OPTIONS = frozenset({"sep", "delimiter", "quotechar", "na_values", "keep_default_na"})
_BLOCK = 64 << 20


def spark_readable(source: InputSource) -> bool:
    """Whether Spark reads this input itself (plain CSV in UTF-8, no contract, no file-name
    column, options Spark's reader takes the same way)."""
    encoding = str(source.options.get("encoding") or "utf-8").lower().replace("-", "")
    return (
        source.format.name == "csv"
        and source.contract is None
        and not source.source_column
        and source.combine_strategy in ("concat", "latest")
        and encoding == "utf8"
        and set(source.options) - {"encoding"} <= SPARK_CSV_OPTIONS
        and all(f.store is None for f in source.files)
    )


def null_markers(options: dict[str, Any]) -> list[str]:
    """The values read as missing (as the local reader's options say)."""
    markers = [str(v) for v in options.get("na_values") or []]
    if options.get("keep_default_na", True):
        markers += DEFAULT_NA
    return markers


def local_schema(source: InputSource) -> pa.Schema:
    """The schema Trakt's stream reader fixes for the input (every file's header and first
    block looked at, types unified), as Spark can hold it."""
    chunks = source.chunks(1)
    try:
        first = next(iter(chunks))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    source.file_rows = {}
    return pa.schema([pa.field(f.name, plain_type(f.type)) for f in first.schema])


def quoted_line_breaks(path: Path, quote: str = '"') -> bool:
    """Whether a quoted field spans lines (an odd count of quotes before a line break), so
    Spark must read the file whole (``multiLine``) rather than split it."""
    mark = ord(quote)
    carry = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.cumsum(data == mark, dtype=np.uint8)  # parity survives the wrap
            breaks = np.flatnonzero(data == 10)
            if breaks.size and bool(((quotes[breaks] + carry) & 1).any()):
                return True
            carry = (carry + int(quotes[-1])) & 1
    return False


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
                _typed(batch.column(i), field.type, markers) for i, field in enumerate(job.schema)
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


def _typed(column: pa.Array, kind: pa.DataType, markers: pa.Array) -> pa.Array:
    # Spark gives an unquoted empty field as null: it is the text "" (a marker by default).
    text = pc.fill_null(column, "")
    if len(markers):
        text = pc.if_else(pc.is_in(text, value_set=markers), pa.scalar(None, pa.string()), text)
    return text if pa.types.is_string(kind) else pc.cast(text, kind, safe=True)


def read_csv(spark: Any, source: InputSource, counts: Any) -> Any:
    """The input as a DataFrame read by Spark (see the module docstring)."""
    schema = local_schema(source)
    options = source.options
    quote = str(options.get("quotechar") or '"')
    text = spark_schema(pa.schema([pa.field(f.name, pa.string()) for f in schema]))
    markers = tuple(null_markers(options))
    files = source.files[-1:] if source.combine_strategy == "latest" else source.files
    frames = []
    for f in files:
        df = spark.read.csv(
            str(f.path),
            schema=text,
            header=True,
            enforceSchema=True,
            sep=str(options.get("sep") or options.get("delimiter") or ","),
            quote=quote,
            escape=quote,  # "" inside quotes, as everywhere but Spark's default (backslash)
            nullValue="\x00trakt-never\x00",
            emptyValue="",
            multiLine=quoted_line_breaks(f.path, quote),
            mode="FAILFAST",
            encoding="UTF-8",
            ignoreLeadingWhiteSpace=False,
            ignoreTrailingWhiteSpace=False,
        )
        job = TypingJob(source.artifact, f.shown, schema, markers, counts)
        frames.append(df.mapInArrow(functools.partial(typed_batches, job), spark_schema(schema)))
    return functools.reduce(lambda a, b: a.union(b), frames)
