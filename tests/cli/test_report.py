"""``trakt report MANIFEST [-o FILE]`` and ``--report`` on ``trakt run`` / ``run_local``:
files written, exit codes, stderr lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project, batch_step
from tests.report.runs import CHECK_FAILING, FAILING_STEP, PIPELINE, run
from trakt.cli import main as trakt
from trakt.run_local import main as run_local


def _write_project(project: Project, amounts: list[int]) -> list[str]:
    """The report demo pipeline on disk; the run flags for it."""
    project.csv("records.csv", "id,amount\n" + "".join(f"{i},{a}\n" for i, a in enumerate(amounts)))
    clean = project.step("clean", batch_step('return {"output": input}'))
    check = project.step("check", CHECK_FAILING)
    project.pipeline(PIPELINE.format(clean=clean, check=check, failing=FAILING_STEP))
    return [
        "--pipeline-file",
        str(project.root / "pipeline.yaml"),
        "--input-dir",
        str(project.input_dir),
        "--output-dir",
        str(project.output_dir),
    ]


def test_report_beside_the_manifest_by_default(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, _ = run(project, [1, -1])
    assert trakt(["report", str(manifest)]) == 0
    page = project.output_dir / "report.html"
    assert capsys.readouterr().out == f"report: {page}\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "check&lt;amounts&gt;" in html


def test_report_to_a_named_file(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, _ = run(project, [1, 2])
    target = tmp_path / "pages" / "run.html"
    assert trakt(["report", str(manifest), "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"report: {target}\n"
    assert 'class="badge status-success">success<' in target.read_text(encoding="utf-8")
    assert not (project.output_dir / "report.html").exists()


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (None, "no such manifest; give the manifest.json a run wrote"),
        ("{not json", "expected a Trakt run manifest (JSON with run_id and status), found "),
        ('{"name": "x"}', "found not a Trakt manifest (no run_id and status)"),
        ("[1, 2]", "found not a Trakt manifest (no run_id and status)"),
    ],
)
def test_not_a_manifest_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, found: str
) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    assert trakt(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"trakt: {path}: ") and found in err
    assert not (tmp_path / "report.html").exists()


def test_run_report_flag_after_a_failure(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _write_project(project, [5, -5])
    assert run_local([*args, "--report"]) == 1
    page = project.output_dir / "report.html"
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2] == f"trakt: report: {page.absolute()}"
    assert lines[-1].startswith("trakt: run ") and "failed at step 'check<amounts>'" in lines[-1]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    html = page.read_text(encoding="utf-8")
    assert manifest["run_id"] in html
    assert 'data-name="check&lt;amounts&gt;" data-status="failed"' in html


def test_run_report_flag_after_a_success_and_quiet(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _write_project(project, [5, 6])
    assert trakt(["run", *args, "--report", "-q"]) == 0
    assert capsys.readouterr().err == ""  # -q: not even the report's path
    html = (project.output_dir / "report.html").read_text(encoding="utf-8")
    assert 'class="badge status-success">success<' in html


def test_no_report_without_the_flag(project: Project) -> None:
    args = _write_project(project, [5, 6])
    assert run_local(args) == 0
    assert not (project.output_dir / "report.html").exists()


def test_report_with_a_manifest_path_elsewhere(project: Project, tmp_path: Path) -> None:
    args = _write_project(project, [5, 6])
    manifest = tmp_path / "runs" / "m.json"
    assert run_local([*args, "--manifest-path", str(manifest), "--report", "-q"]) == 0
    assert (tmp_path / "runs" / "report.html").is_file()
    assert not (project.output_dir / "report.html").exists()


@pytest.mark.slow
def test_trakt_run_report_in_a_child_process(project: Project) -> None:
    args = _write_project(project, [5, -5])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    trakt_bin = Path(sys.executable).parent / "trakt"
    proc = subprocess.run(
        [str(trakt_bin), "run", *args, "--report"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    page = project.output_dir / "report.html"
    assert f"trakt: report: {page}" in proc.stderr.splitlines()
    assert "status-failed" in page.read_text(encoding="utf-8")
