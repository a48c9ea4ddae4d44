"""Inputs on a store (fsspec): read as the same local file is, in every format and mode,
named by their URI in the output, the quarantine and the manifest."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trakt import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError
from trakt.runtime.local_runner import LocalRunner

fsspec = pytest.importorskip("fsspec")

OUT = "outputs:\n  datasets: [{name: o, from: src}]\n"


def _run(
    tmp_path: Path, inputs: str, mode: str = "batch", out: str = "out", **runner: Any
) -> dict[str, Any]:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"name: p\ninputs:\n{inputs}{OUT}execution:\n  mode: {mode}\n")
    return LocalRunner(tmp_path, tmp_path / out, stream_chunk_size=2, **runner).run(
        load_pipeline_from_yaml(pipeline)
    )


def _xlsx() -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["id", "name", "ratio"], [1, "ann", 0.5], [2, "bo", None], [3, "cy", 2.25]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    table = pa.table({"id": [1, 2, 3], "name": ["ann", "bo", "cy"], "ratio": [0.5, None, 2.25]})
    pq.write_table(table, buffer)
    return buffer.getvalue()


CSV = b'id,name,ratio\n1,ann,0.5\n2,"b\no",\n3,cy,2.25\n'
FILES = {
    "data.csv": lambda: CSV,
    "data.csv.gz": lambda: gzip.compress(CSV, mtime=0),
    "data.tsv": lambda: b"id\tname\tratio\n1\tann\t0.5\n2\tbo\t\n3\tcy\t2.25\n",
    "data.jsonl": lambda: (
        b'{"id":1,"name":"ann","ratio":0.5}\n{"id":2,"name":"bo"}\n'
        b'{"id":3,"name":"cy","ratio":2.25}\n'
    ),
    "data.parquet": _parquet,
    "data.xlsx": _xlsx,
}


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_a_store_file_reads_exactly_as_the_same_local_file(
    tmp_path: Path, memory: Any, name: str, mode: str
) -> None:
    data = FILES[name]()
    (tmp_path / name).write_bytes(data)
    memory.pipe(f"/bucket/in/{name}", data)
    local = _run(tmp_path, f"  src: {{uri: '{name}'}}\n", mode, "local")
    stored = _run(tmp_path, f"  src: {{uri: 'memory://bucket/in/{name}'}}\n", mode, "stored")
    assert local["status"] == stored["status"] == "success", stored.get("error")
    written = (tmp_path / "stored" / "o.csv").read_bytes()
    assert written == (tmp_path / "local" / "o.csv").read_bytes()
    assert written.startswith(b"id,name,ratio\n1,ann,0.5\n")
    record = json.loads((tmp_path / "stored" / "manifest.json").read_text())["inputs"]["src"]
    assert record["uri"] == f"memory://bucket/in/{name}" and record["rows"] == 3
    assert record["files"] == [
        {
            "path": f"memory://bucket/in/{name}",
            "bytes": len(data),
            "records": 3,
            "kept": 3,
            "set_aside": 0,
            "sha256": hashlib.sha256(data).hexdigest(),  # the store's bytes, as copied
        }
    ]
    # The copies were scratch files: nothing of them is left in the output dir.
    assert sorted(p.name for p in (tmp_path / "stored").iterdir()) == [
        "manifest.json",
        "o.csv",
    ]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_glob_on_a_store_combines_its_files_in_order_and_names_each(
    tmp_path: Path, memory: Any, mode: str
) -> None:
    memory.pipe("/bucket/in/day-2.csv", b"id\n3\n4\n")
    memory.pipe("/bucket/in/day-1.csv", b"id\n1\n2\n")
    memory.pipe("/bucket/in/other.csv", b"id\n9\n")
    result = _run(
        tmp_path,
        "  src: {uri: 'memory://bucket/in/day-*.csv', source_column: source}\n",
        mode,
    )
    assert result["status"] == "success", result.get("error")
    assert (tmp_path / "out" / "o.csv").read_text() == (
        "id,source\n"
        "1,memory://bucket/in/day-1.csv\n2,memory://bucket/in/day-1.csv\n"
        "3,memory://bucket/in/day-2.csv\n4,memory://bucket/in/day-2.csv\n"
    )
    files = json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]["src"]["files"]
    assert [f["path"] for f in files] == [
        "memory://bucket/in/day-1.csv",
        "memory://bucket/in/day-2.csv",
    ]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_malformed_record_on_a_store_is_quarantined_at_its_uri_and_line(
    tmp_path: Path, memory: Any, mode: str
) -> None:
    memory.pipe("/bucket/in/bad.csv", b"id,x\n1,a\n2,b,extra\n3,c\n")
    result = _run(
        tmp_path, "  src: {uri: 'memory://bucket/in/bad.csv', on_bad_lines: quarantine}\n", mode
    )
    assert result["status"] == "success", result.get("error")
    assert (tmp_path / "out" / "o.csv").read_text() == "id,x\n1,a\n3,c\n"
    assert (tmp_path / "out" / "_rejected" / "src.csv").read_text() == (
        'file,line,reason,raw\nmemory://bucket/in/bad.csv,3,"expected 2 fields, found 3",'
        '"2,b,extra"\n'
    )


def test_a_bad_value_in_a_store_file_names_its_uri_and_line(tmp_path: Path, memory: Any) -> None:
    memory.pipe("/bucket/in/a.jsonl", b'{"id": 1}\n{"id": {"nested": 2}}\n')
    result = _run(tmp_path, "  src: {uri: 'memory://bucket/in/a.jsonl'}\n")
    assert result["status"] == "failed"
    assert "memory://bucket/in/a.jsonl:2" in result["error"]["message"]
    assert not (tmp_path / "out" / "o.csv").exists()


def test_a_missing_store_file_fails_the_run_naming_the_input(tmp_path: Path, memory: Any) -> None:
    result = _run(tmp_path, "  src: {uri: 'memory://bucket/in/*.csv'}\n")
    assert result["status"] == "failed"
    error = result["error"]
    assert error["message"] == "input 'src': pattern 'memory://bucket/in/*.csv' matched no files"
    assert error["artifact"] == "src" and error["file"] == "memory://bucket/in/*.csv"


def test_an_input_override_may_name_a_store(tmp_path: Path, memory: Any) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    memory.pipe("/bucket/b.csv", b"id\n2\n")
    result = _run(
        tmp_path, "  src: {uri: 'a.csv'}\n", input_overrides={"src": "memory://bucket/b.csv"}
    )
    assert result["status"] == "success", result.get("error")
    assert (tmp_path / "out" / "o.csv").read_text() == "id\n2\n"


def test_an_unknown_scheme_is_a_validation_problem_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "name: p\ninputs:\n  src:\n    uri: 'mem0ry://bucket/a.csv'\n" + OUT
    )
    with pytest.raises(PipelineValidationError, match=r"no store is known for mem0ry://") as e:
        load_pipeline_from_yaml(tmp_path / "pipeline.yaml")
    assert [(p.path, p.line) for p in e.value.problems] == [("inputs.src.uri", 4)]
