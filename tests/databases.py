"""A database for one test (SQLite, or a fresh database on the suite's PostgreSQL server):
its uri, and plain SQL to set it up and look into it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


class Database:
    """A database for one test: its uri, and plain SQL to set it up and look into it."""

    def __init__(self, uri: str, engine_uri: str) -> None:
        self.uri = uri
        self.engine = sa.create_engine(engine_uri, poolclass=sa.pool.NullPool)

    def sql(self, *statements: str) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query).fetchall()]
