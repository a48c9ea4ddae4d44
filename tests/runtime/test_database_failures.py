"""Database failures through the command line: each named clearly (the input or output, the
database without its password, what went wrong), the password absent from every byte Trakt
wrote, and a run killed in the middle of a load leaves the target table as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.databases import Database
from tests.pg_server import PASSWORD

sa = pytest.importorskip("sqlalchemy")

SLOW_STEP = """
import os, time
def run(ctx, input, output):
    def chunks():
        for i, chunk in enumerate(input):
            yield chunk
            if i == 3:
                open(os.environ["MARKER"], "w").close()
                time.sleep(120)
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def cli(
    tmp_path: Path, text: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pipeline.yaml").write_text(text)
    done = subprocess.run(
        [
            sys.executable, "-m", "trakt.run_local",
            "--pipeline-file", str(tmp_path / "pipeline.yaml"),
            "--input-dir", str(tmp_path),
            "--output-dir", str(tmp_path / "out"),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), **(env or {})},
        timeout=120,
    )  # fmt: skip
    # Whatever happened, the server's password is in no byte the run wrote.
    assert PASSWORD.encode() not in written(tmp_path, done)
    return done


def written(tmp_path: Path, done: subprocess.CompletedProcess[str]) -> bytes:
    """Every byte Trakt wrote: its output dir's files, stdout and stderr."""
    files = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    return files + done.stdout.encode() + done.stderr.encode()


