"""The PostgreSQL test server (tests/pg_server.py) is real: it serves SQL, checks passwords,
gives each test its own database, and leaves no process behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.pg_server import (
    PASSWORD,
    PostgresDatabase,
    PostgresServer,
    PostgresUnavailable,
    children,
    find_bindir,
    pid_alive,
    working_in,
)

pytestmark = pytest.mark.postgres


def test_the_server_answers_sql_as_trakt_over_tcp(postgres_url: str) -> None:
    import psycopg

    assert postgres_url.startswith("postgresql://trakt:")
    with psycopg.connect(postgres_url) as conn:
        who = conn.execute(
            "SELECT current_user, current_database(), inet_server_addr()::text"
        ).fetchone()
        conn.execute("CREATE TEMP TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        total = conn.execute("SELECT sum(x) FROM t").fetchone()
    assert who == ("trakt", "trakt", "127.0.0.1/32")
    assert total == (3,)


def test_sqlalchemy_reaches_it_through_psycopg(postgres_database: PostgresDatabase) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_database.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE items (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO items VALUES (1, 'a')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM items")).scalar_one() == "a"
    finally:
        engine.dispose()


def test_password_authentication_is_enforced(postgres_server: PostgresServer) -> None:
    import psycopg

    wrong = postgres_server.url_for(postgres_server.dbname, password=PASSWORD + "-wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)
    # Nobody gets in over TCP without a password, not even the superuser.
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.superuser,
            dbname="postgres",
            connect_timeout=10,
        )
    with postgres_server.admin() as admin:
        stored = admin.execute(
            "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'trakt'"
        ).fetchone()
    assert stored == ("SCRAM-SHA-256$",)


def test_each_test_gets_an_empty_database_of_its_own(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    assert postgres_database.name != postgres_server.dbname
    with postgres_database.connect() as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        conn.execute("CREATE TABLE mine (x int)")
    assert tables == (0,)
    other = postgres_server.create_database()
    try:
        with postgres_server.connect(other) as conn:
            seen = conn.execute("SELECT to_regclass('public.mine') IS NULL").fetchone()
        assert seen == (True,)
    finally:
        postgres_server.drop_database(other)
    with postgres_server.admin() as admin:
        gone = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [other])
        assert gone.fetchone() == (0,)


def test_stop_leaves_no_process_and_no_files() -> None:
    import psycopg

    server = PostgresServer.start()
    try:
        pid, root = server.pid, server.root
        conn = server.connect(autocommit=True)
        try:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert pid_alive(pid) and pid_alive(backend)
            assert int((server.data_dir / "postmaster.pid").read_text().split()[0]) == pid
            assert backend in server.processes()
            if os.geteuid() == 0:  # postgres refuses root: it must run unprivileged
                assert Path(f"/proc/{pid}").stat().st_uid != 0
            # Stopped with a client still connected: a fast shutdown does not wait for it.
            server.stop()
        finally:
            conn.close()
        assert not pid_alive(pid)
        assert not pid_alive(backend)
        assert children(pid) == []
        assert working_in(server.data_dir) == []
        assert not root.exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url, connect_timeout=5)
    finally:
        server.stop()  # idempotent: a second stop is harmless


def test_a_killed_postmaster_leaves_nothing_after_stop() -> None:
    """The fixture's teardown also cleans up after a server that crashed during a test."""
    server = PostgresServer.start()
    try:
        conn = server.connect(autocommit=True)
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait()  # type: ignore[union-attr]
        server.stop()
        conn.close()
        assert not pid_alive(backend)
        assert working_in(server.data_dir) == []
        assert not server.root.exists()
    finally:
        server.stop()


def test_missing_binaries_fail_saying_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAKT_PG_BIN", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match=r"apt-get install -y .*postgresql"):
        find_bindir()
