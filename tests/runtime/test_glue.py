"""The Glue entry script's argument parsing (no Spark needed)."""

from __future__ import annotations

import pytest

from trakt.errors import UsageError
from trakt.runtime.glue import GlueJob, parse_job_arguments


def test_glues_arguments_are_parsed_and_its_own_ignored() -> None:
    job = parse_job_arguments([
        "--JOB_NAME", "orders-nightly", "--TempDir", "s3://tmp/glue/",
        "--pipeline-file", "s3://bucket/pipelines/orders.yaml",
        "--input-dir", "s3://bucket/in/", "--output-dir", "s3://bucket/out/",
        "--stream-chunk-size", "100000", "--spark-conf", "spark.sql.shuffle.partitions=16",
        "--spark-conf", "spark.max_driver_rows=1000",
        "--job-bookmark-option", "job-bookmark-disable",
    ])  # fmt: skip
    assert job == GlueJob(
        "s3://bucket/pipelines/orders.yaml",
        "s3://bucket/in/",
        "s3://bucket/out/",
        stream_chunk_size=100_000,
        spark_conf={"spark.sql.shuffle.partitions": "16", "spark.max_driver_rows": "1000"},
    )


def test_underscored_names_as_glue_consoles_write_them() -> None:
    job = parse_job_arguments([
        "--pipeline_file", "s3://b/p.yaml", "--input_dir", "s3://b/in", "--output_dir",
        "s3://b/out", "--run_id", "nightly-1", "--max_driver_rows", "500",
    ])  # fmt: skip
    assert (job.pipeline_file, job.run_id, job.max_driver_rows) == (
        "s3://b/p.yaml",
        "nightly-1",
        500,
    )


def test_a_missing_argument_is_named() -> None:
    with pytest.raises(UsageError, match=r"Glue job arguments: .*--output-dir"):
        parse_job_arguments(["--pipeline-file", "s3://b/p.yaml", "--input-dir", "s3://b/in"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--spark-conf", "novalue"], r"--spark-conf 'novalue': expected KEY=VALUE"),
    (["--stream-chunk-size", "0"], r"--stream-chunk-size must be at least 1"),
    (["--stream-chunk-size", "many"], r"invalid int value: 'many'"),
])  # fmt: skip
def test_bad_values_are_usage_errors(argv: list[str], message: str) -> None:
    base = ["--pipeline-file", "p.yaml", "--input-dir", "in", "--output-dir", "out"]
    with pytest.raises(UsageError, match=message):
        parse_job_arguments(base + argv)
