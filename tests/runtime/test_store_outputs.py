"""An output dir on a store (fsspec's ``memory://`` here; S3 in test_s3.py): the same bytes as
a local run, quarantine files and the manifest under the prefix, reserved names refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trakt import load_pipeline_from_yaml
from trakt.errors import UsageError
from trakt.runtime.local_runner import LocalRunner

pytest.importorskip("fsspec")

CSV = "id,amount\n1,1.5\n2,x,extra\n3,\n"


def _pipeline(tmp_path: Path, mode: str) -> Path:
    (tmp_path / "a.csv").write_text(CSV)
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: p\ninputs:\n  src: {uri: a.csv, on_bad_lines: quarantine}\n"
        "outputs:\n  datasets:\n    - {name: o, from: src}\n"
        "    - {name: j, from: src, format: jsonl}\n"
        f"execution:\n  mode: {mode}\n"
    )
    return path


def _run(pipeline: Path, out: str | Path, **kwargs: Any) -> dict[str, Any]:
    runner = LocalRunner(pipeline.parent, out, stream_chunk_size=1, **kwargs)
    return runner.run(load_pipeline_from_yaml(pipeline), run_id="r1")


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_store_output_dir_gets_the_local_runs_bytes_quarantine_and_manifest(
    tmp_path: Path, memory: Any, mode: str
) -> None:
    pipeline = _pipeline(tmp_path, mode)
    assert _run(pipeline, tmp_path / "out")["status"] == "success"
    result = _run(pipeline, "memory://bucket/out")
    assert result["status"] == "success", result["error"]
    assert sorted(memory.find("/bucket")) == [
        "/bucket/out/_rejected/src.csv",
        "/bucket/out/j.jsonl",
        "/bucket/out/manifest.json",
        "/bucket/out/o.csv",
    ]
    for name in ("o.csv", "j.jsonl", "_rejected/src.csv"):
        assert memory.cat(f"/bucket/out/{name}") == (tmp_path / "out" / name).read_bytes(), name
    manifest = json.loads(memory.cat("/bucket/out/manifest.json"))
    assert manifest["inputs"]["src"]["bad_lines"] == {
        "policy": "quarantine",
        "count": 1,
        "path": "memory://bucket/out/_rejected/src.csv",
    }
    assert [o["uri"] for o in manifest["outputs"]] == [
        "memory://bucket/out/o.csv",
        "memory://bucket/out/j.jsonl",
    ]


def test_the_staging_dir_is_removed_after_the_run(tmp_path: Path, memory: Any) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = _run(_pipeline(tmp_path, "stream"), "memory://bucket/out", scratch_dir=scratch)
    assert result["status"] == "success", result["error"]
    assert list(scratch.iterdir()) == []


def test_a_reserved_manifest_name_under_the_prefix_is_refused(tmp_path: Path, memory: Any) -> None:
    pipeline = _pipeline(tmp_path, "batch")
    with pytest.raises(UsageError, match=r"--manifest-path memory://bucket/out/.trakt-m.json: "):
        _run(pipeline, "memory://bucket/out", manifest_path="memory://bucket/out/.trakt-m.json")
    assert memory.find("/bucket") == []


def test_a_relative_uri_with_storage_options_under_a_local_input_dir_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "name: p\ninputs:\n  src: {uri: a.csv, storage_options: {anon: true}}\n"
        "outputs:\n  datasets: [{name: o, from: src}]\n"
    )
    with pytest.raises(UsageError, match=r"input 'src' has storage_options, but its uri 'a.csv'"):
        _run(pipeline, tmp_path / "out")
