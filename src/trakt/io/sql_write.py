"""Writing database outputs inside one transaction per database per run.

A :class:`DatabaseSession` is the run's connection to one database and its one open
transaction; every output to that database is a :class:`TableLoad` on it. Nothing is
committed until the run has succeeded (:meth:`DatabaseSession.commit`); a failed, cancelled
or killed run ends the transaction without a commit, so the tables stay exactly as they were.

- ``if_exists: fail`` refuses a table that exists; ``replace`` drops and re-creates it from
  the output's columns (as pandas' ``to_sql`` does); ``append`` inserts into it.
- ``upsert_keys`` loads into a temporary staging table, then, in the transaction, deletes the
  target's rows whose keys the output has and inserts the output's rows.
- Rows are bulk-loaded: PostgreSQL by ``COPY ... FROM STDIN`` (CSV), SQLite by
  ``executemany``. A table that does not exist is created from the Arrow schema
  (``create_table``, on by default).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trakt.errors import OutputError
from trakt.io.sql_columns import describe_table, fits_sqlite_column
from trakt.io.sql_connect import database_error, make_engine
from trakt.io.sql_types import ddl_type, sqlite_value
from trakt.io.sql_urls import dialect, redacted_url


class DatabaseSession:
    """The run's connection to one database, and its one transaction (opened on first use)."""

    def __init__(self, uri: str, base: Path) -> None:
        self.uri = uri
        self.base = base
        self.dialect = dialect(uri) or ""
        self._engine: Any = None
        self._conn: Any = None
        self._transaction: Any = None
        self.loads = 0  # names each output's staging table

    def connection(self, where: str) -> Any:
        """The open connection (the transaction begun); ``where`` names who asks, for errors."""
        if self._conn is None:
            try:
                self._engine = make_engine(self.uri, self.base, read_only=False)
                self._conn = self._engine.connect()
                self._transaction = self._conn.begin()
            except Exception as exc:
                self.close()
                raise self.error(exc, where) from None
        return self._conn

    def error(self, exc: BaseException, where: str) -> OutputError:
        """A database error as an OutputError naming ``where``, without the password."""
        error = database_error(exc, self.uri, where, output=True, fields={})
        assert isinstance(error, OutputError)
        return error

    def commit(self) -> None:
        """Make every write of the run visible at once."""
        if self._transaction is not None:
            try:
                self._transaction.commit()
            except Exception as exc:
                raise self.error(exc, f"committing to {redacted_url(self.uri)}") from None
            self._transaction = None

    def close(self) -> None:
        """End the session; an open transaction is rolled back (never raising)."""
        if self._conn is not None:
            # The connection may be gone; the server rolls back then.
            with contextlib.suppress(Exception):
                if self._transaction is not None:
                    self._transaction.rollback()
            with contextlib.suppress(Exception):
                self._conn.close()
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._conn = self._transaction = None


