"""Database inputs and outputs, the same tests on SQLite and on a real PostgreSQL server:
tables and queries in, replace / append / upsert out, in batch and stream mode; a failed run
leaves every table as it was; types round-trip."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.databases import Database
from tests.pg_server import PASSWORD
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

sa = pytest.importorskip("sqlalchemy")

MODES = ["batch", "stream"]
FAIL_AT_3 = """
def run(ctx, input, output):
    def chunks():
        seen = 0
        for chunk in input:
            seen += len(chunk)
            if seen >= 3:
                raise RuntimeError("boom at row 3")
            yield chunk
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def run(tmp_path: Path, text: str, mode: str = "batch", chunk: int = 2) -> dict[str, Any]:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"{text}execution:\n  mode: {mode}\n")
    runner = LocalRunner(tmp_path, tmp_path / "out", stream_chunk_size=chunk)
    result = runner.run(load_pipeline_from_yaml(pipeline))
    # Whatever happened, the server's password is in no byte the run wrote or returned.
    for path in (tmp_path / "out").rglob("*"):
        assert not path.is_file() or PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in json.dumps(result, default=str)
    return result


def manifest(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "manifest.json").read_text())


PEOPLE = "id,name,amount\n1,ann,1.5\n2,bo,\n3,cy,2.25\n4,di,-1\n5,ed,0\n"


def load(tmp_path: Path, db: Database, extra: str = "", mode: str = "batch") -> dict[str, Any]:
    """people.csv into the table ``people``."""
    (tmp_path / "people.csv").write_text(PEOPLE)
    text = (
        "name: load\ninputs:\n  src: {uri: people.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: src, uri: '{db.uri}', table: people{extra}}}\n"
    )
    return run(tmp_path, text, mode)


# --- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_table_and_a_query_are_read_in_both_modes(
    tmp_path: Path, db: Database, mode: str
) -> None:
    db.sql(
        "CREATE TABLE people (id INTEGER, name TEXT, amount DOUBLE PRECISION)",
        "INSERT INTO people VALUES (1, 'ann', 1.5), (2, 'bo', NULL), (3, 'cy', 2.25)",
    )
    text = (
        "name: read\ninputs:\n"
        f"  whole: {{uri: '{db.uri}', table: people}}\n"
        f"  some:\n    uri: '{db.uri}'\n"
        "    query: SELECT name, amount FROM people WHERE id >= :low ORDER BY id\n"
        "    params: {low: 2}\n"
        "outputs:\n  datasets: [{name: a, from: whole}, {name: b, from: some}]\n"
    )
    result = run(tmp_path, text, mode, chunk=1)
    assert result["status"] == "success"
    out = tmp_path / "out"
    assert (out / "a.csv").read_text() == "id,name,amount\n1,ann,1.5\n2,bo,\n3,cy,2.25\n"
    assert (out / "b.csv").read_text() == "name,amount\nbo,\ncy,2.25\n"
    record = manifest(tmp_path)["inputs"]
    assert record["whole"]["table"] == "people" and record["whole"]["rows"] == 3
    assert record["some"]["query"].startswith("SELECT name") and record["some"]["rows"] == 2
    assert "params" not in record["some"]  # params are never recorded (they may be secret)


def test_a_query_with_an_unbound_placeholder_is_refused(tmp_path: Path, db: Database) -> None:
    db.sql("CREATE TABLE t (a INTEGER)")
    text = (
        f"name: q\ninputs:\n  s: {{uri: '{db.uri}', query: 'SELECT a FROM t WHERE a > :x'}}\n"
        "outputs:\n  datasets: [{name: o, from: s}]\n"
    )
    result = run(tmp_path, text)
    assert result["status"] == "failed"
    assert "no value for :x" in result["error"]["message"]


def test_a_missing_table_is_named_before_any_data_moves(tmp_path: Path, db: Database) -> None:
    db.sql("CREATE TABLE somewhere (a INTEGER)")
    text = (
        f"name: q\ninputs:\n  s: {{uri: '{db.uri}', table: nowhere}}\n"
        "outputs:\n  datasets: [{name: o, from: s}]\n"
    )
    result = run(tmp_path, text)
    assert result["status"] == "failed"
    message = result["error"]["message"]
    assert message.startswith("input 's' (") and "table not found" in message
    assert "nowhere" in message
    assert not (tmp_path / "out" / "o.csv").exists()


