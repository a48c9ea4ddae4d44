"""A failing step's location, tracebacks, --pdb, log lines off a terminal, JSON lines, and
the manifest's environment and input hashes (issue 13)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, batch_step, simple_pipeline, stream_step
from trakt import run_local

RECORDS = "id,amount\n1,10\n2,20\n3,30\n"
# Line 4 of the module raises (head, blank, def, body).
FAILING = batch_step(
    """
    threshold = 15
    return {"output": check(input, threshold)}
    """,
    head="""
    def check(frame, threshold):
        bad = frame[frame["amount"] > threshold]
        raise ValueError(f"{len(bad)} amounts over {threshold}")
    """,
)


def _args(project: Project, *extra: str) -> list[str]:
    return [
        "--pipeline-file",
        str(project.root / "pipeline.yaml"),
        "--input-dir",
        str(project.input_dir),
        "--output-dir",
        str(project.output_dir),
        *extra,
    ]


def _manifest(project: Project) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.output_dir / "manifest.json").read_text())
    return data


def _failing(project: Project, mode: str = "batch") -> Path:
    project.csv("records.csv", RECORDS)
    if mode == "stream":
        code = stream_step("yield check(chunk)", head=FAILING.split("\n\ndef run")[0])
        code = code.replace("check(chunk)", "check(chunk, 15)")
    else:
        code = FAILING
    uses = project.step("failing", code)
    project.pipeline(simple_pipeline(uses, mode=mode))
    return project.root / project.package / "failing.py"


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_the_last_line_and_the_manifest_name_the_users_file_and_line(
    project: Project, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    module = _failing(project, mode)

    assert run_local.main(_args(project)) == 1

    error = _manifest(project)["error"]
    assert error["location"] == {"file": str(module), "line": 3, "function": "check"}
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"ValueError: 2 amounts over 15 (at {module}:3 in check) (manifest: " in last
    # The user's frames lead; Trakt's (the call, or the chunk pulls) are one line.
    text = error["traceback"]
    assert "Trakt frame" in text and "/trakt/runtime/" not in text
    assert f'File "{module}", line 3, in check' in text
    assert text.rstrip().endswith("ValueError: 2 amounts over 15")


def test_traceback_flag_prints_it_before_the_last_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _failing(project)

    assert run_local.main(_args(project, "--traceback", "--log-level", "WARNING")) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == "  [1 Trakt frame]"  # Execution.call
    assert any(f'File "{module}", line 3, in check' in line for line in lines)
    assert lines[-2] == "ValueError: 2 amounts over 15"
    assert lines[-1].startswith("trakt: run ")


def test_a_failure_without_user_code_has_no_location(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("wrong", batch_step('return {"output": [1, 2]}'))
    project.pipeline(simple_pipeline(uses))

    assert run_local.main(_args(project)) == 1

    error = _manifest(project)["error"]
    assert error["type"] == "StepError" and "location" not in error


def test_off_a_terminal_each_step_start_and_finish_is_one_info_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("ok", batch_step('return {"output": input}'))
    project.pipeline(simple_pipeline(uses))

    assert run_local.main(_args(project)) == 0

    err = capsys.readouterr().err.splitlines()
    assert err[0] == "INFO trakt.steps: step step1 started"
    assert err[1].startswith("INFO trakt.steps: step step1 success: 3 rows in, 3 rows out, ")
    assert err[1].endswith("s") and len(err) == 2


def test_a_step_that_extends_a_scan_is_said_finished_with_its_real_counts(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Built-ins over a scanned CSV build one query: their rows are counted when it runs, and
    each step's finish line waits for them (never "0 rows in")."""
    project.csv("records.csv", "id,amount\n" + "".join(f"{i},{i}.5\n" for i in range(40)))
    project.pipeline(
        """
        name: scanned
        inputs:
          records: {uri: records.csv}
        steps:
          - id: double
            uses: trakt.derive
            with: {input: records, output: doubled, columns: {amount: "amount * 2"}}
          - id: keep
            uses: trakt.filter
            with: {input: doubled, output: kept, where: "id >= 30"}
        outputs:
          datasets:
            - {name: out, from: kept}
        """
    )

    assert run_local.main(_args(project)) == 0

    err = [line for line in capsys.readouterr().err.splitlines() if "success" in line]
    assert err[0].startswith("INFO trakt.steps: step double success: 40 rows in, 40 rows out, ")
    assert err[1].startswith("INFO trakt.steps: step keep success: 40 rows in, 10 rows out, ")


SEES_CHUNK = batch_step(
    """
    seen = os.environ.get("POLARS_CSV_CHUNK_SIZE")
    return {"output": input.assign(chunk=seen)}
    """,
    head="import os",
)


@pytest.mark.parametrize("preset", [None, "8388608"])
def test_the_cli_gives_polars_scans_smaller_chunks_while_its_run_lasts(
    project: Project, monkeypatch: pytest.MonkeyPatch, preset: str | None
) -> None:
    """4 MiB chunks for polars' CSV scans during a CLI run (a user's own value kept), unset
    again after it: the next pipeline in the process sees what it saw before."""
    if preset is None:
        monkeypatch.delenv("POLARS_CSV_CHUNK_SIZE", raising=False)
    else:
        monkeypatch.setenv("POLARS_CSV_CHUNK_SIZE", preset)
    project.csv("records.csv", RECORDS)
    project.pipeline(simple_pipeline(project.step("sees", SEES_CHUNK)))

    assert run_local.main(_args(project, "-q")) == 0

    written = (project.output_dir / "final.csv").read_text().splitlines()
    assert written[1] == f"1,10,{preset or 4 << 20}"
    assert os.environ.get("POLARS_CSV_CHUNK_SIZE") == preset


