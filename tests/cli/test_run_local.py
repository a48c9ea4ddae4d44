"""The CLI as a user meets it: real child processes, exit codes, stderr, files on disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# Every test here runs the CLI in child processes.
pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "multi_file_demo"
EXPECTED_FINAL = (
    "id,customer,country,amount,note\n"
    "1,Ada,DE,21.0,\n"
    '2,Grace,US,40.0,"late, paid"\n'
    '3,Linus,FI,14.5,"said ""ok"""\n'
    "4,Margaret,US,200.0,\n"
    "5,Ken,US,0.2,first order\n"
    "6,Barbara,GB,6.0,\n"
    "7,Dennis,US,-9.0,refund\n"
)


def sh(
    command: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a shell command line as typed, with this venv's python first on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra_env or {})
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_included_example_command(tmp_path: Path) -> None:
    out = tmp_path / "trakt-demo-output"
    proc = sh(
        "PYTHONPATH=examples/multi_file_demo python -m trakt.run_local \\\n"
        "  --pipeline-file examples/multi_file_demo/pipeline.yaml \\\n"
        "  --input-dir examples/multi_file_demo/input \\\n"
        f"  --output-dir {out}",
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "final.csv").read_text() == EXPECTED_FINAL
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "success"
    assert [f["path"] for f in manifest["inputs"]["source__records"]["files"]] == [
        "records/2026-01.csv",
        "records/2026-02.csv",
        "records/2026-03.csv",
    ]
    assert f"final: {out / 'final.csv'}" in proc.stdout


def test_explicit_file_with_pythonpath_from_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = sh(
        f"PYTHONPATH={EXAMPLE} python -m trakt.run_local \\\n"
        f"  --pipeline-file {EXAMPLE / 'pipeline.yaml'} \\\n"
        f"  --input-dir {EXAMPLE / 'input'} \\\n"
        f"  --output-dir {out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "final.csv").read_text() == EXPECTED_FINAL


def _named_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pipelines" / "demo").mkdir(parents=True)
    shutil.copy(EXAMPLE / "pipeline.yaml", root / "pipelines" / "demo" / "pipeline.yaml")
    shutil.copytree(EXAMPLE / "steps", root / "steps")
    shutil.copytree(EXAMPLE / "input", root / "in")
    return root


def test_pipeline_by_name_without_pythonpath(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    proc = sh("python -m trakt.run_local --pipeline demo --input-dir in --output-dir out", root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "out" / "final.csv").read_text() == EXPECTED_FINAL


def test_unknown_pipeline_name_lists_available(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    proc = sh("python -m trakt.run_local --pipeline dmeo --input-dir in --output-dir out", root)
    assert proc.returncode == 2
    assert "--pipeline dmeo:" in proc.stderr and "available: demo" in proc.stderr


def test_input_override_and_manifest_path(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    (tmp_path / "records.csv").write_text("id,amount\n1,5\n")
    proc = sh(
        "python -m trakt.run_local \\\n"
        f"  --pipeline-file pipelines/demo/pipeline.yaml \\\n"
        "  --input-dir in \\\n"
        "  --output-dir out \\\n"
        f"  --input source__records={tmp_path / 'records.csv'} \\\n"
        "  --manifest-path out/custom-manifest.json --run-id r1",
        root,
    )
    assert proc.returncode == 0, proc.stderr
    assert (root / "out" / "final.csv").read_text() == "id,amount\n1,10\n"
    manifest = json.loads((root / "out" / "custom-manifest.json").read_text())
    assert manifest["run_id"] == "r1"
    assert manifest["inputs"]["source__records"]["uri"] == str(tmp_path / "records.csv")
    assert not (root / "out" / "manifest.json").exists()


def test_failing_step_exits_1_with_clear_last_line(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    (root / "steps" / "boom.py").write_text(
        "def run(ctx, input, output):\n"
        "    raise KeyError('amount')\n"
        "run.declared_inputs = ['input']\n"
        "run.declared_outputs = ['output']\n"
    )
    pipeline = root / "pipelines" / "demo" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("steps.normalize.double_amount", "steps.boom"))
    proc = sh("python -m trakt.run_local --pipeline demo --input-dir in --output-dir out", root)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "failed at step 'double_amount': KeyError: 'amount'" in last
    assert "(manifest: out/manifest.json)" in last
    manifest = json.loads((root / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"]["step_id"] == "double_amount"
    assert manifest["error"]["type"] == "KeyError"
    assert not (root / "out" / "final.csv").exists()


RAISES_DEEP = (
    "def run(ctx, input, output):\n"
    "    return _total(input)\n"
    "\n"
    "\n"
    "def _total(frame):\n"
    "    return frame['amount'] + frame['missing']  # line 6 raises\n"
    "run.declared_inputs = ['input']\n"
    "run.declared_outputs = ['output']\n"
)


def test_failing_step_last_line_names_the_raising_file_and_line(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    step = root / "steps" / "boom.py"
    step.write_text(RAISES_DEEP)
    pipeline = root / "pipelines" / "demo" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("steps.normalize.double_amount", "steps.boom"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    source = str(REPO / "src")  # this checkout's trakt, whichever one the venv installed
    # from the project (the path relative to the cwd), and from elsewhere (the full path)
    runs = [
        (root, "--pipeline demo --input-dir in --output-dir out", "steps/boom.py"),
        (
            elsewhere,
            f"--pipeline-file {pipeline} --input-dir {root / 'in'} --output-dir out",
            str(step),
        ),
    ]
    for cwd, flags, shown in runs:
        path = source if cwd == root else f"{source}{os.pathsep}{root}"
        proc = sh(f"python -m trakt.run_local {flags}", cwd, {"PYTHONPATH": path})
        assert proc.returncode == 1, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        # the innermost frame of the user's file: _total's line 6, not run's call on line 2
        assert f"(at {shown}:6 in _total)" in last, proc.stderr
        assert "failed at step 'double_amount': KeyError: 'missing'" in last


FIVE_MISTAKES = """\
name: broken
inputs:
  records:
    uri: records/*.csv
    combine_strategy: concatenate
steps:
  - id: double_amount
    usees: steps.normalize.double_amount
    with: {input: records, output: doubled}
  - id: total
    uses: steps.normalize.double_amount
    with:
      input: dubled
      output: totals
outputs:
  datasets:
    - name: ../escape
      from: totals
    - name: final
      from: nowhere
"""


def test_validate_reports_five_mistakes_at_once(tmp_path: Path) -> None:
    root = _named_project(tmp_path)
    (root / "broken.yaml").write_text(FIVE_MISTAKES)
    proc = sh("trakt validate broken.yaml", root)
    assert proc.returncode == 2
    err = proc.stderr
    assert "broken.yaml: 5 problems found" in err
    assert "broken.yaml:5:5: inputs.records.combine_strategy: expected one of" in err
    assert "broken.yaml:8:5: steps[0].usees: unknown key 'usees' (did you mean 'uses'?)" in err
    assert "broken.yaml:13:7: steps[1].with.input: step 'total' reads artifact 'dubled'" in err
    assert "(did you mean 'doubled'?)" in err
    assert "broken.yaml:17:7: outputs.datasets[0].name: invalid dataset name '../escape'" in err
    assert "broken.yaml:20:7: outputs.datasets[1].from: output 'final' is written from" in err

    ok = sh("trakt validate pipelines/demo/pipeline.yaml", root)
    assert ok.returncode == 0, ok.stderr
    assert "pipeline 'multi_file_demo' is valid" in ok.stdout

    run = sh("python -m trakt.run_local --pipeline-file broken.yaml --output-dir out", root)
    assert run.returncode == 2
    assert "5 problems found" in run.stderr
    assert not (root / "out" / "final.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("--pipeline-file x.yaml --input nonsense", "--input 'nonsense': expected NAME=PATH"),
        ("--pipeline-file x.yaml --stream-chunk-size 0", "must be at least 1"),
        ("--input-dir in", "one of the arguments --pipeline-file --pipeline is required"),
        ("--pipeline-file missing.yaml", "pipeline file not found"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: str, message: str) -> None:
    root = _named_project(tmp_path)
    (root / "x.yaml").write_text((root / "pipelines" / "demo" / "pipeline.yaml").read_text())
    proc = sh(f"python -m trakt.run_local {args}", root)
    assert proc.returncode == 2
    assert message in proc.stderr
