"""Runs against a real S3-compatible server (moto's, on 127.0.0.1): glob inputs, outputs in
both modes published all or nothing, the manifest under the prefix, the lock object, and
secrets that never appear in anything Trakt writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.s3server import ACCESS_KEY, S3, SECRET_KEY
from trakt import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError, UsageError
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.outdir import OutputDirLocked

pytestmark = pytest.mark.s3

DAYS = {
    "in/day-1.csv": b"id,amount\n1,1.5\n2,2.5\n",
    "in/day-2.csv": b"id,amount\n3,3.5\n4,4.5\n",
    "in/other.txt": b"not,this\n",
}
# Fails after its first chunk (stream) or at once (batch: a frame is not an iterator).
FAILING = """
def run(ctx, input, output):
    def chunks():
        for chunk in input:
            yield chunk
            raise ValueError("step broke on purpose")
    if not hasattr(input, "__next__"):
        raise ValueError("step broke on purpose")
    return {"output": chunks()}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def _pipeline(
    tmp_path: Path,
    uri: str,
    mode: str = "batch",
    extra: str = "",
    uses: str | None = None,
    column: str = ", source_column: source",
) -> Path:
    steps = ""
    source = "src"
    if uses:
        steps = f"steps:\n  - {{id: s, uses: {uses}, with: {{input: src, output: mid}}}}\n"
        source = "mid"
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f"name: p\n{extra}inputs:\n  src: {{uri: '{uri}'{column}}}\n{steps}"
        f"outputs:\n  datasets:\n    - {{name: o, from: {source}}}\n"
        f"    - {{name: pq, from: {source}, format: parquet}}\nexecution:\n  mode: {mode}\n"
    )
    return path


def _run(pipeline: Path, output_dir: str | Path, **kwargs: Any) -> dict[str, Any]:
    runner = LocalRunner(kwargs.pop("input_dir", "."), output_dir, stream_chunk_size=1, **kwargs)
    return runner.run(load_pipeline_from_yaml(pipeline), run_id=kwargs.pop("run_id", None))


def _put_days(s3: S3) -> None:
    for key, data in DAYS.items():
        s3.put(key, data)


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_glob_inputs_from_s3_and_outputs_to_s3_give_the_local_runs_bytes(
    tmp_path: Path, s3: S3, mode: str
) -> None:
    _put_days(s3)
    for key, data in DAYS.items():  # the same files locally, read by their s3 names' glob
        (tmp_path / key).parent.mkdir(exist_ok=True)
        (tmp_path / key).write_bytes(data)
    local = _run(_pipeline(tmp_path, str(tmp_path / "in/day-*.csv"), mode), tmp_path / "out")
    assert local["status"] == "success", local["error"]

    result = _run(_pipeline(tmp_path, s3.uri("in/day-*.csv"), mode), s3.uri("out"))
    assert result["status"] == "success", result["error"]
    assert result["outputs"] == {"o": s3.uri("out/o.csv"), "pq": s3.uri("out/pq.parquet")}
    assert result["manifest_path"] == s3.uri("out/manifest.json")
    assert [k for k in s3.listing() if k.startswith("out/")] == [
        "out/manifest.json",
        "out/o.csv",
        "out/pq.parquet",
    ]
    csv = s3.get("out/o.csv")
    names = [s3.uri("in/day-1.csv"), s3.uri("in/day-2.csv")]
    assert csv.decode().splitlines()[1:3] == [f"1,1.5,{names[0]}", f"2,2.5,{names[0]}"]
    local_csv = (tmp_path / "out" / "o.csv").read_text()
    assert csv.decode() == local_csv.replace(str(tmp_path / "in"), s3.uri("in"))
    manifest = json.loads(s3.get("out/manifest.json"))
    assert manifest["status"] == "success" and manifest["mode"] == mode
    assert [f["path"] for f in manifest["inputs"]["src"]["files"]] == names
    assert {o["name"]: o["uri"] for o in manifest["outputs"]} == result["outputs"]
    assert {o["name"]: o["rows"] for o in manifest["outputs"]} == {"o": 4, "pq": 4}