def read_from(uri: str, what: str) -> str:
    return (
        f"name: r\ninputs:\n  s: {{uri: '{uri}', {what}}}\n"
        "outputs:\n  datasets: [{name: o, from: s}]\n"
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_a_wrong_password_is_named_and_never_shown(tmp_path: Path, postgres_server: Any) -> None:
    secret = "Wr0ng-s3cret-pw"
    uri = postgres_server.url_for(postgres_server.dbname, password=secret)
    done = cli(tmp_path, read_from(uri, "table: t"))
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "input 's' (postgresql://trakt:***@127.0.0.1:" in last
    assert "authentication failed" in last and "check the user and password" in last
    assert secret.encode() not in written(tmp_path, done)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_password_of_a_successful_run_is_never_shown(
    tmp_path: Path, postgres_server: Any
) -> None:
    uri = postgres_server.url_for(postgres_server.create_database())
    (tmp_path / "a.csv").write_text("id\n1\n")
    text = (
        "name: w\ninputs:\n  a: {uri: a.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: a, uri: '{uri}', table: t}}\n"
    )
    done = cli(tmp_path, text, "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert postgres_server.password.encode() not in written(tmp_path, done)
    assert b"trakt:***@" in written(tmp_path, done)


@pytest.mark.slow
def test_an_unreachable_server_is_named_with_the_timeout(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"postgresql://u:Pw-not-shown@127.0.0.1:{port}/db"
    done = cli(tmp_path, read_from(uri, "table: t"))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert f"postgresql://u:***@127.0.0.1:{port}/db" in last
    assert "cannot reach the database" in last and "gave up after 10 s" in last
    assert b"Pw-not-shown" not in written(tmp_path, done)


def test_a_missing_column_in_a_query_is_named(tmp_path: Path, db: Database) -> None:
    db.sql("CREATE TABLE t (a INTEGER)")
    done = cli(tmp_path, read_from(db.uri, "query: SELECT nope FROM t"))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "input 's' (" in last and "column not found" in last and "nope" in last


@pytest.mark.postgres
def test_a_value_the_column_cannot_store_is_named(tmp_path: Path, postgres_server: Any) -> None:
    uri = postgres_server.url_for(postgres_server.create_database())
    database = Database(uri, uri.replace("postgresql://", "postgresql+psycopg://"))
    database.sql("CREATE TABLE t (id INTEGER)", "INSERT INTO t VALUES (7)")
    (tmp_path / "a.csv").write_text("id\nx1\n")
    text = (
        "name: w\ninputs:\n  a: {uri: a.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: a, uri: '{uri}', table: t, if_exists: append}}\n"
    )
    done = cli(tmp_path, text)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "output 't' (" in last and "a value the column cannot store" in last
    assert "integer" in last and "x1" in last
    assert database.rows("SELECT id FROM t") == [(7,)]
    database.engine.dispose()


def test_sqlite_refuses_a_column_of_another_kind(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/a.db"
    database = Database(uri, uri)
    database.sql("CREATE TABLE t (id INTEGER)")
    (tmp_path / "a.csv").write_text("id\nx1\n")
    text = (
        "name: w\ninputs:\n  a: {uri: a.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: a, uri: '{uri}', table: t, if_exists: append}}\n"
    )
    done = cli(tmp_path, text)
    assert done.returncode == 1
    assert "column 'id' holds string values but the table declares it INTEGER" in done.stderr
    assert database.rows("SELECT COUNT(*) FROM t") == [(0,)]


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGKILL, -9), (signal.SIGTERM, 143)])
def test_a_run_killed_during_the_load_leaves_the_table_unchanged(
    tmp_path: Path, db: Database, signum: int, code: int
) -> None:
    db.sql(
        "CREATE TABLE t (id INTEGER, name TEXT)",
        "INSERT INTO t VALUES (1, 'before'), (2, 'before')",
    )
    (tmp_path / "slow_step.py").write_text(SLOW_STEP)
    (tmp_path / "a.csv").write_text("id,name\n" + "".join(f"{i},new\n" for i in range(100)))
    marker = tmp_path / "loaded-some"
    text = (
        "name: k\ninputs:\n  a: {uri: a.csv}\n"
        "steps:\n  - {id: slow, uses: slow_step, with: {input: a, output: b}}\n"
        "outputs:\n  datasets:\n"
        f"    - {{name: t, from: b, uri: '{db.uri}', table: t, if_exists: replace}}\n"
        "execution:\n  mode: stream\n"
    )
    (tmp_path / "pipeline.yaml").write_text(text)
    child = subprocess.Popen(
        [
            sys.executable, "-m", "trakt.run_local",
            "--pipeline-file", str(tmp_path / "pipeline.yaml"),
            "--input-dir", str(tmp_path), "--output-dir", str(tmp_path / "out"),
            "--stream-chunk-size", "10",
        ],
        env={**os.environ, "PYTHONPATH": str(tmp_path), "MARKER": str(marker)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the run ended before the load began"
            assert time.monotonic() < deadline, "the step never reached its fourth chunk"
            time.sleep(0.05)
        child.send_signal(signum)
        assert child.wait(timeout=30) == code  # SIGTERM: cancelled, rolled back, exit 143
    finally:
        if child.poll() is None:
            child.kill()
    # Four chunks (40 rows) went into the dropped-and-re-created table, uncommitted.
    assert db.rows("SELECT id, name FROM t ORDER BY id") == [(1, "before"), (2, "before")]
    db.sql("INSERT INTO t VALUES (3, 'after')")  # no lock left behind
    assert db.rows("SELECT COUNT(*) FROM t") == [(3,)]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_million_rows_csv_to_table_to_csv_is_byte_identical(
    tmp_path: Path, postgres_server: Any
) -> None:
    uri = postgres_server.url_for(postgres_server.create_database())
    lines = ["id,name,amount,note"]
    for i in range(1_000_000):
        note = "" if i % 7 else f'"say ""hi"", {i}"'
        lines.append(f"{i},n{i % 1000},{i / 8},{note}")
    original = ("\n".join(lines) + "\n").encode()
    (tmp_path / "big.csv").write_bytes(original)
    load = (
        "name: load\ninputs:\n  a: {uri: big.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: a, uri: '{uri}', table: big}}\n"
        "execution:\n  mode: stream\n"
    )
    done = cli(tmp_path, load, "--stream-chunk-size", "100000")
    assert done.returncode == 0, done.stderr
    back = read_from(uri, "query: SELECT * FROM big ORDER BY id").replace(
        "outputs:", "execution:\n  mode: stream\noutputs:"
    )
    done = cli(tmp_path, back, "--stream-chunk-size", "100000")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "o.csv").read_bytes() == original
