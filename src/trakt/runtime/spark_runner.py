"""Run a pipeline on Apache Spark (local, a standalone cluster, AWS Glue): the same validated
plan, manifest and all-or-nothing publish as :class:`LocalRunner`, steps on Spark."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from trakt.errors import UsageError
from trakt.runtime.execution import Execution, RunSettings
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.manifest import Manifest
from trakt.runtime.planning import ExecutionPlan

# Rows a step may collect on the driver per input (spark.max_driver_rows overrides it).
DEFAULT_MAX_DRIVER_ROWS = 5_000_000
MAX_DRIVER_ROWS_KEY = "spark.max_driver_rows"
# How an output is written: one file (on the driver), or a directory of part files.
SPARK_OUTPUTS = ("file", "parts")
# What a run sets on a session it was given (besides --spark-conf), put back afterwards.
RUN_CONF = (
    "spark.sql.execution.arrow.maxRecordsPerBatch",
    "spark.sql.execution.pandas.convertToArrowArraySafely",
)


class SparkRunner(LocalRunner):
    """Executes validated pipelines on Spark.

    ``master`` is Spark's master URL (``local[*]``, ``spark://host:7077``, ``yarn``);
    ``spark_conf`` more Spark settings (``spark.max_driver_rows`` is Trakt's: the most rows a
    step may collect on the driver). ``output`` is ``"file"`` (one file per output, written on
    the driver: the local runner's bytes) or ``"parts"`` (a directory of part files per output,
    written on the executors partition by partition). ``session`` runs on an existing
    SparkSession (Glue's, a notebook's), which is then never stopped and gets its settings
    back after the run; otherwise each run starts and stops its own.
    Everything else is as for :class:`LocalRunner`.
    """

    def __init__(
        self,
        input_dir: str | os.PathLike[str] = ".",
        output_dir: str | os.PathLike[str] = "output",
        master: str = "local[*]",
        spark_conf: Mapping[str, str] | None = None,
        *,
        session: Any = None,
        max_driver_rows: int | None = None,
        output: str = "file",
        manifest_path: str | os.PathLike[str] | None = None,
        input_overrides: Mapping[str, str] | None = None,
        stream_chunk_size: int | None = None,
        on_start: Callable[[Manifest], None] | None = None,
        column_summaries: bool = True,
        scratch_dir: str | os.PathLike[str] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        input_hashes: bool = True,
    ) -> None:
        super().__init__(
            input_dir,
            output_dir,
            manifest_path=manifest_path,
            input_overrides=input_overrides,
            stream_chunk_size=stream_chunk_size,
            on_start=on_start,
            column_summaries=column_summaries,
            scratch_dir=scratch_dir,
            on_failure=on_failure,
            input_hashes=input_hashes,
        )
        conf = {str(k): str(v) for k, v in (spark_conf or {}).items()}
        limit = conf.pop(MAX_DRIVER_ROWS_KEY, None)
        if max_driver_rows is None:
            max_driver_rows = _rows(limit) if limit is not None else DEFAULT_MAX_DRIVER_ROWS
        if output not in SPARK_OUTPUTS:
            raise UsageError(
                f"output={output!r}: expected one of {', '.join(SPARK_OUTPUTS)} (file: one "
                "file per output, written on the driver; parts: a directory of part files)"
            )
        if max_driver_rows < 0:
            raise UsageError(f"max_driver_rows must be at least 0, got {max_driver_rows}")
        self.master = master
        self.spark_conf = conf
        self.session = session
        self.max_driver_rows = max_driver_rows
        self.output = output
        self._own_session: Any = None
        self._conf_before: dict[str, str | None] = {}

    def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """As :meth:`LocalRunner.run` (``keep``: the artifacts collected to the driver, at
        most ``max_driver_rows`` rows each)."""
        try:
            return super().run(*args, **kwargs)
        finally:
            if self._own_session is not None:
                session, self._own_session = self._own_session, None
                session.stop()
            self._restore_conf()

    def _restore_conf(self) -> None:
        """A session the caller gave keeps its settings: each key this run set goes back to
        its value before the run (unset if it had none), so the next job or run in the
        notebook or Glue script sees none of this run's."""
        before, self._conf_before = self._conf_before, {}
        for key, value in before.items():
            if value is None:
                self.session.conf.unset(key)
            else:
                self.session.conf.set(key, value)

    def _execution(
        self, settings: RunSettings, plan: ExecutionPlan, manifest: Manifest
    ) -> Execution:
        from trakt.runtime.spark_execution import SparkExecution
        from trakt.runtime.spark_session import start_session

        spark = self.session
        if spark is None:
            spark = self._own_session = start_session(
                self.master, self.stream_chunk_size, self.spark_conf
            )
        else:
            for key in self.spark_conf:
                if not spark.conf.isModifiable(key):
                    raise UsageError(
                        f"--spark-conf {key}: the session is already running and this setting "
                        "is fixed when it starts; set it where the session is created"
                    )
            for key in (*RUN_CONF, *self.spark_conf):
                self._conf_before.setdefault(key, spark.conf.get(key, None))
            for key, value in self.spark_conf.items():
                spark.conf.set(key, value)
        context = spark.sparkContext
        manifest.runner = {
            "name": "spark",
            "master": context.master,
            "application_id": context.applicationId,
            "spark_version": spark.version,
            "max_driver_rows": self.max_driver_rows,
            "output": self.output,
        }
        return SparkExecution(settings, plan, manifest, spark, self.max_driver_rows, self.output)


def _rows(text: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise UsageError(
            f"{MAX_DRIVER_ROWS_KEY}={text!r}: expected a whole number of rows"
        ) from None
