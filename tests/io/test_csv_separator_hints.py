"""A clean CSV file read with the wrong separator (``id;amount`` read with ``,``) is one column:
wherever that shows — a contract's missing column, ``trakt validate --input-dir``, a step's
missing column — the user is told to set ``sep``, not ``on_bad_lines`` (issue 13)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project, batch_step, stream_step
from trakt import load_pipeline_from_yaml
from trakt.cli import main as trakt
from trakt.run_local import main as run_local
from trakt.runtime.local_runner import LocalRunner

PIPELINE = """
name: semicolons
execution: {{mode: {mode}}}
inputs:
  records:
    uri: records.csv
{schema}
steps:
  - id: pick
    uses: {uses}
    with: {{input: records, output: result}}
outputs:
  datasets:
    - name: final
      from: result
"""

CONTRACT = """\
    schema:
      on_violation: {on_violation}
      columns:
        id: {{type: int}}
        amount: {{type: float}}
"""

PICK_BATCH = batch_step('return {"output": input[["id"]]}')
PICK_STREAM = stream_step('yield chunk[["id"]]')


def _pipeline(project: Project, mode: str, schema: str = "") -> str:
    uses = project.step("pick", PICK_STREAM if mode == "stream" else PICK_BATCH)
    text = PIPELINE.format(mode=mode, schema=schema, uses=uses)
    return str(project.pipeline(text))


def _hint(sep: str = ";") -> str:
    shown = "\\t" if sep == "\t" else sep
    return (
        f"the header was read as one column 'id{shown}amount': is the separator '{shown}'? "
        f'set options: {{sep: "{shown}"}} on this input'
    )


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_contract_missing_its_columns_says_set_sep(project: Project, mode: str) -> None:
    project.csv("records.csv", "id;amount\n1;2.5\n")
    path = _pipeline(project, mode, CONTRACT.format(on_violation="error"))

    result = LocalRunner(project.input_dir, project.output_dir).run(load_pipeline_from_yaml(path))

    assert result["status"] == "failed"
    error = result["error"]
    assert isinstance(error, dict)
    assert error["type"] == "ContractViolation"
    assert error["message"] == f"records: required column 'id' is missing; {_hint()}"
    assert "on_bad_lines" not in error["message"]


def test_a_warned_contract_says_set_sep_in_its_event(project: Project) -> None:
    project.csv("records.csv", "id|amount\n1|2.5\n")
    uses = project.step("keep", batch_step('return {"output": input}'))
    schema = CONTRACT.format(on_violation="warn")
    path = project.pipeline(PIPELINE.format(mode="batch", schema=schema, uses=uses))

    result = LocalRunner(project.input_dir, project.output_dir).run(load_pipeline_from_yaml(path))

    assert result["status"] == "success", result["error"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    messages = [e["message"] for e in manifest["inputs"]["records"]["events"]]
    assert messages[:2] == [
        f"required column 'amount' is missing; {_hint('|')}",
        f"required column 'id' is missing; {_hint('|')}",
    ]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_validate_input_dir_says_set_sep(
    project: Project, sep: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", f"id{sep}amount\n1{sep}2.5\n")
    path = _pipeline(project, "batch", CONTRACT.format(on_violation="error"))

    code = trakt(["validate", path, "--input-dir", str(project.input_dir)])

    assert code == 2
    err = capsys.readouterr().err
    assert (
        f"input 'records': records.csv lacks required columns id, amount (its columns: "
        f"id{sep}amount); {_hint(sep)}"
    ) in err
    assert "mark the column required: false" not in err


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_step_missing_a_column_is_told_to_set_sep(
    project: Project, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", "id;amount\n1;2.5\n")
    path = _pipeline(project, mode)
    out = project.output_dir

    code = run_local(
        ["--pipeline-file", path, "--input-dir", str(project.input_dir), "--output-dir", str(out)]
    )

    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    # a warning as soon as the input is read, and the fix on the failure's last line
    assert f"WARNING trakt.inputs: input 'records' (records.csv): {_hint()}" in lines
    assert "failed at step 'pick'" in lines[-1] and "KeyError" in lines[-1]
    assert f"; input 'records': {_hint()} (manifest: " in lines[-1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["error"]["hints"] == [f"input 'records': {_hint()}"]
    events = manifest["inputs"]["records"]["events"]
    assert [(e["kind"], e["rule"], e["message"]) for e in events] == [
        ("warning", "separator", _hint())
    ]


def test_a_one_column_file_without_another_separator_gets_no_warning(project: Project) -> None:
    project.csv("records.csv", "name\nAda\n")
    uses = project.step("keep", batch_step('return {"output": input}'))
    path = project.pipeline(PIPELINE.format(mode="batch", schema="", uses=uses))

    result = LocalRunner(project.input_dir, project.output_dir).run(load_pipeline_from_yaml(path))

    assert result["status"] == "success", result["error"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert not manifest["inputs"]["records"].get("events")
    assert (project.output_dir / "final.csv").read_text() == "name\nAda\n"
