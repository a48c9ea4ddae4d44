"""``--spark-output parts``: an output as a directory of part files, written on the executors.

Each partition of the output's DataFrame is written by the output's own format writer (the
local runner's, with the same options: every CSV part has the header) into the output's
temporary directory as ``part-NNNNN<suffix>`` (NNNNN: the partition's index, so the parts in
name order are the rows in the single file's order; an empty partition writes no part). A
task writes a file of its own attempt and renames it into place, so a retried task leaves one
part. The directory is then published with the run's other outputs, all or nothing, like a
partitioned Parquet output. Executors must see the output dir's temporary directory: a local
master, or an output dir on a file system every executor mounts.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from trakt.errors import OutputError, TraktError
from trakt.io import get_format
from trakt.runtime.safefs import create_new
from trakt.runtime.spark_arrow import conform, decode
from trakt.runtime.spark_counts import failure, partition_id
from trakt.runtime.targets import OutputTarget

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".xz")


@dataclass(frozen=True)
class PartsJob:
    """What an executor needs to write its partition's part file (picklable)."""

    output: str  # the output's name, for errors
    directory: str  # the output's temporary directory
    suffix: str  # ".csv", ".csv.gz", ".parquet"
    format: str
    options: Mapping[str, Any]
    schema: pa.Schema  # the rows' Arrow schema, as Spark exchanges them


def part_name(index: int, suffix: str) -> str:
    """The file name of part ``index``."""
    return f"part-{index:05d}{suffix}"


def part_suffix(path: str) -> str:
    """A part's suffix from the output's file name: its extension and compression suffix
    (``final.csv.gz`` -> ``.csv.gz``)."""
    name = PurePosixPath(path).name
    compression = next((c for c in COMPRESSION_SUFFIXES if name.endswith(c)), "")
    return PurePosixPath(name[: len(name) - len(compression)]).suffix + compression


def refusal(target: Any) -> str | None:
    """Why ``target`` cannot be written as parts on the executors, or None; an output that
    is a table or already a directory (``partition_by``) is written as without parts."""
    if not isinstance(target, OutputTarget) or target.directory:
        return None
    if target.contract is not None:
        return (
            f"output '{target.name}' has a schema: contract, which --spark-output parts cannot "
            "apply on the executors; remove the contract from the output (check it in a step) "
            "or use --spark-output file"
        )
    return None


def takes_parts(target: Any) -> bool:
    """Whether ``target`` is written as a directory of parts (a file output)."""
    return isinstance(target, OutputTarget) and not target.directory


def write_part(job: PartsJob, blobs: Iterable[bytes]) -> Iterator[tuple[int, int, int]]:
    """Write one partition's rows (Arrow IPC blobs) as its part file; yield (partition, rows,
    bytes) once, or nothing for a partition without rows."""
    from pyspark import TaskContext

    pid = partition_id()
    context = TaskContext.get()
    attempt = context.attemptNumber() if context is not None else 0
    final = Path(job.directory) / part_name(max(pid, 0), job.suffix)
    temp = final.with_name(f".{final.name}.attempt-{attempt}")
    writer: Any = None
    rows = 0
    try:
        for blob in blobs:
            table = conform(decode(blob), job.schema)
            if not table.num_rows:
                continue
            if writer is None:
                create_new(temp, "temporary part file")
                writer = get_format(job.format).open_writer(temp, job.options)
            writer.write(table)
            rows += table.num_rows
        if writer is None:
            return
        writer.close()
        os.replace(temp, final)
    except TraktError as exc:
        raise failure(kind="output", output=job.output, message=exc.message) from None
    except OSError as exc:
        message = f"cannot write part {final}: {exc.strerror or exc}"
        raise failure(kind="output", output=job.output, message=message) from None
    yield pid, rows, final.stat().st_size


def write_parts(target: OutputTarget, blobs: Any, schema: pa.Schema) -> list[dict[str, Any]]:
    """Write ``blobs`` (a DataFrame of Arrow IPC blobs, from :func:`spark_arrow.encoded`) as
    the target's directory of parts; its parts in order (path, rows, bytes)."""
    from trakt.runtime.manifest import Timing

    target.timing = Timing.start()
    directory = target.temp
    try:
        directory.mkdir()  # mkdir follows no link: a leftover link is refused
    except OSError as exc:
        raise OutputError(
            f"cannot create the directory of output '{target.name}' ({directory}): "
            f"{exc.strerror or exc}; remove what is in the way",
            output=target.name,
        ) from None
    target.created = True
    job = PartsJob(
        target.name, str(directory), part_suffix(target.plan.path), target.format.name,
        dict(target.plan.options), schema,
    )  # fmt: skip
    rdd = blobs.rdd.map(lambda row: bytes(row[0]))
    written = sorted(rdd.context.runJob(rdd, functools.partial(write_part, job)))
    if not written:  # no rows at all: one part with the columns (a CSV header)
        name = part_name(0, job.suffix)
        writer = target.format.open_writer(create_new(directory / name, "part file"), job.options)
        writer.write(schema.empty_table())
        writer.close()
        written = [(0, 0, (directory / name).stat().st_size)]
    parts = [
        {"path": part_name(pid, job.suffix), "rows": rows, "bytes": size}
        for pid, rows, size in written
    ]
    _settle(target, directory, parts)
    target.rows = sum(p["rows"] for p in parts)
    return parts


def _settle(target: OutputTarget, directory: Path, parts: list[dict[str, Any]]) -> None:
    """Check every part reached the directory (executors writing elsewhere: no shared file
    system); remove what killed task attempts left."""
    names = {p["path"] for p in parts}
    missing = sorted(n for n in names if not (directory / n).is_file())
    if missing:
        raise OutputError(
            f"output '{target.name}': the executors wrote parts the driver cannot see "
            f"({', '.join(missing[:3])} missing in {directory}); put the output dir on a file "
            "system every executor mounts, or use --spark-output file",
            output=target.name,
        )
    for entry in directory.iterdir():
        if entry.name not in names:
            entry.unlink()