# --- outputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_replace_append_and_upsert(tmp_path: Path, db: Database, mode: str) -> None:
    assert load(tmp_path, db, mode=mode)["status"] == "success"
    first = db.rows("SELECT id, name, amount FROM people ORDER BY id")
    assert first == [
        (1, "ann", 1.5),
        (2, "bo", None),
        (3, "cy", 2.25),
        (4, "di", -1.0),
        (5, "ed", 0.0),
    ]
    again = load(tmp_path, db, mode=mode)  # if_exists: fail, the default
    assert again["status"] == "failed"
    assert "the table exists and if_exists is fail" in again["error"]["message"]
    assert load(tmp_path, db, ", if_exists: append", mode)["status"] == "success"
    assert db.rows("SELECT COUNT(*) FROM people") == [(10,)]
    assert load(tmp_path, db, ", if_exists: replace", mode)["status"] == "success"
    assert db.rows("SELECT id, name, amount FROM people ORDER BY id") == first
    (tmp_path / "people.csv").write_text("id,name,amount\n2,bob,7\n6,fay,8\n")
    text = (
        "name: up\ninputs:\n  src: {uri: people.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: src, uri: '{db.uri}', table: people, upsert_keys: [id]}}\n"
    )
    assert run(tmp_path, text, mode)["status"] == "success"
    assert db.rows("SELECT id, name, amount FROM people ORDER BY id") == [
        (1, "ann", 1.5),
        (2, "bob", 7.0),
        (3, "cy", 2.25),
        (4, "di", -1.0),
        (5, "ed", 0.0),
        (6, "fay", 8.0),
    ]
    entry = manifest(tmp_path)["outputs"][0]
    assert (entry["table"], entry["if_exists"], entry["rows"]) == ("people", "upsert", 2)
    assert "***" not in entry["uri"] or ":***@" in entry["uri"]


