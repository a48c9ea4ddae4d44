"""Partial runs (select / from / until, artifacts kept and reused), artifacts kept in memory,
the run dirs' precedence, the dry-run plan and validate's input checks: in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.params_project import params_pipeline
from trakt import load_pipeline
from trakt.errors import UsageError
from trakt.runtime.dry_run import plan_lines
from trakt.runtime.input_check import check_input_files, unused
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.planning import plan_pipeline
from trakt.runtime.run_dirs import pipeline_dirs
from trakt.runtime.selection import MissingArtifact, PartialRun, chosen_steps, select


def _run(project: Project, request: PartialRun, sets: tuple[str, ...] = ()) -> dict[str, object]:
    pipeline = load_pipeline(params_pipeline(project), list(sets))
    chosen = select(plan_pipeline(pipeline), request, project.output_dir)
    return LocalRunner(project.input_dir, project.output_dir).run(pipeline, selection=chosen)


def test_selection_syntax(project: Project) -> None:
    plan = plan_pipeline(load_pipeline(params_pipeline(project)))
    assert chosen_steps(plan, PartialRun(select=("double_amount+",))) == {"double_amount", "sum"}
    assert chosen_steps(plan, PartialRun(select=("sum",))) == {"sum"}
    assert chosen_steps(plan, PartialRun(select=("+sum",))) == {"double_amount", "sum"}
    assert chosen_steps(plan, PartialRun(until_step="double_amount")) == {"double_amount"}
    assert chosen_steps(plan, PartialRun(from_step="sum")) == {"sum"}
    with pytest.raises(UsageError, match=r"--select summ: the pipeline has no step 'summ' \(did"):
        chosen_steps(plan, PartialRun(select=("summ",)))
    with pytest.raises(UsageError, match=r"no step is both downstream of the first and upstream"):
        chosen_steps(plan, PartialRun(from_step="sum", until_step="double_amount"))


def test_a_partial_run_reads_the_kept_artifact_and_records_where(project: Project) -> None:
    first = _run(project, PartialRun(keep_artifacts=True))
    assert first["status"] == "success"
    assert (project.output_dir / "_artifact.scaled.parquet").is_file()
    (project.output_dir / "scaled.csv").write_text("id,amount\n1,1000\n")  # not read: parquet is
    result = _run(project, PartialRun(from_step="sum"), ("params.factor=100",))
    assert result["status"] == "success"
    assert (project.output_dir / "totals.csv").read_text() == "total\n60\n"  # factor 2's rows
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    kept = str(project.output_dir.absolute() / "_artifact.scaled.parquet")
    assert manifest["pipeline"]["selection"] == {
        "steps": ["sum"],
        "skipped_steps": ["double_amount"],
        "artifacts_from": {"scaled": kept},
        "outputs_skipped": ["scaled"],
        "kept_artifacts": [],
    }
    assert [s["id"] for s in manifest["steps"]] == ["sum"]
    assert manifest["inputs"]["scaled"]["uri"] == kept


def test_without_kept_artifacts_an_output_dataset_of_a_previous_run_is_read(
    project: Project, tmp_path: Path
) -> None:
    assert _run(project, PartialRun())["status"] == "success"
    (project.output_dir / "scaled.csv").write_text("id,amount\n1,7\n2,8\n")
    result = _run(project, PartialRun(select=("sum",)))
    assert result["status"] == "success"
    assert (project.output_dir / "totals.csv").read_text() == "total\n15\n"


def test_a_missing_artifact_names_it_and_where_it_was_looked_for(project: Project) -> None:
    pipeline = load_pipeline(params_pipeline(project))
    with pytest.raises(
        MissingArtifact,
        match=r"need artifact 'scaled'.*looked for .*_artifact\."
        r"scaled\.parquet, .*scaled\.csv",
    ) as info:
        select(plan_pipeline(pipeline), PartialRun(select=("sum",)), project.output_dir)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_keep_returns_artifacts_as_frames_in_either_mode(project: Project, mode: str) -> None:
    sets = [f"execution.mode={mode}", "steps[0].mode=batch", "steps[1].mode=batch"]
    pipeline = load_pipeline(params_pipeline(project), sets)
    runner = LocalRunner(project.input_dir, project.output_dir)
    result = runner.run(pipeline, keep=["records", "totals"])
    assert result["artifacts"]["records"]["amount"].tolist() == [10, 20]
    assert result["artifacts"]["totals"]["total"].tolist() == [60]
    with pytest.raises(UsageError, match=r"keep='total': the run has no artifact 'total'"):
        runner.run(pipeline, keep=["total"])


def test_run_dirs_flag_over_env_over_file_over_default(project: Project) -> None:
    pipeline = load_pipeline(
        params_pipeline(project, "execution:\n          output_dir: out\n          input_dir: /in")
    )
    env = {"TRAKT_INPUT_DIR": "/env-in"}
    dirs = pipeline_dirs(pipeline, None, None, env)
    assert (dirs.input_dir, dirs.output_dir) == ("/env-in", str(project.root / "out"))
    assert dict(dirs.origin) == {"input_dir": "env", "output_dir": "file"}
    assert pipeline_dirs(pipeline, "x", None, env).input_dir == "x"
    assert pipeline_dirs(pipeline, None, None, {}).input_dir == "/in"
    plain = pipeline_dirs(None, None, None, {})
    assert (plain.input_dir, plain.output_dir) == (".", "output")


def test_the_dry_run_plan_reads_and_writes_nothing(project: Project) -> None:
    pipeline = load_pipeline(params_pipeline(project))
    plan = plan_pipeline(pipeline)
    lines, problems = plan_lines(plan, select(plan, PartialRun(), "o"), project.input_dir, "o", {})
    assert problems == []
    assert lines[1] == "params: day=2026-01-01, factor=2"
    assert "  records: csv, 1 file, 20 B: records.csv (20 B)" in lines
    assert any(
        line.startswith("  1. double_amount (") and "batch: reads records" in line for line in lines
    )
    assert "  totals (csv) from totals -> o/totals.csv" in lines
    assert not project.output_dir.exists()
    _, problems = plan_lines(plan, select(plan, PartialRun(), "o"), project.root, "o", {})
    assert problems and "records.csv" in problems[0]


def test_validate_checks_headers_and_warns_about_unused(project: Project) -> None:
    path = params_pipeline(project)
    text = path.read_text().replace(
        "    uri: records.csv\n",
        "    uri: records.csv\n    schema:\n      columns:\n        amount: {type: int}\n"
        "        region: {type: string}\n  spare:\n    uri: records.csv\n",
    )
    path.write_text(text)
    plan = plan_pipeline(load_pipeline(path))
    assert unused(plan) == [
        "input 'spare' is read by no step and written by no output; remove it, or use it"
    ]
    lines, problems = check_input_files(plan, project.input_dir)
    assert lines[0] == "input 'records': 1 file(s) found"
    assert problems == [
        "input 'records': records.csv lacks required column region (its columns: id, amount); "
        "fix the file, or mark the column required: false"
    ]
