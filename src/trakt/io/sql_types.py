"""Column types between databases and Arrow, in both directions (the table in README.md,
"Databases", is this module's).

Reading, a column's type comes from the database: PostgreSQL's result description (the type
of every result column, with a numeric's precision and scale); SQLite's declared column type
(a table's, or a query's through a temporary view), by SQLite's own affinity rules, and for a
computed column with no declared type (``count(*)``, ``a + 1``) the storage classes its
values have (``typeof``). Never from parsing values.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from trakt.errors import OutputError

# PostgreSQL type names (psycopg's registry names them from the description's OIDs).
_PG: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "oid": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "time": pa.time64("us"),
    "bytea": pa.binary(),
    "interval": pa.duration("us"),
}
MAX_DECIMAL_DIGITS = 38  # decimal128


def pg_arrow_type(name: str | None, precision: int | None, scale: int | None) -> pa.DataType:
    """The Arrow type of a PostgreSQL result column (any other type, e.g. json, uuid, an
    array, an unconstrained numeric: its text, exactly as PostgreSQL prints it)."""
    if name == "numeric" and precision and precision <= MAX_DECIMAL_DIGITS:
        return pa.decimal128(precision, scale or 0)
    return _PG.get(name or "", pa.string())


def sqlite_declared_type(declared: str) -> pa.DataType | None:
    """The Arrow type of a SQLite column from its declared type (SQLite's affinity rules,
    https://sqlite.org/datatype3.html section 3.1, with the names SQLAlchemy writes for
    dates, times, booleans and decimals); None where the values decide (no declared type,
    or NUMERIC affinity without a precision: SQLite keeps integers, reals or text there)."""
    upper = declared.upper()
    if not upper:
        return None
    if "INT" in upper:
        return pa.int64()
    if "BOOL" in upper:
        return pa.bool_()
    if "TIMESTAMP" in upper or "DATETIME" in upper:
        return pa.timestamp("us")
    if "DATE" in upper:
        return pa.date32()
    if "TIME" in upper:
        return pa.time64("us")
    if any(k in upper for k in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in upper:
        return pa.binary()
    if any(k in upper for k in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    found = re.search(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", upper)
    if ("DEC" in upper or "NUMERIC" in upper) and found:
        precision, scale = int(found.group(1)), int(found.group(2) or 0)
        if 0 < precision <= MAX_DECIMAL_DIGITS and scale <= precision:
            return pa.decimal128(precision, scale)
    return None


def sqlite_class_type(classes: set[str]) -> pa.DataType:
    """A SQLite column's type from the storage classes (``typeof``) its values have."""
    return _from_classes(classes)


def _from_classes(classes: set[str]) -> pa.DataType:
    """A column without a declared type, from the storage classes its values have."""
    present = classes - {"null"}
    if present == {"integer"}:
        return pa.int64()
    if present <= {"integer", "real"} and present:
        return pa.float64()
    if present == {"blob"}:
        return pa.binary()
    return pa.string()  # text, text mixed with numbers (each shown as SQLite prints it), none


def ddl_type(kind: pa.DataType, dialect: str, column: str, output: str) -> str:
    """The SQL type a new table's column gets for an Arrow type (``create_table``)."""
    pg = dialect == "postgresql"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        if pg and pa.types.is_uint64(kind):
            return "NUMERIC(20, 0)"  # beyond BIGINT
        return "SMALLINT" if pa.types.is_int8(kind) or pa.types.is_int16(kind) else "BIGINT"
    if pa.types.is_floating(kind):
        if not pg:
            return "REAL"  # SQLite's one floating type: 8-byte IEEE
        return "REAL" if pa.types.is_float32(kind) else "DOUBLE PRECISION"
    if pa.types.is_decimal(kind):
        return f"NUMERIC({kind.precision}, {kind.scale})"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return "TEXT"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "BYTEA" if pg else "BLOB"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            return "TIMESTAMP WITH TIME ZONE" if pg else "TIMESTAMP"
        return "TIMESTAMP"
    if pa.types.is_time(kind):
        return "TIME"
    if pa.types.is_duration(kind) and pg:
        return "INTERVAL"
    if pa.types.is_dictionary(kind):
        return ddl_type(kind.value_type, dialect, column, output)
    raise OutputError(
        f"output '{output}': column '{column}' has type {kind}, which cannot be stored in a "
        f"{dialect} column; convert it in a step (e.g. to text with json.dumps) first",
        output=output,
        column=column,
    )


def sqlite_value(value: Any) -> Any:
    """A Python value as SQLite stores it (text for dates, times and decimals, in the forms
    SQLAlchemy writes, so SQLAlchemy and Trakt read them back as they were)."""
    import datetime
    import decimal

    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return str(value)
    return value