def test_upsert_keys_repeated_in_the_output_are_refused(tmp_path: Path, db: Database) -> None:
    db.sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, amount REAL)")
    db.sql("INSERT INTO people VALUES (1, 'old', 0)")
    (tmp_path / "people.csv").write_text("id,name,amount\n1,a,1\n1,b,2\n")
    text = (
        "name: up\ninputs:\n  src: {uri: people.csv}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: src, uri: '{db.uri}', table: people, upsert_keys: [id]}}\n"
    )
    result = run(tmp_path, text)
    assert result["status"] == "failed"
    assert "2 rows with the upsert keys id=1" in result["error"]["message"]
    assert db.rows("SELECT id, name FROM people") == [(1, "old")]


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_run_leaves_every_table_as_it_was(tmp_path: Path, db: Database, mode: str) -> None:
    db.sql(
        "CREATE TABLE people (id INTEGER, name TEXT, amount REAL)",
        "CREATE TABLE other (id INTEGER, name TEXT, amount REAL)",
        "INSERT INTO people VALUES (9, 'kept', 9)",
    )
    (tmp_path / "steps_fail.py").write_text(FAIL_AT_3)
    (tmp_path / "people.csv").write_text(PEOPLE)
    text = (
        "name: fails\ninputs:\n  src: {uri: people.csv}\n"
        "steps:\n  - {id: bad, uses: steps_fail, with: {input: src, output: bad_out}}\n"
        "outputs:\n  datasets:\n"
        f"    - {{name: direct, from: src, uri: '{db.uri}', table: other, if_exists: append}}\n"
        f"    - {{name: t, from: bad_out, uri: '{db.uri}', table: people, if_exists: replace}}\n"
        f"    - {{name: fresh, from: src, uri: '{db.uri}', table: fresh}}\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        result = run(tmp_path, text, mode, chunk=1)
    finally:
        sys.path.remove(str(tmp_path))
    assert result["status"] == "failed"
    assert "boom at row 3" in result["error"]["message"]
    assert db.rows("SELECT id, name FROM people") == [(9, "kept")]
    assert db.rows("SELECT COUNT(*) FROM other") == [(0,)]
    inspector = sa.inspect(db.engine)
    assert not inspector.has_table("fresh")


def test_a_type_round_trip(tmp_path: Path, db: Database) -> None:
    table = pa.table(
        {
            "n": pa.array([1, None, -(2**62)], pa.int64()),
            "f": pa.array([0.1, None, -1e300], pa.float64()),
            "s": pa.array(["a", "", None], pa.string()),
            "b": pa.array([True, None, False], pa.bool_()),
            "d": pa.array([dt.date(2024, 2, 29), None, dt.date(1900, 1, 1)], pa.date32()),
            "ts": pa.array(
                [dt.datetime(2024, 1, 1, 12, 30, 0, 5), None, dt.datetime(1999, 12, 31)],
                pa.timestamp("us"),
            ),
            "dec": pa.array(
                [decimal.Decimal("12345678.90"), None, decimal.Decimal("-0.01")],
                pa.decimal128(10, 2),
            ),
        }
    )
    pq.write_table(table, tmp_path / "typed.parquet")
    text = (
        "name: there\ninputs:\n  src: {uri: typed.parquet}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: src, uri: '{db.uri}', table: typed}}\n"
    )
    assert run(tmp_path, text)["status"] == "success"
    back = (
        f"name: back\ninputs:\n  src: {{uri: '{db.uri}', table: typed}}\n"
        "outputs:\n  datasets: [{name: o, from: src, path: o.parquet}]\n"
    )
    for mode in MODES:
        assert run(tmp_path, back, mode)["status"] == "success"
        got = pq.read_table(tmp_path / "out" / "o.parquet")
        assert got.schema == table.schema, mode
        assert got.to_pylist() == table.to_pylist(), mode


def test_columns_the_table_lacks_are_named(tmp_path: Path, db: Database) -> None:
    db.sql("CREATE TABLE people (id INTEGER, name TEXT)")
    result = load(tmp_path, db, ", if_exists: append")
    assert result["status"] == "failed"
    assert "column 'amount' not found in the table (it has id, name)" in result["error"]["message"]


def test_a_type_that_cannot_be_stored_is_named(tmp_path: Path, db: Database) -> None:
    pq.write_table(
        pa.table({"xs": pa.array([[1, 2]], pa.list_(pa.int64()))}), tmp_path / "l.parquet"
    )
    text = (
        "name: l\ninputs:\n  src: {uri: l.parquet}\noutputs:\n  datasets:\n"
        f"    - {{name: t, from: src, uri: '{db.uri}', table: lists}}\n"
    )
    result = run(tmp_path, text)
    assert result["status"] == "failed"
    assert (
        "column 'xs' has type list<element: int64>, which cannot be stored"
        in (result["error"]["message"])
    )


def test_a_constraint_violation_names_the_constraint(tmp_path: Path, db: Database) -> None:
    db.sql(
        "CREATE TABLE people (id INTEGER CONSTRAINT people_pk PRIMARY KEY, name TEXT, amount REAL)",
        "INSERT INTO people VALUES (3, 'x', 0)",
    )
    result = load(tmp_path, db, ", if_exists: append")
    assert result["status"] == "failed"
    message = result["error"]["message"]
    assert message.startswith("output 't' (") and "violated" in message
    assert "people_pk" in message or "people.id" in message
    assert db.rows("SELECT id, name FROM people") == [(3, "x")]


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path) -> None:
    text = (
        f"name: q\ninputs:\n  s: {{uri: 'sqlite:///{tmp_path}/nope.db', table: t}}\n"
        "outputs:\n  datasets: [{name: o, from: s}]\n"
    )
    result = run(tmp_path, text)
    assert result["status"] == "failed"
    assert f"no database file {tmp_path}/nope.db" in result["error"]["message"]
    assert not (tmp_path / "nope.db").exists()


def test_a_relative_sqlite_path_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "people.csv").write_text(PEOPLE)
    text = (
        "name: rel\ninputs:\n  src: {uri: people.csv}\noutputs:\n  datasets:\n"
        "    - {name: t, from: src, uri: 'sqlite:///data/app.db', table: people}\n"
    )
    assert run(tmp_path, text)["status"] == "success"
    assert Database("", "sqlite:///data/app.db").rows("SELECT COUNT(*) FROM people") == [(5,)]