def test_parquet_output_on_s3_has_the_local_runs_bytes(tmp_path: Path, s3: S3) -> None:
    (tmp_path / "a.csv").write_bytes(DAYS["in/day-1.csv"])
    s3.put("in/a.csv", DAYS["in/day-1.csv"])
    pipeline = _pipeline(tmp_path, "a.csv", "stream", column="")
    assert _run(pipeline, tmp_path / "out", input_dir=tmp_path)["status"] == "success"
    # --input-dir may be a URI: the relative uri a.csv is read under it
    result = _run(pipeline, s3.uri("out"), input_dir=s3.uri("in"))
    assert result["status"] == "success", result["error"]
    assert s3.get("out/pq.parquet") == (tmp_path / "out" / "pq.parquet").read_bytes()


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_failed_run_leaves_no_object_behind_but_its_manifest(
    tmp_path: Path, s3: S3, mode: str, project: Any
) -> None:
    _put_days(s3)
    uses = project.step("failing", FAILING)
    sys.path.insert(0, str(project.root))
    try:
        result = _run(_pipeline(tmp_path, s3.uri("in/day-*.csv"), mode, uses=uses), s3.uri("out"))
    finally:
        sys.path.remove(str(project.root))
    assert result["status"] == "failed"
    assert "step broke on purpose" in result["error"]["message"]
    assert [k for k in s3.listing() if k.startswith("out/")] == ["out/manifest.json"]
    assert json.loads(s3.get("out/manifest.json"))["status"] == "failed"


def test_a_partitioned_output_is_uploaded_whole_and_replaces_the_previous_one(
    tmp_path: Path, s3: S3
) -> None:
    s3.put("in/a.csv", b"id,country\n1,DE\n2,US\n")
    path = tmp_path / "pipeline.yaml"
    out = (
        "outputs:\n  datasets:\n    - {name: o, from: src, format: parquet, "
        "options: {partition_by: [country]}}\n"
    )
    path.write_text(f"name: p\ninputs:\n  src: {{uri: '{s3.uri('in/a.csv')}'}}\n{out}")
    assert _run(path, s3.uri("out"))["status"] == "success"
    assert [k for k in s3.listing() if k.startswith("out/o")] == [
        "out/o.parquet/country=DE/part-0.parquet",
        "out/o.parquet/country=US/part-0.parquet",
    ]
    s3.put("in/a.csv", b"id,country\n3,FI\n")
    assert _run(path, s3.uri("out"))["status"] == "success"
    assert [k for k in s3.listing() if k.startswith("out/o")] == [
        "out/o.parquet/country=FI/part-0.parquet"
    ]


def test_a_live_runs_lock_refuses_a_second_run_and_a_dead_runs_is_taken_over(
    tmp_path: Path, s3: S3
) -> None:
    s3.put("in/a.csv", b"id\n1\n")
    pipeline = _pipeline(tmp_path, s3.uri("in/a.csv"))
    lock = {
        "run_id": "other",
        "host": socket.gethostname(),
        "pid": os.getpid(),  # alive: this process
        "expires_at": "2999-01-01T00:00:00Z",
    }
    s3.put("out/.trakt.lock", json.dumps(lock).encode())
    with pytest.raises(OutputDirLocked, match=r"output dir s3://.*/out is in use by run other"):
        _run(pipeline, s3.uri("out"))
    assert s3.listing() == ["in/a.csv", "out/.trakt.lock"]
    s3.put("out/.trakt.lock", json.dumps({**lock, "expires_at": "2000-01-01T00:00:00Z"}).encode())
    result = _run(pipeline, s3.uri("out"))
    assert result["status"] == "success", result["error"]
    assert ".trakt.lock" not in " ".join(s3.listing())


