"""``--spark-output parts``: each output a directory of part files written on the executors,
its rows the single file's rows in order, published all or nothing."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.test_spark import orders_project
from tests.spark_session import spark_conf
from trakt.api import load_pipeline_from_yaml
from trakt.errors import UsageError
from trakt.runtime.local_runner import LocalRunner

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")


@pytest.fixture
def spark(spark_session: Any) -> Iterator[Any]:
    # Tiny splits: several partitions per file, so several parts per output.
    with spark_conf(spark_session, {"spark.sql.files.maxPartitionBytes": "64"}) as session:
        yield session


def on_spark(pipeline_file: Path, input_dir: Path, out: Path, spark: Any, **kw: Any) -> Any:
    from trakt.runtime.spark_runner import SparkRunner

    pipeline = load_pipeline_from_yaml(pipeline_file)
    return SparkRunner(input_dir, out, session=spark, output="parts", **kw).run(pipeline)


def data_lines(path: Path) -> tuple[str, list[str]]:
    header, *rows = path.read_text().splitlines(keepends=True)
    return header, rows


def records(path: Path) -> int:
    """Data records of a CSV file (a quoted line break is inside one record)."""
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def parts_of(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def test_csv_parts_are_the_single_files_rows_in_order(spark: Any, tmp_path: Path) -> None:
    pipeline = orders_project(tmp_path, "parts_steps")
    local = LocalRunner(tmp_path / "input", tmp_path / "local", stream_chunk_size=2).run(
        load_pipeline_from_yaml(pipeline)
    )
    assert local["status"] == "success", local.get("error")
    result = on_spark(pipeline, tmp_path / "input", tmp_path / "spark", spark, stream_chunk_size=2)
    assert result["status"] == "success", result.get("error")
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert manifest["runner"]["output"] == "parts"
    for record in manifest["outputs"]:
        name = record["name"]
        directory = tmp_path / "spark" / f"{name}.csv"
        assert directory.is_dir(), name
        assert record["directory"] is True
        files = parts_of(directory)
        assert [p.name for p in files] == [p["path"] for p in record["parts"]]
        assert all(p.name.startswith("part-") and p.suffix == ".csv" for p in files)
        header, expected = data_lines(tmp_path / "local" / f"{name}.csv")
        rows: list[str] = []
        for part, entry in zip(files, record["parts"], strict=True):
            part_header, part_rows = data_lines(part)
            assert part_header == header, part  # every part has the header
            assert entry["rows"] == records(part) and entry["bytes"] == part.stat().st_size
            rows += part_rows
        assert rows == expected, name
        assert record["rows"] == records(tmp_path / "local" / f"{name}.csv")
        assert record["bytes"] == sum(p.stat().st_size for p in files)
    enriched = next(r for r in manifest["outputs"] if r["name"] == "enriched")
    assert len(enriched["parts"]) > 1  # written partition by partition
    assert not [p.name for p in (tmp_path / "spark").iterdir() if p.name.startswith(".trakt")]


def test_parquet_parts_read_back_as_the_local_runners_table(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pipeline = orders_project(tmp_path, "pq_steps")
    text = pipeline.read_text().replace(
        "    - {name: enriched, from: enriched}\n",
        "    - {name: enriched, from: enriched, path: enriched.parquet}\n",
    )
    pipeline.write_text(text)
    local = LocalRunner(tmp_path / "input", tmp_path / "local").run(
        load_pipeline_from_yaml(pipeline)
    )
    assert local["status"] == "success", local.get("error")
    result = on_spark(pipeline, tmp_path / "input", tmp_path / "spark", spark)
    assert result["status"] == "success", result.get("error")
    files = parts_of(tmp_path / "spark" / "enriched.parquet")
    assert len(files) > 1 and all(p.name.endswith(".parquet") for p in files)
    expected = pq.read_table(tmp_path / "local" / "enriched.parquet")
    got = pa.concat_tables(pq.read_table(p) for p in files)
    assert got.column_names == expected.column_names
    assert got.to_pylist() == expected.to_pylist()
    assert got.schema.equals(expected.schema) or got.cast(expected.schema).equals(expected)
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    record = next(r for r in manifest["outputs"] if r["name"] == "enriched")
    assert record["format"] == "parquet" and record["rows"] == expected.num_rows


FAILING = """
def run(ctx, input, output):
    def chunks():
        for chunk in input:
            if (chunk["order_id"] == 7).any():
                raise ValueError("order 7 is bad")
            yield chunk

    return {"output": chunks()}


