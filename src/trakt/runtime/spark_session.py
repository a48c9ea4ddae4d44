"""Starting Spark for a run: Java found and checked first, then a session with quiet, safe
settings (Arrow conversions checked, UTC, the driver on 127.0.0.1 in local mode).

pyspark is imported only here and in the other ``spark_*`` modules, never on ``import trakt``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trakt.errors import EngineUnavailable

# Spark 3.5 runs on Java 8/11/17; Trakt asks for 17: what AWS Glue 5 runs and Spark 4 needs.
MIN_JAVA = 17
JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class JavaInfo:
    """The java binary Spark will start, and its major version."""

    path: str
    major: int


def find_java(env: Mapping[str, str] | None = None) -> JavaInfo:
    """The java that Spark's launcher uses (``$JAVA_HOME/bin/java``, else ``java`` on PATH),
    checked to be at least :data:`MIN_JAVA`; :class:`EngineUnavailable` otherwise."""
    env = os.environ if env is None else env
    home = env.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java", path=env.get("PATH"))
    where = f"JAVA_HOME={home}" if home else "PATH"
    fix = (
        f"install Java {MIN_JAVA} (Debian/Ubuntu: apt-get install -y "
        f"openjdk-{MIN_JAVA}-jre-headless) and put it on PATH or set JAVA_HOME"
    )
    if not java or not os.access(java, os.X_OK):
        raise EngineUnavailable(
            f"the Spark runner needs Java, but no java was found on {where}; {fix}",
            engine="spark",
            java=java,
        )
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise EngineUnavailable(
            f"the Spark runner needs Java, but {java} does not run: {exc.strerror or exc}; {fix}",
            engine="spark",
            java=java,
        ) from None
    found = JAVA_VERSION.search(done.stderr + done.stdout)
    if found is None:
        raise EngineUnavailable(
            f"cannot tell the version of {java} (java -version printed "
            f"{(done.stderr or done.stdout).strip()[:200]!r}); {fix}",
            engine="spark",
            java=java,
        )
    major = int(found.group(1))
    if major == 1 and found.group(2):  # 1.8 is Java 8
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise EngineUnavailable(
            f"the Spark runner needs Java {MIN_JAVA} or newer, but {java} ({where}) is Java "
            f"{major}; {fix}",
            engine="spark",
            java=java,
            java_version=major,
        )
    return JavaInfo(java, major)


def require_pyspark() -> None:
    """pyspark importable (the ``spark`` extra), else a clear error."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailable(
            "the Spark runner needs pyspark: pip install 'trakt-etl[spark]' "
            "(pyspark>=3.5,<3.6, what AWS Glue 5 runs)",
            engine="spark",
        ) from None


def session_conf(master: str, chunk_rows: int, conf: Mapping[str, str]) -> dict[str, str]:
    """The settings a session starts with; ``conf`` (``--spark-conf``) wins."""
    settings = {
        "spark.master": master,
        "spark.app.name": "trakt",
        # No silent truncation when a step's frame becomes Arrow (3.5's default is off).
        "spark.sql.execution.pandas.convertToArrowArraySafely": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(chunk_rows),
        "spark.sql.session.timeZone": "UTC",
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.showConsoleProgress": "false",
        # Outputs come to the driver a group of partitions at a time: smaller splits than
        # Spark's 128 MB keep that group small (and give two cores work on a 100 MB file).
        "spark.sql.files.maxPartitionBytes": str(32 << 20),
    }
    if master.startswith("local"):
        settings.update(
            {
                "spark.ui.enabled": "false",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.sql.shuffle.partitions": "2",
                # local: the executors live in the driver's JVM (Spark's default heap is 1g)
                "spark.driver.memory": "2g",
            }
        )
    settings.update(conf)
    return settings


def start_session(master: str, chunk_rows: int, conf: Mapping[str, str]) -> Any:
    """A new SparkSession (Java checked first); the caller stops it."""
    require_pyspark()
    find_java()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in session_conf(master, chunk_rows, conf).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    context = session.sparkContext
    if "PYSPARK_PYTHON" not in os.environ:
        # Python workers run what the context names (default "python3", maybe without Trakt):
        # this interpreter, without changing the environment of the process.
        context.pythonExec = sys.executable
    context.setLogLevel("ERROR")
    return session
