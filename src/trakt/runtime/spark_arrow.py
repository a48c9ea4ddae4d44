"""Arrow tables into and out of Spark DataFrames, in order, by public 3.5 API only.

Out: each partition's batches are serialized (Arrow IPC) on the executors and pulled a group
of partitions at a time (``runJob``, as many as run at once): the driver holds one group, and
the tables come in partition order (the order the rows were read in). In: IPC blobs
parallelized in order and decoded by ``mapInArrow``. Types survive both ways exactly (the
schema is Spark's Arrow form of the tables' own); Spark 4 has ``toArrow`` /
``createDataFrame(pyarrow.Table)`` for the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

BLOB = "trakt_arrow_ipc"


def encode(table: pa.Table) -> bytes:
    """One table as Arrow IPC stream bytes."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode(blob: bytes) -> pa.Table:
    """The table :func:`encode` wrote."""
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all()


def plain_type(kind: pa.DataType) -> pa.DataType:
    """The type Spark maps: large strings and binaries as plain ones, null as string."""
    if pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return pa.string()
    if pa.types.is_large_binary(kind):
        return pa.binary()
    if pa.types.is_dictionary(kind):
        return plain_type(kind.value_type)
    return kind


def spark_schema(schema: pa.Schema) -> Any:
    """Spark's StructType for an Arrow schema (all-null columns typed as string)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    plain = pa.schema([pa.field(f.name, plain_type(f.type)) for f in schema])
    return from_arrow_schema(plain)


def arrow_schema(struct: Any) -> pa.Schema:
    """The Arrow schema Spark exchanges batches of ``struct`` in."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(struct)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in exactly ``schema`` (same columns in order); casts are checked, so a
    value that does not fit raises instead of being truncated."""
    if table.schema.names != schema.names:
        raise ValueError(f"columns {table.schema.names} do not match the declared {schema.names}")
    if table.schema.equals(schema):
        return table
    return table.cast(schema, safe=True)


def _encode_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        blob = encode(pa.Table.from_batches([batch]))
        yield pa.RecordBatch.from_arrays([pa.array([blob], pa.binary())], names=[BLOB])


def encoded(
    df: Any, produce: Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]
) -> Any:
    """``df`` mapped by ``produce`` on the executors and serialized in the same Python pass
    (one exchange between the JVM and Python fewer than mapping, then pulling)."""

    return df.mapInArrow(functools.partial(_encode_produced, produce), f"{BLOB} binary")


def _encode_produced(
    produce: Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]],
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    return _encode_batches(produce(batches))


def blobs_of(df: Any) -> Any:
    """``df``'s batches serialized on the executors: a DataFrame of Arrow IPC blobs."""
    return df.mapInArrow(_encode_batches, f"{BLOB} binary")


def from_spark(df: Any, blobs: Any = None, struct: Any = None) -> Iterator[pa.Table]:
    """``df``'s rows as Arrow tables, in partition order (one table per Spark batch); or
    ``blobs`` (from :func:`encoded`) of rows typed by ``struct``."""
    schema = arrow_schema(df.schema if struct is None else struct)
    encoded = blobs_of(df) if blobs is None else blobs
    rdd = encoded.rdd
    context = rdd.context
    partitions = rdd.getNumPartitions()
    # A group of partitions at a time, computed in parallel, taken in order: the driver holds
    # one group (as many partitions as the cluster runs at once), never the whole output.
    group = max(1, context.defaultParallelism)
    empty = True
    for start in range(0, partitions, group):
        wanted = list(range(start, min(partitions, start + group)))
        for blob in context.runJob(rdd, _blobs, wanted):
            empty = False
            yield conform(decode(blob), schema)
    if empty:
        yield schema.empty_table()


def _blobs(rows: Iterable[Any]) -> Iterator[bytes]:
    for row in rows:
        yield bytes(row[0])


def _decode_blobs(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for blob in batch.column(0).to_pylist():
            yield from conform(decode(blob), schema).to_batches()


def to_spark(spark: Any, tables: Iterable[pa.Table], schema: pa.Schema) -> Any:
    """A DataFrame of ``tables`` (in order), typed by ``schema``."""
    struct = spark_schema(schema)
    exchanged = arrow_schema(struct)
    blobs = [(encode(t.cast(exchanged, safe=True)),) for t in tables if t.num_rows]
    slices = max(1, min(len(blobs), spark.sparkContext.defaultParallelism))
    rdd = spark.sparkContext.parallelize(blobs, slices)
    frame = spark.createDataFrame(rdd, f"{BLOB} binary")
    return frame.mapInArrow(functools.partial(_decode_blobs, exchanged), struct)