run.supports_stream = True
"""


def test_a_failed_run_leaves_the_previous_parts_and_a_rerun_replaces_them(
    spark: Any, tmp_path: Path
) -> None:
    pipeline = orders_project(tmp_path, "fail_steps")
    (tmp_path / "fail_steps" / "failing.py").write_text(FAILING)
    out = tmp_path / "out"
    first = on_spark(pipeline, tmp_path / "input", out, spark)
    assert first["status"] == "success", first.get("error")
    before = {p: p.read_bytes() for p in (out / "enriched.csv").iterdir()}
    assert len(before) > 1

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        pipeline.read_text()
        .replace("  - id: running\n", "  - id: bad\n    uses: fail_steps.failing\n"
                 "    with: {input: enriched, output: checked}\n  - id: running\n")
        .replace("- {name: running, from: running}", "- {name: running, from: checked}")
    )  # fmt: skip
    failed = on_spark(broken, tmp_path / "input", out, spark)
    assert failed["status"] == "failed"
    assert failed["error"]["step_id"] == "bad"
    assert "order 7 is bad" in failed["error"]["message"]
    assert {p: p.read_bytes() for p in (out / "enriched.csv").iterdir()} == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(".trakt")]

    # Fewer rows, one file: the rerun's directory replaces the old one whole.
    for extra in ("2026-02.csv", "2026-03.csv"):
        (tmp_path / "input" / "orders" / extra).unlink()
    again = on_spark(pipeline, tmp_path / "input", out, spark)
    assert again["status"] == "success", again.get("error")
    after = parts_of(out / "enriched.csv")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [p.name for p in after] == [p["path"] for p in manifest["outputs"][0]["parts"]]
    assert sum(records(p) for p in after) == 5
    assert not [p.name for p in out.iterdir() if p.name.startswith(".trakt")]


def test_an_output_with_a_contract_is_refused_with_the_fix(spark: Any, tmp_path: Path) -> None:
    pipeline = orders_project(tmp_path, "contract_steps")
    pipeline.write_text(
        pipeline.read_text().replace(
            "    - {name: running, from: running}\n",
            "    - name: running\n      from: running\n"
            "      schema: {columns: {order_id: {type: int}}}\n",
        )
    )
    result = on_spark(pipeline, tmp_path / "input", tmp_path / "out", spark)
    assert result["status"] == "failed"
    assert "output 'running' has a schema: contract" in result["error"]["message"]
    assert "--spark-output file" in result["error"]["message"]


def test_an_unknown_output_kind_is_refused() -> None:
    from trakt.runtime.spark_runner import SparkRunner

    with pytest.raises(UsageError, match=r"output='files': expected one of file, parts"):
        SparkRunner("in", "out", output="files")


def test_the_cli_flag_writes_parts(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[2] / "examples" / "stream_demo"
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", "--runner", "spark",
         "--spark-master", "local[2]", "--spark-output", "parts",
         "--spark-conf", "spark.ui.enabled=false",
         "--pipeline-file", str(example / "pipeline.yaml"),
         "--input-dir", str(example / "input"), "--output-dir", str(out), "-q"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(example)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    local = LocalRunner(example / "input", tmp_path / "local").run(
        load_pipeline_from_yaml(example / "pipeline.yaml")
    )
    assert local["status"] == "success"
    for name in ("final.csv", "totals.csv"):
        assert (out / name).is_dir(), name
        header, expected = data_lines(tmp_path / "local" / name)
        rows = []
        for part in parts_of(out / name):
            assert data_lines(part)[0] == header
            rows += data_lines(part)[1]
        assert rows == expected, name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runner"]["output"] == "parts"
    assert all(o["directory"] for o in manifest["outputs"])