class TableLoad:
    """One output written to a database table within its session's transaction."""

    def __init__(
        self,
        session: DatabaseSession,
        output: str,
        table: str,
        if_exists: str,
        upsert_keys: list[str] | None,
        create_table: bool,
    ) -> None:
        self.session = session
        self.output = output
        self.table = table
        self.if_exists = if_exists
        self.upsert_keys = upsert_keys
        self.create_table = create_table
        self.where = f"output '{output}' ({redacted_url(session.uri)} table {table})"
        self.existed: bool | None = None
        self.columns: dict[str, str] = {}  # the existing table's columns: declared type
        self.destination: str | None = None  # where rows go: the table, or a staging table
        self.names: list[str] = []
        self.rows = 0

    # --- before data ------------------------------------------------------------------------

    def check(self) -> None:
        """Connect, and check what can be checked before any data moves: the table exists
        or may be created, ``if_exists: fail`` finds none, the upsert keys are columns."""
        conn = self._conn()
        try:
            self.existed, self.columns = describe_table(conn, self.table, self.session.dialect)
        except Exception as exc:
            raise self.session.error(exc, self.where) from None
        if self.existed and self.if_exists == "fail" and self.upsert_keys is None:
            raise self._error(
                "the table exists and if_exists is fail (the default): set if_exists: replace "
                "(drop and re-create it), append (add the rows), or upsert_keys (merge)"
            )
        if not self.existed and not self.create_table:
            raise self._error(
                "the table does not exist and create_table is false: create it first, or "
                "remove create_table: false"
            )
        if self.existed and self.upsert_keys:
            absent = [k for k in self.upsert_keys if k not in self.columns]
            if absent:
                raise self._error(
                    f"upsert_keys {absent} are not columns of the table (it has "
                    f"{', '.join(self.columns)})"
                )

    # --- data -----------------------------------------------------------------------------

    def write(self, table: pa.Table) -> None:
        """Load one table (batch) or chunk (stream) of the output's rows."""
        if self.destination is None:
            self._start(table.schema)
        assert self.destination is not None
        table = self._storable(table)
        try:
            if self.session.dialect == "postgresql":
                self._copy(table)
            else:
                self._insert(table)
        except OutputError:
            raise
        except Exception as exc:
            raise self.session.error(exc, self.where) from None
        self.rows += table.num_rows

    def finish(self, schema: pa.Schema | None) -> None:
        """After the last chunk: an output with no chunk still gets its table; an upsert
        merges its staging table into the target (still uncommitted)."""
        if self.destination is None:
            self._start(schema if schema is not None else pa.schema([]))
        if self.upsert_keys is None or self.destination == self.table:
            return
        try:
            self._merge()
        except OutputError:
            raise
        except Exception as exc:
            raise self.session.error(exc, self.where) from None

    # --- helpers --------------------------------------------------------------------------

    def _conn(self) -> Any:
        return self.session.connection(self.where)

    def _error(self, message: str, **fields: Any) -> OutputError:
        return OutputError(f"{self.where}: {message}", output=self.output, **fields)

    def _quote(self, name: str) -> str:
        return str(self._conn().dialect.identifier_preparer.quote(name))

    def _qualified(self, name: str) -> str:
        return ".".join(self._quote(part) for part in name.split("."))

    def _start(self, schema: pa.Schema) -> None:
        """Create, drop or check the table, and choose where rows go."""
        conn = self._conn()
        self.names = list(schema.names)
        try:
            if self.existed and self.if_exists == "replace" and self.upsert_keys is None:
                conn.exec_driver_sql(f"DROP TABLE {self._qualified(self.table)}")
                self.existed, self.columns = False, {}
            if not self.existed:
                self._create(schema)
            else:
                self._check_columns(schema)
            if self.upsert_keys is not None and self.existed:
                self.session.loads += 1
                stage = f"trakt_stage_{self.session.loads}"
                cols = ", ".join(self._quote(n) for n in self.names)
                conn.exec_driver_sql(
                    f"CREATE TEMP TABLE {stage} AS SELECT {cols} FROM "
                    f"{self._qualified(self.table)} WHERE 1 = 0"
                )
                self.destination = stage
            else:
                self.destination = self.table
        except OutputError:
            raise
        except Exception as exc:
            raise self.session.error(exc, self.where) from None

    def _create(self, schema: pa.Schema) -> None:
        dialect_name = self.session.dialect
        columns = [
            f"{self._quote(f.name)} {ddl_type(f.type, dialect_name, f.name, self.output)}"
            for f in schema
        ]
        if self.upsert_keys:
            absent = [k for k in self.upsert_keys if k not in schema.names]
            if absent:
                raise self._error(
                    f"upsert_keys {absent} are not columns of the output (it has "
                    f"{', '.join(schema.names)})"
                )
            keys = ", ".join(self._quote(k) for k in self.upsert_keys)
            columns.append(f"PRIMARY KEY ({keys})")
        if not columns:
            raise self._error("the output has no columns: a table needs at least one")
        self._conn().exec_driver_sql(
            f"CREATE TABLE {self._qualified(self.table)} ({', '.join(columns)})"
        )

    def _check_columns(self, schema: pa.Schema) -> None:
        """Every column of the output is a column of the table, of a type it can hold."""
        absent = [n for n in schema.names if n not in self.columns]
        if absent:
            raise self._error(
                f"column {', '.join(repr(n) for n in absent)} not found in the table (it has "
                f"{', '.join(self.columns)}); rename the output's columns in a step, or use "
                "if_exists: replace to re-create the table",
                column=absent[0],
            )
        if self.session.dialect != "sqlite":
            return  # PostgreSQL checks every value itself, naming the column
        for field in schema:
            declared = self.columns[field.name]
            if not fits_sqlite_column(field.type, declared):
                raise self._error(
                    f"column '{field.name}' holds {field.type} values but the table declares "
                    f"it {declared or 'untyped'}; SQLite would store them unchanged in any "
                    "column, so Trakt refuses: cast the column in a step, or re-create the "
                    "table (if_exists: replace)",
                    column=field.name,
                )

    def _storable(self, table: pa.Table) -> pa.Table:
        """Dictionary columns decoded; NaN refused where SQLite would store NULL."""
        for i, field in enumerate(table.schema):
            if pa.types.is_dictionary(field.type):
                table = table.set_column(i, field.name, table.column(i).dictionary_decode())
            elif (
                self.session.dialect == "sqlite"
                and pa.types.is_floating(field.type)
                and pc.any(pc.is_nan(table.column(i))).as_py()
            ):
                raise self._error(
                    f"column '{field.name}' holds NaN, which SQLite stores as NULL (a value "
                    "changed silently); replace NaN with None or a number in a step",
                    column=field.name,
                )
        return table

    def _copy(self, table: pa.Table) -> None:
        """PostgreSQL: one ``COPY ... FROM STDIN`` of the chunk as CSV."""
        if table.num_rows == 0:
            return
        for i, field in enumerate(table.schema):
            if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
                hexed = [
                    None if v is None else "\\x" + v.hex() for v in table.column(i).to_pylist()
                ]
                table = table.set_column(i, field.name, pa.array(hexed, pa.string()))
            elif pa.types.is_duration(field.type):
                micro = pc.cast(table.column(i).cast(pa.duration("us")), pa.int64())
                text = [None if v is None else f"{v} microseconds" for v in micro.to_pylist()]
                table = table.set_column(i, field.name, pa.array(text, pa.string()))
        sink = io.BytesIO()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
        cols = ", ".join(self._quote(n) for n in table.schema.names)
        raw = self._conn().connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(
                f"COPY {self._qualified_dest()} ({cols}) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            copy.write(sink.getbuffer())

    def _insert(self, table: pa.Table) -> None:
        """SQLite: ``executemany`` of the chunk's rows."""
        if table.num_rows == 0:
            return
        columns = []
        for column in table.columns:
            values = column.to_pylist()
            if not (pa.types.is_integer(column.type) or pa.types.is_string(column.type)):
                values = [None if v is None else sqlite_value(v) for v in values]
            columns.append(values)
        cols = ", ".join(self._quote(n) for n in table.schema.names)
        marks = ", ".join("?" for _ in table.schema.names)
        raw = self._conn().connection.driver_connection
        raw.executemany(
            f"INSERT INTO {self._qualified_dest()} ({cols}) VALUES ({marks})",
            zip(*columns, strict=True),
        )

    def _qualified_dest(self) -> str:
        assert self.destination is not None
        if self.destination == self.table:
            return self._qualified(self.table)
        return self.destination

    def _merge(self) -> None:
        """Upsert: the staging table's rows replace the target's rows with the same keys."""
        assert self.upsert_keys is not None and self.destination is not None
        conn = self._conn()
        stage, target = self.destination, self._qualified(self.table)
        keys = [self._quote(k) for k in self.upsert_keys]
        twice = conn.exec_driver_sql(
            f"SELECT {', '.join(keys)}, COUNT(*) FROM {stage} GROUP BY {', '.join(keys)} "
            "HAVING COUNT(*) > 1 LIMIT 1"
        ).fetchone()
        if twice is not None:
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(self.upsert_keys, twice, strict=False))
            raise self._error(
                f"the output has {twice[-1]} rows with the upsert keys {shown}; each key must "
                "be unique in the output (dedupe it in a step)"
            )
        match = " AND ".join(f"{target}.{k} = {stage}.{k}" for k in keys)
        conn.exec_driver_sql(
            f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {stage} WHERE {match})"
        )
        cols = ", ".join(self._quote(n) for n in self.names)
        conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage}")
        conn.exec_driver_sql(f"DROP TABLE {stage}")
