"""Database locations: which uris name a database, and how they are shown and connected to.

A database uri is a SQLAlchemy URL: ``sqlite:///data/app.db`` (relative to the directory the
run started in, as SQLAlchemy and the sqlite3 shell read it), ``sqlite:////abs/app.db``,
``postgresql://user:password@host:5432/db``. This module stays light (no SQLAlchemy import), so
validation of a pipeline of files imports nothing more.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# The dialects Trakt reads and writes (bulk loading and type mapping are per dialect).
DIALECTS = ("sqlite", "postgresql")
_ALIASES = {"postgres": "postgresql"}
_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}  # the fast driver of each
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9.-]*)(\+[A-Za-z0-9_.-]+)?://")
_KNOWN_ELSEWHERE = ("mysql", "mariadb", "mssql", "oracle", "duckdb", "snowflake", "redshift")
CONNECT_TIMEOUT_S = 10  # an unreachable host fails in seconds, not TCP's minutes


def dialect(uri: str) -> str | None:
    """``postgresql`` for ``postgresql+psycopg://...``; None when ``uri`` names no database."""
    found = _SCHEME.match(uri)
    if found is None:
        return None
    name = found.group(1).lower()
    name = _ALIASES.get(name, name)
    if name in DIALECTS or name in _KNOWN_ELSEWHERE:
        return name
    return None


def is_database(uri: str) -> bool:
    """Whether ``uri`` names a database (a SQLAlchemy URL), not files."""
    return dialect(uri) is not None


def check_database_uri(uri: str) -> str | None:
    """What is wrong with a database uri (an unsupported dialect, no database named, the
    ``sql`` extra not installed), or None."""
    name = dialect(uri)
    if name not in DIALECTS:
        return (
            f"{name} databases are not supported (found {redacted_url(uri)!r}); Trakt reads and "
            f"writes {', '.join(DIALECTS)}: sqlite:///path/app.db, "
            "postgresql://user@host:5432/db"
        )
    if name == "sqlite" and urlsplit(uri).path in ("", "/"):
        return (
            f"{uri!r} names no database file: write sqlite:///relative/app.db or "
            "sqlite:////absolute/app.db (in-memory databases do not outlive a run)"
        )
    if name == "sqlite" and urlsplit(uri).path == "/:memory:":
        return "an in-memory SQLite database does not outlive the run: name a file"
    import importlib.util

    needed = ["sqlalchemy"] + (["psycopg"] if name == "postgresql" else [])
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"{name} databases need the sql extra ({', '.join(missing)} missing): "
            "python -m pip install 'trakt[sql]'"
        )
    return None


def redacted_url(uri: str) -> str:
    """``postgresql://user:***@host/db``: the uri as manifests, logs and errors show it."""
    parts = urlsplit(uri)
    try:
        password = parts.password
    except ValueError:
        password = None
    if password is None:
        return uri
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))


def password_of(uri: str) -> str | None:
    """The password a uri holds, to be kept out of every message."""
    try:
        return urlsplit(uri).password
    except ValueError:
        return None


def driver_url(uri: str) -> str:
    """The URL SQLAlchemy connects with: the fast driver chosen where the uri names none
    (``postgresql://`` is psycopg 3, not SQLAlchemy's default psycopg2)."""
    found = _SCHEME.match(uri)
    assert found is not None, uri
    name = _ALIASES.get(found.group(1).lower(), found.group(1).lower())
    driver = found.group(2) or f"+{_DRIVERS[name]}"
    return f"{name}{driver}://{uri[found.end() :]}"


def sqlite_path(uri: str) -> str:
    """The database file a ``sqlite:///`` uri names (relative or absolute)."""
    path = urlsplit(uri).path
    return path[1:] if path.startswith("/") else path


def described(uri: str, table: str | None, query: str | None) -> str:
    """How a database input or output is named in messages: ``sqlite:///a.db table t``."""
    shown = redacted_url(uri)
    if table is not None:
        return f"{shown} table {table}"
    return f"{shown} query" if query is not None else shown
