"""Validation of database inputs and outputs (a ``uri`` naming a SQLite or PostgreSQL
database): which keys they take, checked statically, every problem at its YAML key."""

from __future__ import annotations

from dataclasses import dataclass

from trakt.io.sql_urls import check_database_uri, dialect, is_database
from trakt.model.model import InputSpec, OutputDataset

# Keys of a file input that mean nothing for a database (the defaults are not reported).
_FILE_ONLY_INPUT = ("format", "sheet", "source_column", "options")
_IDENTIFIER_PARTS = 2  # table or schema.table


@dataclass(frozen=True)
class TableSpec:
    """Where a database output goes and how it is written."""

    uri: str
    table: str
    if_exists: str
    upsert_keys: tuple[str, ...] | None
    create_table: bool

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return dialect(self.uri) or ""


def database_input_problems(inp: InputSpec, uri: str) -> list[tuple[str, str]]:
    """(YAML key, message) for each problem of an input whose uri names a database."""
    wrong = check_database_uri(uri)
    if wrong:
        return [("uri", wrong)]
    problems: list[tuple[str, str]] = []
    if (inp.table is None) == (inp.query is None):
        problems.append(
            (
                "uri",
                "a database input reads a table or a query: give exactly one of "
                "table: NAME or query: SELECT ...",
            )
        )
    if inp.table is not None:
        problem = _table_problem(inp.table)
        if problem:
            problems.append(("table", problem))
    if inp.params and inp.query is None:
        problems.append(("params", "params bind a query's :name placeholders: add query:"))
    for key in _FILE_ONLY_INPUT:
        if getattr(inp, key) not in (None, {}):
            problems.append((key, f"'{key}' applies to files, not to a database input"))
    if inp.on_bad_lines != "error":
        problems.append(
            (
                "on_bad_lines",
                "on_bad_lines applies to CSV files; a database's rows always have every "
                "column: declare a schema with on_violation: warn | quarantine instead",
            )
        )
    if inp.combine_strategy != "concat":
        problems.append(("combine_strategy", "a database input is one result: remove it"))
    if inp.storage_options:
        problems.append(("storage_options", "storage_options apply to object stores"))
    return problems


def file_input_problems(inp: InputSpec) -> list[tuple[str, str]]:
    """Database keys on an input of files."""
    return [
        (key, f"'{key}' applies to database inputs (uri: sqlite:///... or postgresql://...)")
        for key in ("table", "query", "params")
        if getattr(inp, key) not in (None, {})
    ]


def table_spec(dataset: OutputDataset) -> tuple[TableSpec | None, list[tuple[str, str]]]:
    """A database output's spec, and (YAML key, message) for each problem."""
    uri = dataset.uri or ""
    if not is_database(uri):
        return None, [
            (
                "uri",
                f"an output's uri names a database (sqlite:///path.db, postgresql://host/db); "
                f"found {uri!r}: files go to the output dir (path:), object stores by "
                "--output-dir s3://...",
            )
        ]
    wrong = check_database_uri(uri)
    problems: list[tuple[str, str]] = [("uri", wrong)] if wrong else []
    if dataset.table is None:
        problems.append(("uri", f"output '{dataset.name}': a database output needs table: NAME"))
    else:
        problem = _table_problem(dataset.table)
        if problem:
            problems.append(("table", problem))
    for key in ("format", "path"):
        if getattr(dataset, key) is not None:
            problems.append((key, f"'{key}' applies to files, not to a database output"))
    if dataset.options:
        problems.append(("options", "writer options apply to files, not to a database output"))
    if dataset.storage_options:
        problems.append(("storage_options", "storage_options apply to object stores"))
    keys = dataset.upsert_keys
    if keys is not None and dataset.if_exists == "replace":
        problems.append(
            (
                "upsert_keys",
                "upsert_keys merge into the table, if_exists: replace re-creates it: keep one",
            )
        )
    if keys is not None and len(set(keys)) < len(keys):
        problems.append(("upsert_keys", "a key column is listed twice"))
    if problems or dataset.table is None:
        return None, problems
    upsert = tuple(keys) if keys is not None else None
    spec = TableSpec(uri, dataset.table, dataset.if_exists, upsert, dataset.create_table)
    return spec, []


def file_output_problems(dataset: OutputDataset) -> list[tuple[str, str]]:
    """Database keys on an output written to a file."""
    problems = []
    for key in ("table", "upsert_keys"):
        if getattr(dataset, key) is not None:
            problems.append((key, f"'{key}' applies to database outputs: add uri: too"))
    if dataset.if_exists != "fail" or not dataset.create_table:
        key = "if_exists" if dataset.if_exists != "fail" else "create_table"
        problems.append(
            (key, f"'{key}' applies to database outputs (a file output replaces its file)")
        )
    return problems


def _table_problem(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) > _IDENTIFIER_PARTS or any(not p.strip() for p in parts):
        return f"'{name}' is not a table name: write NAME or SCHEMA.NAME"
    return None
