"""Before Spark starts: Java found and new enough, pyspark present, the session's settings.
No JVM is started here."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from trakt.errors import EXIT_INVALID, EngineUnavailable
from trakt.runtime.spark_session import MIN_JAVA, find_java, require_pyspark, session_conf


def fake_java(home: Path, banner: str) -> Path:
    """A JAVA_HOME whose bin/java prints ``banner`` as ``java -version`` does (on stderr)."""
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    java.chmod(0o755)
    return home


def test_no_java_on_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"needs Java, but no java was found on PATH"):
        find_java({"PATH": str(tmp_path)})


def test_a_java_home_without_java_is_named(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=rf"no java was found on JAVA_HOME={tmp_path}"):
        find_java({"JAVA_HOME": str(tmp_path)})


@pytest.mark.parametrize(("banner", "major"), [
    ('java version "1.8.0_402"', 8),
    ('openjdk version "11.0.22" 2024-01-16', 11),
])  # fmt: skip
def test_java_too_old_names_the_version_and_the_fix(
    banner: str, major: int, tmp_path: Path
) -> None:
    home = fake_java(tmp_path / "jdk", banner)
    expected = rf"needs Java {MIN_JAVA} or newer.*is Java {major}; install Java 17"
    with pytest.raises(EngineUnavailable, match=expected) as caught:
        find_java({"JAVA_HOME": str(home)})
    assert caught.value.exit_code == EXIT_INVALID
    assert caught.value.fields["java_version"] == major


def test_an_unreadable_version_is_reported(tmp_path: Path) -> None:
    home = fake_java(tmp_path / "jdk", "something else")
    with pytest.raises(EngineUnavailable, match=r"cannot tell the version of .*something else"):
        find_java({"JAVA_HOME": str(home)})


@pytest.mark.skipif(shutil.which("java") is None, reason="no java on this machine")
def test_the_machines_java_is_found() -> None:
    found = find_java({"PATH": os.environ["PATH"]})
    assert found.major >= MIN_JAVA


def test_missing_pyspark_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an absent package looks like
    with pytest.raises(EngineUnavailable, match=r"pip install 'trakt-etl\[spark\]'"):
        require_pyspark()


def test_session_settings_are_safe_and_overridable() -> None:
    conf = session_conf("local[2]", 1000, {"spark.sql.shuffle.partitions": "8"})
    assert conf["spark.sql.execution.pandas.convertToArrowArraySafely"] == "true"
    assert conf["spark.sql.execution.arrow.maxRecordsPerBatch"] == "1000"
    assert conf["spark.driver.host"] == "127.0.0.1"
    assert conf["spark.sql.shuffle.partitions"] == "8"
    cluster = session_conf("spark://10.0.0.5:7077", 1000, {})
    assert "spark.driver.host" not in cluster


@pytest.mark.slow
def test_the_cli_says_java_is_too_old_and_exits_2(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    import subprocess

    example = Path(__file__).resolve().parents[2] / "examples" / "multi_file_demo"
    home = fake_java(tmp_path / "jdk", 'openjdk version "11.0.22" 2024-01-16')
    done = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", "--runner", "spark",
         "--pipeline-file", str(example / "pipeline.yaml"),
         "--input-dir", str(example / "input"), "--output-dir", str(tmp_path / "out"), "-q"],
        capture_output=True, text=True, timeout=120, cwd=example,
        env={**os.environ, "JAVA_HOME": str(home)},
    )  # fmt: skip
    assert done.returncode == EXIT_INVALID
    assert "needs Java 17 or newer" in done.stderr
    assert "is Java 11" in done.stderr
    assert not (tmp_path / "out" / "final.csv").exists()
