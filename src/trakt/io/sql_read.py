"""Reading a database input (a table, or a query with bound parameters) as Arrow.

The column types are fixed before any row is read (:mod:`trakt.io.sql_types`), so a stream
run's chunks share one schema. A stream run reads through a server-side cursor (PostgreSQL:
a named cursor; SQLite's cursor is lazy), ``rows`` at a time: memory holds one chunk.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from trakt.errors import InputError
from trakt.io.sql_connect import database_error, make_engine, sqlite_file
from trakt.io.sql_types import pg_arrow_type, sqlite_class_type, sqlite_declared_type
from trakt.io.sql_urls import described, dialect


class DatabaseReader:
    """One database input: ``read()`` the whole result, ``chunks(rows)`` it in parts; both
    run the statement afresh (a reader can be read twice)."""

    def __init__(
        self,
        artifact: str,
        uri: str,
        table: str | None,
        query: str | None,
        params: Mapping[str, Any],
        base: Path,
    ) -> None:
        self.artifact = artifact
        self.uri = uri
        self.table = table
        self.query = query
        self.params = dict(params)
        self.base = base
        self.dialect = dialect(uri) or ""
        self.shown = described(uri, table, query)
        self._schema: pa.Schema | None = None

    # --- the statement ------------------------------------------------------------------

    def _statement(self, conn: Any) -> Any:
        import sqlalchemy as sa

        if self.table is not None:
            quote = conn.dialect.identifier_preparer.quote
            name = ".".join(quote(part) for part in self.table.split("."))
            return sa.text(f"SELECT * FROM {name}")  # the identifier quoted, not a value
        assert self.query is not None
        return sa.text(self.query.strip().rstrip(";"))  # it is nested in probes

    def _fail(self, exc: BaseException) -> InputError:
        where = f"input '{self.artifact}' ({self.shown})"
        fields = {"artifact": self.artifact}
        error = database_error(exc, self.uri, where, output=False, fields=fields)
        assert isinstance(error, InputError)
        return error

    def _connect(self) -> Any:
        if self.dialect == "sqlite" and not sqlite_file(self.uri, self.base).is_file():
            raise InputError(
                f"input '{self.artifact}': no database file {sqlite_file(self.uri, self.base)} "
                f"({self.shown}); a relative sqlite:/// path is taken from the directory the "
                "run started in: check the path, or write sqlite:////absolute/path.db",
                artifact=self.artifact,
            )
        return make_engine(self.uri, self.base, read_only=True)

    # --- the schema -----------------------------------------------------------------------

    def schema(self) -> pa.Schema:
        """The columns and their types, from the database (connects once; cached)."""
        if self._schema is None:
            engine = self._connect()
            try:
                with engine.connect() as conn:
                    self._schema = self._find_schema(conn)
            except InputError:
                raise
            except Exception as exc:
                raise self._fail(exc) from None
            finally:
                engine.dispose()
        return self._schema

    def _find_schema(self, conn: Any) -> pa.Schema:
        statement = self._statement(conn)
        if self.dialect == "postgresql":
            from psycopg.postgres import types

            result = conn.execute(
                _limited(statement), self._bound(statement)
            )  # no rows: the description only
            names = list(result.keys())
            fields = []
            for name, col in zip(names, result.cursor.description, strict=True):
                info = types.get(col.type_code)
                kind = pg_arrow_type(info.name if info else None, col.precision, col.scale)
                fields.append(pa.field(name, kind))
            result.close()
        else:
            fields = self._sqlite_fields(conn, statement)
        self._check_names([f.name for f in fields])
        return pa.schema(fields)

    def _sqlite_fields(self, conn: Any, statement: Any) -> list[pa.Field]:
        """Declared types through a temporary view of the statement (its parameters bound
        to NULL: the types do not depend on them), then ``typeof`` for the columns that
        have none."""
        import sqlalchemy as sa

        probe = statement.bindparams(**{k: None for k in statement._bindparams})
        sql = str(probe.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        view = "trakt_probe_view"
        conn.exec_driver_sql(f"CREATE TEMP VIEW {view} AS {sql}")
        try:
            info = conn.exec_driver_sql(f"PRAGMA table_info({view})").fetchall()
        finally:
            conn.exec_driver_sql(f"DROP VIEW {view}")
        declared = [(row[1], sqlite_declared_type(row[2] or "")) for row in info]
        open_columns = [name for name, kind in declared if kind is None]
        classes: dict[str, set[str]] = {name: set() for name in open_columns}
        if open_columns:
            quote = conn.dialect.identifier_preparer.quote
            parts = ", ".join(f"typeof({quote(c)})" for c in open_columns)
            found = conn.execute(
                sa.text(f"SELECT DISTINCT {parts} FROM ({statement.text})"),
                self._bound(statement),
            )
            for row in found:
                for name, kind in zip(open_columns, row, strict=True):
                    classes[name].add(kind)
        return [
            pa.field(name, kind if kind is not None else sqlite_class_type(classes[name]))
            for name, kind in declared
        ]

    def _bound(self, statement: Any) -> dict[str, Any]:
        """The query's parameters: every placeholder given, nothing given that is unused."""
        wanted = set(statement._bindparams)
        missing = sorted(wanted - set(self.params))
        unused = sorted(set(self.params) - wanted)
        if missing or unused:
            parts = []
            if missing:
                parts.append(f"no value for {', '.join(':' + m for m in missing)}")
            if unused:
                parts.append(f"params {', '.join(unused)} not used by the query")
            raise InputError(
                f"input '{self.artifact}': {'; '.join(parts)}; params: binds each :name "
                "placeholder of the query (values are never formatted into the text)",
                artifact=self.artifact,
            )
        return self.params

    def _check_names(self, names: list[str]) -> None:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InputError(
                f"input '{self.artifact}' ({self.shown}): the result has column "
                f"{', '.join(repr(n) for n in twice)} more than once; name each column once "
                "(SELECT a.id AS a_id, b.id AS b_id ...)",
                artifact=self.artifact,
            )

    # --- the rows -------------------------------------------------------------------------

    def read(self) -> pa.Table:
        """The whole result as one table."""
        tables = list(self.chunks(1 << 16))
        return pa.concat_tables(tables) if tables else self.schema().empty_table()

    def chunks(self, rows: int) -> Iterator[pa.Table]:
        """The result in tables of ``rows`` rows (one empty table when there is none)."""
        schema = self.schema()
        engine = self._connect()
        try:
            with engine.connect() as conn:
                streamed = conn.execution_options(stream_results=True, max_row_buffer=rows)
                statement = self._statement(conn)
                try:
                    result = streamed.execute(statement, self._bound(statement))
                except InputError:
                    raise
                except Exception as exc:
                    raise self._fail(exc) from None
                start, emitted = 0, False
                converters = [_converter(f.type, self.dialect) for f in schema]
                while True:
                    try:
                        part = result.fetchmany(rows)
                    except Exception as exc:
                        raise self._fail(exc) from None
                    if not part and emitted:
                        break
                    yield self._table(schema, converters, part, start)
                    emitted, start = True, start + len(part)
                    if not part:
                        break
        finally:
            engine.dispose()

    def _table(
        self,
        schema: pa.Schema,
        converters: list[Callable[[list[Any]], list[Any]]],
        part: list[Any],
        start: int,
    ) -> pa.Table:
        columns = list(zip(*part, strict=True)) if part else [() for _ in schema]
        arrays = []
        for field, convert, values in zip(schema, converters, columns, strict=True):
            try:
                arrays.append(pa.array(convert(list(values)), field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, OverflowError):
                arrays.append(self._bad(field, convert, list(values), start))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _bad(
        self,
        field: pa.Field,
        convert: Callable[[list[Any]], list[Any]],
        values: list[Any],
        start: int,
    ) -> pa.Array:
        """Name the first value that does not fit its column's type (SQLite keeps any value
        in any column), by its row of the result (1 = the first)."""
        for i, value in enumerate(values):
            try:
                pa.array(convert([value]), field.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, OverflowError):
                raise InputError(
                    f"input '{self.artifact}' ({self.shown}): row {start + i + 1}, column "
                    f"'{field.name}': {value!r} is not a {field.type} value, as the column's "
                    "declared type says; fix the value, or CAST the column in a query",
                    artifact=self.artifact,
                    column=field.name,
                    row=start + i + 1,
                ) from None
        raise AssertionError("a column failed as a whole but no value alone")


def _limited(statement: Any) -> Any:
    """The statement wrapped to return no rows (its description only)."""
    import sqlalchemy as sa

    wrapped = sa.text(f"SELECT * FROM ({statement.text}) AS trakt_probe LIMIT 0")
    return wrapped


def _converter(kind: pa.DataType, dialect: str) -> Callable[[list[Any]], list[Any]]:
    """How a column's driver values become values pyarrow takes for ``kind``."""
    if pa.types.is_string(kind):
        return lambda values: [None if v is None else _text(v) for v in values]
    if dialect != "sqlite":
        return lambda values: values
    if pa.types.is_boolean(kind):
        return lambda values: [None if v is None else _flag(v) for v in values]
    if pa.types.is_date(kind):
        return lambda values: [None if v is None else _date(v) for v in values]
    if pa.types.is_timestamp(kind):
        return lambda values: [None if v is None else _timestamp(v) for v in values]
    if pa.types.is_time(kind):
        return lambda values: [
            None if v is None else datetime.time.fromisoformat(v) for v in values
        ]
    if pa.types.is_decimal(kind):
        return lambda values: [None if v is None else decimal.Decimal(str(v)) for v in values]
    if pa.types.is_floating(kind):
        return lambda values: [None if v is None else _number(v) for v in values]
    return lambda values: values


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        raise TypeError("bytes in a text column")
    if isinstance(value, decimal.Decimal | uuid.UUID | int | float):
        return str(value)
    return str(value)


def _flag(value: Any) -> bool:
    if value in (0, 1) and not isinstance(value, float | str):
        return bool(value)
    raise ValueError(value)


def _date(value: Any) -> datetime.date:
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)  # a time after the date is refused
    raise ValueError(value)


def _timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    raise ValueError(value)


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(value)
