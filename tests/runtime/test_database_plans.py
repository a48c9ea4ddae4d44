"""Database inputs and outputs are checked statically: every misplaced or missing key is
reported at its YAML line, all at once, before anything connects."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from trakt import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError
from trakt.runtime.local_runner import LocalRunner


def problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    with pytest.raises(PipelineValidationError) as caught:
        LocalRunner(tmp_path, tmp_path / "out").run(load_pipeline_from_yaml(path))
    return str(caught.value)


def test_every_database_key_problem_is_reported_at_its_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        name: p
        inputs:
          both: {uri: "sqlite:///a.db", table: t, query: "SELECT 1"}
          neither: {uri: "sqlite:///a.db"}
          loose: {uri: "sqlite:///a.db", table: t, params: {x: 1}, sheet: 1, on_bad_lines: skip}
          file: {uri: a.csv, table: t}
          mysql: {uri: "mysql://h/db", table: t}
        outputs:
          datasets:
            - {name: o1, from: both, uri: "sqlite:///b.db"}
            - {name: o2, from: both, uri: "sqlite:///b.db", table: t, path: x.csv}
            - {name: o3, from: both, uri: "sqlite:///b.db", table: t}
            - {name: o4, from: both, table: t, if_exists: append}
            - {name: o5, from: both, uri: "sqlite:///b.db", table: u, if_exists: replace,
               upsert_keys: [id]}
            - {name: o6, from: both, uri: "s3://bucket/x.csv"}
            - {name: o7, from: both, uri: "sqlite:///b.db", table: t}
        """,
    )
    expected = [
        r":3:.*give exactly one of table: NAME or query: SELECT",
        r":4:.*give exactly one of table",
        r":5:.*params bind a query's :name placeholders",
        r":5:.*'sheet' applies to files, not to a database input",
        r":5:.*on_bad_lines applies to CSV files",
        r":6:.*'table' applies to database inputs",
        r":7:.*mysql databases are not supported",
        r":10:.*a database output needs table: NAME",
        r":11:.*'path' applies to files, not to a database output",
        r":17:.*writes table t, as output 'o3' \(datasets\[2\]\) does",
        r":13:.*'table' applies to database outputs: add uri: too",
        r":13:.*'if_exists' applies to database outputs",
        r":15:.*upsert_keys merge into the table, if_exists: replace re-creates it",
        r":16:.*an output's uri names a database",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in found.splitlines()), (
            f"{pattern!r} not in:\n{found}"
        )


def test_an_in_memory_sqlite_database_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        name: p
        inputs:
          s: {uri: "sqlite:///:memory:", table: t}
        outputs:
          datasets: [{name: o, from: s}]
        """,
    )
    assert "an in-memory SQLite database does not outlive the run" in found