def test_the_lock_object_is_created_only_if_absent(s3: S3) -> None:
    """The server honours the conditional write the lock relies on."""
    s3.fs.pipe_file(f"{s3.bucket}/l", b"a", mode="create")
    with pytest.raises(FileExistsError):
        s3.fs.pipe_file(f"{s3.bucket}/l", b"b", mode="create")
    assert s3.get("l") == b"a"


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "trakt.run_local", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("uploaded", "its temporary files were removed"),  # before the journal: leftovers
        ("journal", "its publish was completed"),  # the commit point passed: finished
        ("copy", "its publish was completed"),  # o.csv copied, pq.parquet not yet
        ("copied", "its publish was completed"),  # temporary keys not yet deleted
    ],
)
def test_a_run_killed_while_publishing_is_reported_and_settled_by_the_next(
    tmp_path: Path, s3: S3, point: str, expected: str
) -> None:
    _put_days(s3)
    pipeline = _pipeline(tmp_path, s3.uri("in/day-*.csv"))
    args = ["--pipeline-file", str(pipeline), "--output-dir", s3.uri("out"), "--run-id"]
    killed = _cli([*args, "killed"], tmp_path, TRAKT_FAULT_PUBLISH=point)
    assert killed.returncode == -9, killed.stderr
    assert any(".trakt-tmp-killed-" in k for k in s3.listing())
    assert json.loads(s3.get("out/manifest.json"))["status"] == "running"

    s3.put("in/day-2.csv", b"id,amount\n9,9.5\n")  # the next run's outputs differ
    rerun = _cli([*args, "next"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert expected in rerun.stderr
    assert [k for k in s3.listing() if k.startswith("out/")] == [
        "out/manifest.json",
        "out/o.csv",
        "out/pq.parquet",
    ]
    assert s3.get("out/o.csv").decode().splitlines()[-1].startswith("9,9.5,")
    manifest = json.loads(s3.get("out/manifest.json"))
    assert manifest["run_id"] == "next" and manifest["stale_run"]["run_id"] == "killed"
    if point == "uploaded":
        assert manifest["removed_leftovers"] == [
            ".trakt-tmp-killed-o.csv",
            ".trakt-tmp-killed-pq.parquet",
        ]
    else:
        assert manifest["publish_recovery"] == [{"run_id": "killed", "action": "completed"}]


@pytest.mark.slow
def test_secrets_in_storage_options_never_appear_in_what_trakt_writes(
    tmp_path: Path, s3: S3
) -> None:
    _put_days(s3)
    pipeline = _pipeline(
        tmp_path,
        s3.uri("in/missing-*.csv"),
        extra=f"storage_options: {s3.options()}\n",
    )
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL": ""}
    args = ["--pipeline-file", str(pipeline), "--output-dir", s3.uri("out"), "--log-level", "DEBUG"]
    failed = _cli([*args, "--log-format", "json"], tmp_path, **env)
    assert failed.returncode == 1
    assert "matched no files" in failed.stderr
    wrong = pipeline.read_text().replace(SECRET_KEY, SECRET_KEY + "-wrong")
    wrong = wrong.replace(f"key: {ACCESS_KEY}", f"key: {ACCESS_KEY}, bogus_option: 1")
    pipeline.write_text(wrong)
    refused = _cli(args, tmp_path, **env)  # s3fs refuses the unknown option, quoting it
    assert refused.returncode != 0
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert secret not in failed.stderr + failed.stdout + refused.stderr + refused.stdout
        for key in s3.listing():
            assert secret.encode() not in s3.get(key), key


def test_storage_options_on_a_local_input_are_a_validation_problem_at_their_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: p\ninputs:\n  src:\n    uri: /data/a.csv\n    storage_options: {anon: true}\n"
        "outputs:\n  datasets: [{name: o, from: src}]\n"
    )
    with pytest.raises(PipelineValidationError, match=r"storage_options applies to object") as e:
        load_pipeline_from_yaml(path)
    assert [(p.path, p.line) for p in e.value.problems] == [("inputs.src.storage_options", 5)]


def test_an_outputs_storage_options_with_a_local_output_dir_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: p\ninputs:\n  src: {uri: a.csv}\n"
        "outputs:\n  datasets: [{name: o, from: src, storage_options: {anon: true}}]\n"
    )
    with pytest.raises(UsageError, match=r"output 'o' has storage_options, but --output-dir is"):
        _run(path, tmp_path / "out", input_dir=tmp_path)


def test_the_manifest_may_go_to_another_store_place(tmp_path: Path, s3: S3) -> None:
    s3.put("in/a.csv", b"id\n1\n")
    pipeline = _pipeline(tmp_path, s3.uri("in/a.csv"))
    result = _run(pipeline, tmp_path / "out", manifest_path=s3.uri("runs/m.json"))
    assert result["status"] == "success", result["error"]
    assert result["manifest_path"] == s3.uri("runs/m.json")
    assert json.loads(s3.get("runs/m.json"))["outputs"][0]["uri"].startswith("file://")
    assert (tmp_path / "out" / "o.csv").read_text() == "id,source\n1," + s3.uri("in/a.csv") + "\n"
    assert not (tmp_path / "out" / "manifest.json").exists()
