"""Datasets: an input's files are one format; outputs take format, path and options."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trakt import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError
from trakt.runtime.local_runner import LocalRunner


def _run(tmp_path: Path, yaml: str, mode: str = "batch") -> dict[str, object]:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml + f"execution:\n  mode: {mode}\n")
    runner = LocalRunner(tmp_path / "in", tmp_path / "out")
    return runner.run(load_pipeline_from_yaml(pipeline))


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_an_input_of_several_formats_in_one_glob_is_an_error(tmp_path: Path, mode: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id\n1\n")
    pq.write_table(pa.table({"id": [2]}), tmp_path / "in" / "b.parquet")
    yaml = "name: p\ninputs:\n  src: {uri: '*'}\noutputs:\n  datasets: [{name: o, from: src}]\n"
    result = _run(tmp_path, yaml, mode)
    assert result["status"] == "failed"
    error = result["error"]
    assert isinstance(error, dict)
    assert "b.parquet is a parquet file, but the input is read as csv" in error["message"]
    assert error["artifact"] == "src" and not (tmp_path / "out" / "o.csv").exists()


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_outputs_take_format_path_and_options(tmp_path: Path, mode: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id,c\n1,x\n2,y\n3,x\n")
    yaml = (
        "name: p\ninputs:\n  src: {uri: a.csv}\noutputs:\n  datasets:\n"
        "    - {name: plain, from: src}\n"
        "    - {name: packed, from: src, path: packed.csv.gz}\n"
        "    - {name: parts, from: src, format: parquet, options: {partition_by: [c]}}\n"
        "    - {name: lines, from: src, format: jsonl}\n"
    )
    result = _run(tmp_path, yaml, mode)
    assert result["status"] == "success", result["error"]
    out = tmp_path / "out"
    assert (out / "plain.csv").read_text() == "id,c\n1,x\n2,y\n3,x\n"
    assert (out / "packed.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(p.name for p in (out / "parts.parquet").iterdir()) == ["c=x", "c=y"]
    assert (out / "lines.jsonl").read_text() == (
        '{"id":1,"c":"x"}\n{"id":2,"c":"y"}\n{"id":3,"c":"x"}\n'
    )
    manifest = json.loads((out / "manifest.json").read_text())
    formats = {o["name"]: (o["format"], o["uri"].rsplit("/", 1)[-1]) for o in manifest["outputs"]}
    assert formats == {
        "plain": ("csv", "plain.csv"),
        "packed": ("csv", "packed.csv.gz"),
        "parts": ("parquet", "parts.parquet"),
        "lines": ("jsonl", "lines.jsonl"),
    }
    assert manifest["inputs"]["src"]["format"] == "csv"


def test_output_problems_are_reported_at_their_keys(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "name: p\ninputs:\n  src: {uri: a.csv}\noutputs:\n  datasets:\n"
        "    - {name: a, from: src, format: parquet, path: a.csv}\n"
        "    - {name: b, from: src, path: x/b.csv}\n"
        "    - {name: c, from: src, format: jsonl, options: {bogus: 1}}\n"
        "    - {name: d, from: src, path: A.CSV}\n"
    )
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline_from_yaml(tmp_path / "pipeline.yaml")
    found = {(p.path, p.line): p.message for p in info.value.problems}
    assert (
        "has the extension of format csv, but the output declares format: parquet"
        in (found[("outputs.datasets[0].path", 6)])
    )
    assert "use a plain file name" in found[("outputs.datasets[1].path", 7)]
    assert "unknown jsonl writer option 'bogus'" in found[("outputs.datasets[2].options", 8)]
    assert "as output 'a'" not in str(found)  # a.csv (format clash) is reported once, above


def test_a_file_uri_is_a_local_path(tmp_path: Path) -> None:
    folder = tmp_path / "in" / "a dir"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id\n1\n")
    uri = (folder / "a.csv").as_uri()  # file:///.../a%20dir/a.csv
    result = _run(tmp_path, f"name: p\ninputs:\n  src: {{uri: '{uri}'}}\n" + OUT)
    assert result["status"] == "success", result["error"]
    assert (tmp_path / "out" / "o.csv").read_text() == "id\n1\n"


def test_a_store_whose_package_is_missing_is_refused_at_validation(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    # Oracle's object storage: fsspec knows it, and no extra of Trakt installs ocifs.
    assert importlib.util.find_spec("ocifs") is None, "pick a store whose package is absent"
    (tmp_path / "pipeline.yaml").write_text(
        "name: p\ninputs:\n  src: {uri: 'oci://bucket@ns/a.csv'}\n" + OUT
    )
    with pytest.raises(PipelineValidationError, match=r"oci:// needs the ocifs package") as e:
        load_pipeline_from_yaml(tmp_path / "pipeline.yaml")
    assert [(p.path, p.line) for p in e.value.problems] == [("inputs.src.uri", 3)]


OUT = "outputs:\n  datasets: [{name: o, from: src}]\n"


FAILING_STEP = """
def check(frame):
    if (frame["c"] == "w5").any():
        raise RuntimeError("boom at w5")
    return frame

def run(ctx, input, output):
    if hasattr(input, "columns"):  # batch: the whole frame
        return {"output": check(input)}
    return {"output": (check(chunk) for chunk in input)}  # stream: rows 0-3 pass first

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_failed_run_leaves_a_partitioned_output_as_it_was(tmp_path: Path, mode: str) -> None:
    """A Hive-style directory is published all or nothing, like a file: the earlier run's
    tree stays whole and no partition of the failed run is left anywhere."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(
        "id,c\n" + "".join(f"{i},{'xyz'[i % 3]}\n" for i in range(9))
    )
    (tmp_path / "failing_step.py").write_text(FAILING_STEP)
    outputs = (
        "outputs:\n  datasets:\n"
        "    - {name: parts, from: src, format: parquet, options: {partition_by: [c]}}\n"
    )
    good = "name: p\ninputs:\n  src: {uri: a.csv}\n" + outputs
    assert _run(tmp_path, good, mode)["status"] == "success"
    out = tmp_path / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.parquet") if p.is_file()}
    assert sorted(str(p.parent) for p in before) == [
        "parts.parquet/c=x",
        "parts.parquet/c=y",
        "parts.parquet/c=z",
    ]
    (tmp_path / "in" / "a.csv").write_text("id,c\n" + "".join(f"{i},w{i}\n" for i in range(9)))
    failing = (
        "name: p\ninputs:\n  src: {uri: a.csv}\n"
        "steps:\n  - id: fails\n    uses: failing_step\n"
        "    with: {input: src, output: checked}\n"
        + outputs
        + "    - {name: checked, from: checked}\n"
    )
    runner = LocalRunner(tmp_path / "in", out, stream_chunk_size=2)
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(failing + f"execution:\n  mode: {mode}\n")
    result = runner.run(load_pipeline_from_yaml(pipeline))
    assert result["status"] == "failed"
    assert "boom at w5" in result["error"]["message"]  # type: ignore[index]
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.parquet") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "parts.parquet"]
