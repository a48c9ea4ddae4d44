"""``trakt run`` flags end to end in child processes: params with --set, --select over kept
artifacts, --dry-run, --mode, the dirs' defaults, and ``trakt validate``'s new options."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_run_local import sh
from tests.conftest import Project
from tests.params_project import params_pipeline

pytestmark = pytest.mark.slow


def test_params_and_set_end_to_end(project: Project) -> None:
    params_pipeline(project)
    proc = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir input --output-dir out "
        "--set params.factor=3 --set params.day=2026-02-03 "
        "--set 'steps[sum].with.output=totals' -q",
        cwd=project.root,
    )
    assert proc.returncode == 0, proc.stderr
    assert (project.root / "out" / "scaled.csv").read_text() == (
        "id,amount,label,factor_type\n1,30,day 2026-02-03,int\n2,60,day 2026-02-03,int\n"
    )
    manifest = json.loads((project.root / "out" / "manifest.json").read_text())
    assert manifest["pipeline"]["params"] == {"day": "2026-02-03", "factor": 3}


def test_a_bad_set_path_exits_2_naming_it(project: Project) -> None:
    params_pipeline(project)
    proc = sh(
        "python -m trakt.run_local --pipeline-file pipeline.yaml --set 'steps[dbl].with.x=1'",
        cwd=project.root,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "trakt: --set steps[dbl].with.x=1: steps has no entry with id or name 'dbl'; there: "
        "double_amount, sum"
    )
    assert not (project.root / "output").exists()


def test_select_reads_kept_artifacts_and_says_from_where(project: Project) -> None:
    params_pipeline(project)
    first = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir input --output-dir out "
        "--keep-artifacts -q",
        cwd=project.root,
    )
    assert first.returncode == 0, first.stderr
    proc = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir input --output-dir out "
        "--select sum+ --set params.factor=100",
        cwd=project.root,
    )
    assert proc.returncode == 0, proc.stderr
    kept = project.root / "out" / "_artifact.scaled.parquet"
    assert f"trakt: partial run: artifact 'scaled' read from {kept}" in proc.stderr
    assert "trakt: partial run: steps skipped: double_amount" in proc.stderr
    assert (project.root / "out" / "totals.csv").read_text() == "total\n60\n"
    manifest = json.loads((project.root / "out" / "manifest.json").read_text())
    assert manifest["pipeline"]["selection"]["artifacts_from"] == {"scaled": str(kept)}

    missing = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir input --output-dir elsewhere "
        "--from sum",
        cwd=project.root,
    )
    assert missing.returncode == 2
    assert "need artifact 'scaled'" in missing.stderr
    assert str(project.root / "elsewhere" / "_artifact.scaled.parquet") in missing.stderr


def test_dry_run_prints_the_plan_and_writes_nothing(project: Project) -> None:
    params_pipeline(project)
    proc = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir input --output-dir out --dry-run "
        "--mode stream --set 'steps[0].mode=batch' --set 'steps[1].mode=batch'",
        cwd=project.root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mode stream" in proc.stdout.splitlines()[0]
    assert "  records: csv, 1 file, 20 B: records.csv (20 B)" in proc.stdout
    assert "  2. sum (" in proc.stdout and "batch (inputs materialized)" in proc.stdout
    assert "  totals (csv) from totals -> out/totals.csv" in proc.stdout
    assert not (project.root / "out").exists()
    gone = sh(
        "trakt run --pipeline-file pipeline.yaml --input-dir nowhere --dry-run", cwd=project.root
    )
    assert gone.returncode == 2 and "records.csv" in gone.stderr
    assert not (project.root / "output").exists()


def test_dirs_default_from_env_then_file(project: Project) -> None:
    path = params_pipeline(
        project, "execution:\n          input_dir: input\n          output_dir: o"
    )
    proc = sh("trakt run --pipeline-file pipeline.yaml -q", cwd=project.root)
    assert proc.returncode == 0, proc.stderr
    assert (project.root / "o" / "totals.csv").read_text() == "total\n60\n"
    env = {"TRAKT_OUTPUT_DIR": str(project.root / "env-out")}
    proc = sh(f"cd / && trakt run --pipeline-file {path} -q", cwd=project.root, extra_env=env)
    assert proc.returncode == 0, proc.stderr
    assert (project.root / "env-out" / "totals.csv").read_text() == "total\n60\n"


def test_validate_takes_run_flags_checks_headers_and_warns(project: Project) -> None:
    path = params_pipeline(project)
    (project.root / "pipelines" / "demo").mkdir(parents=True)
    (project.root / "pipelines" / "demo" / "pipeline.yaml").write_text(path.read_text())
    named = sh("trakt validate --pipeline demo", cwd=project.root)
    assert named.returncode == 0, named.stderr
    assert "pipeline 'params_demo' is valid" in named.stdout
    ok = sh("trakt validate --pipeline-file pipeline.yaml --input-dir input", cwd=project.root)
    assert ok.returncode == 0, ok.stderr
    assert "input 'records': 1 file(s) found" in ok.stdout
    bad = sh(
        "trakt validate pipeline.yaml --input-dir input --set inputs.records.uri=nope.csv",
        cwd=project.root,
    )
    assert bad.returncode == 2 and "nope.csv" in bad.stderr
    unused = sh(
        "trakt validate pipeline.yaml --set 'outputs.datasets[totals].from=scaled'",
        cwd=project.root,
    )
    assert unused.returncode == 0, unused.stderr
    assert unused.stderr == (
        "trakt: warning: artifact 'totals' (made by step 'sum') is read by no step and written "
        "by no output\n"
    )
