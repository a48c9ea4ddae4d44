"""The runner flags of ``trakt run`` / ``python -m trakt.run_local``: ``--runner``,
``--spark-master``, ``--spark-conf KEY=VALUE`` (repeatable) and ``--spark-output``. No pyspark
import here."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from trakt.errors import UsageError

# SparkRunner's output= values (trakt.runtime.spark_runner.SPARK_OUTPUTS; not imported: the
# CLI starts without the runtime).
SPARK_OUTPUTS = ("file", "parts")


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the runner flags to a run parser."""
    parser.add_argument(
        "--runner",
        choices=["local", "spark"],
        default="local",
        help="where steps run: this process (default) or Apache Spark (needs the spark extra "
        "and Java 17)",
    )
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        default=None,
        help="Spark master for --runner spark: local[*] (default), local[2], spark://HOST:7077",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for --runner spark (repeatable), e.g. spark.executor.memory=4g; "
        "spark.max_driver_rows=N bounds what a batch step collects on the driver",
    )
    parser.add_argument(
        "--spark-output",
        choices=list(SPARK_OUTPUTS),
        default=None,
        help="with --runner spark: one file per output written on the driver (file, the "
        "default) or a directory of part files written on the executors (parts)",
    )


def parse_spark_conf(values: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict; a malformed one is a usage error."""
    conf: dict[str, str] = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--spark-conf {value!r}: expected KEY=VALUE, e.g. spark.cores.max=4")
        conf[key.strip()] = setting
    return conf


def check_runner_flags(args: argparse.Namespace) -> None:
    """Spark flags only with ``--runner spark``."""
    if args.runner != "spark" and (args.spark_master or args.spark_conf or args.spark_output):
        raise UsageError("--spark-master, --spark-conf and --spark-output need --runner spark")
