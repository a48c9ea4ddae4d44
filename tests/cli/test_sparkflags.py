"""The runner flags on ``trakt run`` / ``python -m trakt.run_local`` (parsing and checks)."""

from __future__ import annotations

import argparse

import pytest

from trakt.commands.sparkflags import add_runner_arguments, check_runner_flags, parse_spark_conf
from trakt.errors import UsageError
from trakt.run_local import add_run_arguments


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return parser.parse_args(["--pipeline-file", "p.yaml", *argv])


def test_local_is_the_default_runner() -> None:
    args = parsed()
    assert (args.runner, args.spark_master, args.spark_conf) == ("local", None, [])
    check_runner_flags(args)


def test_spark_flags_are_collected() -> None:
    args = parsed("--runner", "spark", "--spark-master", "spark://127.0.0.1:7077",
                  "--spark-conf", "spark.executor.memory=4g",
                  "--spark-conf", "spark.max_driver_rows=10")  # fmt: skip
    check_runner_flags(args)
    assert args.spark_master == "spark://127.0.0.1:7077"
    assert parse_spark_conf(args.spark_conf) == {
        "spark.executor.memory": "4g",
        "spark.max_driver_rows": "10",
    }


def test_spark_flags_without_the_spark_runner_are_refused() -> None:
    with pytest.raises(UsageError, match=r"--spark-master, --spark-conf and --spark-output need"):
        check_runner_flags(parsed("--spark-master", "local[2]"))
    with pytest.raises(UsageError, match=r"--spark-output need --runner spark"):
        check_runner_flags(parsed("--spark-output", "parts"))


def test_spark_output_takes_file_or_parts(capsys: pytest.CaptureFixture[str]) -> None:
    assert parsed("--runner", "spark").spark_output is None
    args = parsed("--runner", "spark", "--spark-output", "parts")
    check_runner_flags(args)
    assert args.spark_output == "parts"
    with pytest.raises(SystemExit):
        parsed("--runner", "spark", "--spark-output", "files")
    assert "invalid choice: 'files'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["spark.executor.memory", "=4g"])
def test_a_malformed_setting_is_named(value: str) -> None:
    with pytest.raises(UsageError, match=rf"--spark-conf '{value}': expected KEY=VALUE"):
        parse_spark_conf([value])


def test_an_unknown_runner_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_runner_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--runner", "dask"])
    assert "invalid choice: 'dask'" in capsys.readouterr().err