def test_quiet_leaves_the_step_lines_out(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("ok", batch_step('return {"output": input}'))
    project.pipeline(simple_pipeline(uses))

    assert run_local.main(_args(project, "--quiet")) == 0

    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("fails", [False, True])
def test_json_log_format_writes_only_json_lines(
    project: Project, capsys: pytest.CaptureFixture[str], fails: bool
) -> None:
    if fails:
        _failing(project)
    else:
        project.csv("records.csv", RECORDS)
        uses = project.step("ok", batch_step('return {"output": input}'))
        project.pipeline(simple_pipeline(uses))

    code = run_local.main(_args(project, "--log-format", "json", "--traceback"))

    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in (err + out).splitlines()]  # the summary: stdout
    steps = [line for line in lines if line["logger"] == "trakt.steps"]
    assert steps[0]["message"] == "step step1 started"
    assert steps[1]["step"] == "step1" and steps[1]["rows_in"] == 3
    last = lines[-1]
    if fails:
        assert code == 1 and out == ""
        assert last["level"] == "ERROR" and last["error"]["type"] == "ValueError"
        assert last["error"]["location"]["line"] == 3 and "Trakt frame" in last["traceback"]
    else:
        assert code == 0 and last["message"].endswith("succeeded")
        assert last["outputs"] == {"final": str(project.output_dir / "final.csv")}
        assert json.loads(out) == last and last["status"] == "success"


def test_the_manifest_records_the_environment_and_input_hashes(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("ok", batch_step('return {"output": input}'))
    project.pipeline(simple_pipeline(uses))
    git = ["git", "-C", str(project.root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "pipeline.yaml"], check=True)
    subprocess.run(
        [*git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p"], check=True
    )
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)

    assert run_local.main(_args(project, "--quiet")) == 0

    manifest = _manifest(project)
    env = manifest["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["trakt"] == manifest["trakt_version"]
    assert set(env["libraries"]) >= {"pandas", "pyarrow", "polars"}
    assert env["libraries"]["pyarrow"] == __import__("pyarrow").__version__
    # The output dir is untracked: not dirty.
    assert env["git"] == {"commit": head.stdout.strip(), "dirty": False}
    (file,) = manifest["inputs"]["records"]["files"]
    assert file["sha256"] == hashlib.sha256(RECORDS.encode()).hexdigest()
    assert file["bytes"] == len(RECORDS)

    (project.root / "pipeline.yaml").write_text((project.root / "pipeline.yaml").read_text() + "\n")
    assert run_local.main(_args(project, "--quiet", "--no-input-hashes")) == 0
    manifest = _manifest(project)
    assert manifest["environment"]["git"]["dirty"] is True
    assert "sha256" not in manifest["inputs"]["records"]["files"][0]


def test_no_git_repository_no_git_key(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("ok", batch_step('return {"output": input}'))
    project.pipeline(simple_pipeline(uses))
    os.environ.get("GIT_DIR")  # a hook's GIT_DIR is ignored by design

    assert run_local.main(_args(project, "--quiet")) == 0

    assert "git" not in _manifest(project)["environment"]


@pytest.mark.slow
def test_pdb_opens_at_the_users_frame_with_its_locals(project: Project) -> None:
    _failing(project)
    env = {**os.environ, "PYTHONPATH": str(project.root)}

    proc = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", *_args(project, "--pdb")],
        input="p threshold, len(bad)\nq\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert proc.returncode == 1, proc.stderr
    assert "(15, 2)" in proc.stdout  # the locals of check(), where it raised
    assert "-> raise ValueError" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("trakt: run ")


@pytest.mark.parametrize("preset", [None, "dirty_decay_ms:500"])
def test_the_cli_starts_jemalloc_giving_pages_back_without_the_lazy_step(
    monkeypatch: pytest.MonkeyPatch, preset: str | None
) -> None:
    """jemalloc reads JE_ARROW_MALLOC_CONF when it starts: the CLI sets it for that moment
    (a user's own value kept), and no step or child process inherits it after."""
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc")
    seen: list[str | None] = []
    real = pa.jemalloc_memory_pool

    def watched() -> pa.MemoryPool:
        seen.append(os.environ.get("JE_ARROW_MALLOC_CONF"))
        return real()

    monkeypatch.setattr(pa, "jemalloc_memory_pool", watched)
    if preset is None:
        monkeypatch.delenv("JE_ARROW_MALLOC_CONF", raising=False)
    else:
        monkeypatch.setenv("JE_ARROW_MALLOC_CONF", preset)
    before = pa.default_memory_pool()
    try:
        run_local.use_lean_allocator()
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)
    assert seen == [preset or "muzzy_decay_ms:0"]
    assert os.environ.get("JE_ARROW_MALLOC_CONF") == preset
