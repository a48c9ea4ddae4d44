"""AWS Glue job entry: ``python -m trakt.runtime.glue`` (or this file as the job's script).

Glue passes the job's arguments on the command line: ``--pipeline-file``, ``--input-dir``
and ``--output-dir`` (``s3://`` URIs; ``_`` instead of ``-`` is accepted too), optionally
``--stream-chunk-size``, ``--run-id``, ``--max-driver-rows`` and ``--spark-conf KEY=VALUE``;
arguments Glue adds of its own (``--JOB_NAME``, ``--TempDir``, ...) are ignored. The pipeline
runs on the session Glue provides, through the same :class:`SparkRunner` the tests run; the
job fails (exit 1, or 2 for an invalid pipeline) unless the run succeeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trakt.errors import EXIT_OK, EXIT_RUN_FAILED, PipelineValidationError, UsageError

NAMES = ("pipeline-file", "input-dir", "output-dir")


@dataclass(frozen=True)
class GlueJob:
    """A Glue job's arguments for Trakt."""

    pipeline_file: str
    input_dir: str
    output_dir: str
    stream_chunk_size: int | None = None
    run_id: str | None = None
    max_driver_rows: int | None = None
    spark_conf: dict[str, str] = field(default_factory=dict)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # a UsageError, not argparse's exit
        raise UsageError(f"Glue job arguments: {message}")


def parse_job_arguments(argv: Sequence[str]) -> GlueJob:
    """The job's arguments from ``argv`` (Glue's own left aside)."""
    parser = _Parser(prog="trakt.runtime.glue", add_help=False)
    for name in NAMES:
        parser.add_argument(f"--{name}", f"--{name.replace('-', '_')}", required=True)
    parser.add_argument("--stream-chunk-size", "--stream_chunk_size", type=int)
    parser.add_argument("--run-id", "--run_id")
    parser.add_argument("--max-driver-rows", "--max_driver_rows", type=int)
    parser.add_argument("--spark-conf", "--spark_conf", action="append", default=[])
    known, _glue_own = parser.parse_known_args(list(argv))
    conf: dict[str, str] = {}
    for value in known.spark_conf:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise UsageError(f"Glue job arguments: --spark-conf {value!r}: expected KEY=VALUE")
        conf[key] = setting
    if known.stream_chunk_size is not None and known.stream_chunk_size < 1:
        raise UsageError("Glue job arguments: --stream-chunk-size must be at least 1")
    return GlueJob(
        known.pipeline_file,
        known.input_dir,
        known.output_dir,
        known.stream_chunk_size,
        known.run_id,
        known.max_driver_rows,
        conf,
    )


def run_job(job: GlueJob, session: Any) -> dict[str, Any]:
    """Run the job's pipeline on ``session``; the runner's result."""
    from trakt.runtime.aws_lambda import _load, _local_copy
    from trakt.runtime.spark_runner import SparkRunner

    runner = SparkRunner(
        job.input_dir,
        job.output_dir,
        session=session,
        spark_conf=job.spark_conf,
        max_driver_rows=job.max_driver_rows,
        stream_chunk_size=job.stream_chunk_size,
    )
    with _local_copy(job.pipeline_file, Path(tempfile.gettempdir())) as local:
        try:
            pipeline = _load(local, job.pipeline_file)
        except PipelineValidationError as exc:
            runner.record_invalid(exc, job.pipeline_file, job.run_id)
            raise
        return runner.run(pipeline, run_id=job.run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """The Glue script: parse, run on Glue's session, print the result; the exit code."""
    job = parse_job_arguments(sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession

    session = SparkSession.builder.getOrCreate()  # on Glue: the job's own session
    try:
        result = run_job(job, session)
    except (PipelineValidationError, UsageError) as exc:
        print(f"trakt: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({k: result.get(k) for k in ("status", "run_id", "manifest_path")}))
    return EXIT_OK if result.get("status") == "success" else EXIT_RUN_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
