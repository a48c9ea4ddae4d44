"""What shipping a side input (``stream_inputs`` leaves out) costs on Spark: captured in the
pickled function of every task vs ``sparkContext.broadcast``.

    .venv/bin/python benchmarks/spark_side_input.py [--rows 10000,100000,1000000] [--tasks 8]

For each size, a side table of that many rows (an int, a float and a text column, as Arrow
IPC bytes: what ``spark_steps.side_value`` ships) is used by a ``mapInArrow`` job of
``--tasks`` partitions that decodes it in every task, as a stream step's side input is. The
job is timed (median of 3, after one warm-up) with the bytes captured in the function and with
a broadcast (its creation included). Spark ``local[2]``; needs the spark extra and Java 17.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import pyarrow as pa

from trakt.runtime.spark_arrow import decode, encode
from trakt.runtime.spark_session import start_session


def side_table(rows: int) -> pa.Table:
    """A side input of ``rows`` rows: an id, an amount and a name."""
    ids = pa.array(range(rows), pa.int64())
    return pa.table(
        {
            "id": ids,
            "amount": pa.array([i * 0.25 for i in range(rows)], pa.float64()),
            "name": pa.array([f"customer-{i:08d}" for i in range(rows)], pa.string()),
        }
    )


def use_side(side: Any, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A task reading its side input whole (as a stream step's does), then its rows."""
    table = decode(getattr(side, "value", side))
    for batch in batches:
        yield pa.RecordBatch.from_arrays([pa.array([table.num_rows] * batch.num_rows)], ["n"])


def timed(run: Callable[[], None], repeat: int = 3) -> float:
    run()  # warm-up: Python workers started, classes loaded
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args()
    spark = start_session("local[2]", 10_000, {})
    context = spark.sparkContext
    df = spark.range(0, args.tasks * 1000, numPartitions=args.tasks)

    def job(side: Any) -> None:
        df.mapInArrow(functools.partial(use_side, side), "n long").count()

    print(f"Spark {spark.version}, local[2], {args.tasks} tasks per job; median of 3")
    print(f"{'rows':>9} {'IPC bytes':>11} {'in closure':>11} {'broadcast':>10}")
    for rows in (int(r) for r in args.rows.split(",")):
        blob = encode(side_table(rows))
        closure = timed(lambda blob=blob: job(blob))  # type: ignore[misc]

        def broadcast(blob: bytes = blob) -> None:
            shared = context.broadcast(blob)
            try:
                job(shared)
            finally:
                shared.destroy()

        by_broadcast = timed(broadcast)
        print(f"{rows:>9} {len(blob):>11,} {closure:>10.3f}s {by_broadcast:>9.3f}s")
    spark.stop()


if __name__ == "__main__":
    main()
