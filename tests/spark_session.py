"""One local Spark session for every test module that runs pipelines on Spark in-process:
starting one (a JVM, then Python workers importing Trakt) costs seconds, and each module
starting its own made the suite wait for that four times."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """``local[2]``, stopped at the end of the session; use it through a module's ``spark``."""
    pytest.importorskip("pyspark")
    from trakt.runtime.spark_session import start_session

    session = start_session("local[2]", 50_000, {})
    yield session
    session.stop()


@contextmanager
def spark_conf(session: Any, conf: Mapping[str, str]) -> Iterator[Any]:
    """``session`` with ``conf`` set, and every key as it was afterwards (the session is
    shared: one module's settings must not reach the next)."""
    before = {key: session.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        session.conf.set(key, value)
    try:
        yield session
    finally:
        for key, value in before.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)
