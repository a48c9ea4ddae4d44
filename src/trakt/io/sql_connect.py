"""Connections to databases, and database errors as Trakt errors that name the input or
output, say what went wrong in words, and never show a password.

Engines are made per run and disposed by their owner (no pool outlives a run). SQLite
connections run in autocommit mode with an explicit ``BEGIN``, so DDL (``CREATE TABLE``) is
inside the run's transaction too (the sqlite3 module would otherwise commit around it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from trakt.errors import InputError, OutputError, TraktError
from trakt.io.sql_urls import CONNECT_TIMEOUT_S, dialect, driver_url, password_of, sqlite_path

SQLITE_BUSY_TIMEOUT_S = 30.0  # another writer's transaction: wait this long, then fail


def make_engine(uri: str, base: Path, *, read_only: bool) -> Any:
    """A SQLAlchemy engine for ``uri`` (no pool: a connection closes when released);
    ``base`` is the directory a relative SQLite path is taken from."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    if dialect(uri) == "sqlite":
        import sqlite3

        path = Path(sqlite_path(uri))
        path = path if path.is_absolute() else base / path

        def connect() -> sqlite3.Connection:
            if read_only:  # never creates an empty database for a mistyped input path
                target = f"file:{quote(os.fspath(path))}?mode=ro"
                return sqlite3.connect(target, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
            return sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)

        engine = sa.create_engine("sqlite+pysqlite://", creator=connect, poolclass=NullPool)
        if not read_only:
            sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    args = {"connect_timeout": CONNECT_TIMEOUT_S}
    return sa.create_engine(driver_url(uri), poolclass=NullPool, connect_args=args)


def sqlite_file(uri: str, base: Path) -> Path:
    """The file a ``sqlite:///`` uri names, made absolute against ``base``."""
    path = Path(sqlite_path(uri))
    return path if path.is_absolute() else base / path


def database_error(
    exc: BaseException,
    uri: str,
    where: str,
    *,
    output: bool,
    fields: dict[str, Any],
) -> TraktError:
    """``exc`` (a DBAPI or SQLAlchemy error) as an :class:`InputError` or
    :class:`OutputError` starting with ``where``, worded by kind, without the password."""
    orig = getattr(exc, "orig", None) or exc
    detail = _detail(orig)
    state = getattr(orig, "sqlstate", None) or ""
    text = detail.lower()
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if state.startswith("28") or "password authentication failed" in text:
        message = f"authentication failed ({detail}): check the user and password in the uri"
    elif state.startswith("08") or "connection refused" in text or "timeout expired" in text:
        message = (
            f"cannot reach the database ({detail}); gave up after {CONNECT_TIMEOUT_S} s: check "
            "the host and port, and that the server is running and accepts connections"
        )
    elif state == "3D000":
        message = f"no such database ({detail}): create it, or fix the database name in the uri"
    elif state == "42P01" or "no such table" in text:
        message = f"table not found ({detail}): check the table name (and schema)"
    elif state == "42703" or "no such column" in text or "has no column named" in text:
        message = f"column not found ({detail})"
    elif state.startswith("23") or "constraint failed" in text:
        name = f" '{constraint}'" if constraint else ""
        message = f"constraint{name} violated ({detail}); no row of this run was written"
    elif state.startswith("22"):
        message = f"a value the column cannot store ({detail})"
    elif "database is locked" in text:
        message = (
            f"the database is locked by another connection ({detail}) for over "
            f"{SQLITE_BUSY_TIMEOUT_S:g} s; retry when its transaction has ended"
        )
    elif "unable to open database file" in text:
        message = f"cannot open the database file ({detail}): check the path and permissions"
    else:
        message = detail
    secret = password_of(uri)
    if secret:
        message = message.replace(secret, "***")
    kind: Callable[..., TraktError] = OutputError if output else InputError
    if constraint:
        fields = {**fields, "constraint": constraint}
    return kind(f"{where}: {message}", **fields)


def _detail(orig: BaseException) -> str:
    """The driver's message, first line (psycopg adds the statement and hints below)."""
    text = str(orig).strip() or type(orig).__name__
    return " ".join(line.strip() for line in text.splitlines()[:2] if line.strip())
