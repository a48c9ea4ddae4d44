"""Fixtures of the runtime tests: ``db``, the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import Database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        database = Database(f"sqlite:///{path}", f"sqlite:///{path}")
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.url_for(server.create_database())
        database = Database(url, url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield database
    database.engine.dispose()
