"""An existing table's columns, and which Arrow columns a SQLite column may take (SQLite
stores any value in any column, so Trakt checks kinds before appending)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from trakt.io.sql_types import sqlite_declared_type


def describe_table(conn: Any, table: str, dialect_name: str) -> tuple[bool, dict[str, str]]:
    """Whether ``table`` exists, and its columns' declared types."""
    import sqlalchemy as sa

    schema, _, name = table.rpartition(".")
    inspector = sa.inspect(conn)
    if not inspector.has_table(name, schema=schema or None):
        return False, {}
    if dialect_name == "sqlite":  # the declared type as written (affinity rules apply)
        quote = conn.dialect.identifier_preparer.quote
        info = conn.exec_driver_sql(f"PRAGMA table_info({quote(name)})").fetchall()
        return True, {row[1]: str(row[2] or "") for row in info}
    columns = inspector.get_columns(name, schema=schema or None)
    return True, {c["name"]: str(c["type"]) for c in columns}


def _family(kind: pa.DataType) -> str:
    """A type's kind, for matching columns: int, float, decimal, text, bool, date..."""
    checks = (
        ("bool", pa.types.is_boolean),
        ("int", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("decimal", pa.types.is_decimal),
        ("text", lambda k: pa.types.is_string(k) or pa.types.is_large_string(k)),
        ("binary", lambda k: pa.types.is_binary(k) or pa.types.is_large_binary(k)),
        ("date", pa.types.is_date),
        ("timestamp", pa.types.is_timestamp),
        ("time", pa.types.is_time),
    )
    return next((name for name, check in checks if check(kind)), "other")


# What a SQLite column of each declared kind may take without a value changing kind.
_TAKES = {
    "int": {"int", "bool"},
    "float": {"int", "float", "decimal"},
    "decimal": {"int", "float", "decimal"},
    "text": {"int", "float", "decimal", "text", "bool", "date", "timestamp", "time", "other"},
    "bool": {"bool"},
    "date": {"date", "text"},
    "timestamp": {"timestamp", "text"},
    "time": {"time", "text"},
    "binary": {"binary"},
}


def fits_sqlite_column(kind: pa.DataType, declared: str) -> bool:
    """Whether an Arrow column may go into a SQLite column of the declared type."""
    target = sqlite_declared_type(declared)
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if target is None or pa.types.is_null(kind):
        return True
    return _family(kind) in _TAKES.get(_family(target), {_family(target)})
