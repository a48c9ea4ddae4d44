"""Shared fixtures: a throw-away project directory with step modules and input files."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg_server import PostgresDatabase, PostgresServer, PostgresUnavailable

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
_counter = itertools.count()


class Project:
    """A pipeline project in tmp_path: pipeline.yaml, a unique step package, input/ output/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.package = f"tsteps_{next(_counter)}_{root.name.replace('-', '_')}"
        (root / self.package).mkdir()
        (root / self.package / "__init__.py").write_text("")
        self.input_dir = root / "input"
        self.output_dir = root / "output"
        self.input_dir.mkdir()

    def step(self, name: str, code: str) -> str:
        """Write a step module; return its dotted name for `uses:`."""
        (self.root / self.package / f"{name}.py").write_text(textwrap.dedent(code))
        importlib.invalidate_caches()  # a module written after an import attempt is found
        return f"{self.package}.{name}"

    def csv(self, relpath: str, text: str) -> Path:
        path = self.input_dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def pipeline(self, yaml_text: str, name: str = "pipeline.yaml") -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(yaml_text).lstrip("\n"))
        return path


DOUBLE = """
def run(ctx, input, output):
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


# The description's stream step, copied verbatim (test_stream checks it against the description).
STREAM_DOUBLE = """\
def run(ctx, input, output):
    def _iter_chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame
    return {"output": _iter_chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def batch_step(body: str, params: str = "", head: str = "") -> str:
    """A step module: ``head`` (imports), then ``run(ctx, input, output, <params>)`` = ``body``."""
    args = f", {params}" if params else ""
    return (
        f"{textwrap.dedent(head).strip()}\n\ndef run(ctx, input, output{args}):\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n\nrun.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
    )


def stream_step(body: str, params: str = "", head: str = "") -> str:
    """A stream-capable step module whose ``body`` runs per chunk (``i``, ``chunk``), yielding."""
    loop = "def chunks():\n    for i, chunk in enumerate(input):\n"
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "        ")
    step = batch_step(f"{loop}{inner}\nreturn {{'output': chunks()}}", params, head)
    return step + "run.supports_stream = True\n"


# Passes its input on unchanged.
PASSTHROUGH = """
def run(ctx, input, output):
    return {"output": input}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

SIMPLE = """
name: simple
execution:
  mode: {mode}
inputs:
  records:
    uri: {uri}
steps:
  - id: step1
    uses: {uses}
    with:
      input: records
      output: result
outputs:
  datasets:
    - name: final
      from: result
"""


def simple_pipeline(uses: str, mode: str = "batch", uri: str = "records.csv") -> str:
    """One input ``records`` -> step ``step1`` (``uses``) -> output ``final``."""
    return SIMPLE.format(uses=uses, mode=mode, uri=uri)


def forget_package(package: str) -> None:
    """Drop ``package`` and its modules from ``sys.modules`` (the next test may reuse names)."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = Project(tmp_path)
    yield proj
    forget_package(proj.package)


@pytest.fixture
def memory() -> Iterator[Any]:
    """fsspec's memory store (``memory://``), emptied afterwards: it lives as long as the
    process, and one test's files must not be another's."""
    fsspec = pytest.importorskip("fsspec")
    from fsspec.implementations.memory import MemoryFileSystem

    fs = fsspec.filesystem("memory")
    yield fs
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]


from tests.s3server import s3, s3_endpoint  # noqa: E402, F401 - fixtures of the S3 tests
from tests.spark_session import spark_session  # noqa: E402, F401 - the Spark tests' session

POSTGRES_FIXTURES = {"postgres_server", "postgres_url", "postgres_database"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test using a PostgreSQL fixture is marked ``postgres`` even if its author forgot, so
    ``-m 'not postgres'`` (make test-fast) never starts a server."""
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (tests/pg_server.py), stopped at the end."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        reason = str(exc)  # failed outside the handler: pytest shows one clear message
    else:
        reason = ""
    if reason:
        pytest.fail(f"cannot start PostgreSQL for the tests marked postgres: {reason}", False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql://trakt:<password>@127.0.0.1:<port>/trakt``: the session's shared database."""
    return postgres_server.url


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A fresh empty database for one test, dropped afterwards."""
    database = PostgresDatabase(postgres_server, postgres_server.create_database())
    yield database
    postgres_server.drop_database(database.name)
