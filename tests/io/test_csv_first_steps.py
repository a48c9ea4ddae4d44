"""What a new user trips over reading CSV: a wrong separator's hint, and what ``decimal``
gives a step (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project, batch_step, stream_step
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

PIPELINE = """
name: trips
inputs:
  records:
    uri: records.csv
    options: {options}
steps:
  - id: look
    uses: {uses}
    with: {{input: records, output: result}}
outputs:
  datasets:
    - name: final
      from: result
"""

# The type of each value a step receives, written out as data.
TYPES = batch_step(
    """
    frame = input.copy()
    for name in list(frame.columns):
        frame[name + "_type"] = [type(v).__name__ for v in frame[name]]
    return {"output": frame}
    """
)


def _run(project: Project, options: str) -> dict[str, object]:
    uses = project.step("types", TYPES)
    path = project.pipeline(PIPELINE.format(options=options, uses=uses))
    runner = LocalRunner(project.input_dir, project.output_dir)
    return runner.run(load_pipeline_from_yaml(path))


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_one_column_holding_another_separator_suggests_sep(project: Project, sep: str) -> None:
    # European CSV: ';' between values, ',' as the decimal mark: read with ',' one value has
    # two fields in a one-column header.
    project.csv("records.csv", f"id{sep}amount\n1{sep}1,50\n")

    result = _run(project, "{}")

    assert result["status"] == "failed"
    error = result["error"]
    assert isinstance(error, dict)
    shown = "\\t" if sep == "\t" else sep
    assert f"is the separator '{shown}'? set options: {{sep: \"{shown}\"}}" in error["message"]
    assert "on_bad_lines: skip" not in error["message"]


def test_a_malformed_record_under_a_comma_header_still_suggests_on_bad_lines(
    project: Project,
) -> None:
    project.csv("records.csv", "id,amount\n1,2,3\n")

    result = _run(project, "{}")

    error = result["error"]
    assert isinstance(error, dict)
    assert "on_bad_lines: skip | quarantine" in error["message"]


def test_decimal_comma_values_reach_a_step_as_floats(project: Project) -> None:
    project.csv("records.csv", "id;amount;ratio\n1;1,50;0,5\n2;2,25;1,25\n")

    result = _run(project, '{sep: ";", decimal: ","}')

    assert result["status"] == "success", result["error"]
    text = Path(project.output_dir / "final.csv").read_text()
    # What README "Data types" says: `decimal: ","` parses the values as float64 (not
    # Decimal objects), so they are written back as Python spells the floats, with a '.'.
    assert text.splitlines()[0] == "id,amount,ratio,id_type,amount_type,ratio_type"
    assert text.splitlines()[1:] == ["1,1.5,0.5,int64,float,float", "2,2.25,1.25,int64,float,float"]


CONTRACT_PIPELINE = """
name: decimals
execution: {{mode: {mode}}}
inputs:
  records:
    uri: records.csv
    options: {{sep: ";", decimal: ","}}
    schema:
      on_violation: {on_violation}
      columns:
        id: {{type: int}}
        amount: {{type: "decimal(10,2)"}}
        ratio: {{type: float}}
steps:
  - id: look
    uses: {uses}
    with: {{input: records, output: result}}
outputs:
  datasets:
    - name: final
      from: result
"""

# The type of each value a step receives, per chunk in stream mode.
STREAM_TYPES = stream_step(
    """
    frame = chunk.copy()
    for name in list(frame.columns):
        frame[name + "_type"] = [type(v).__name__ for v in frame[name]]
    yield frame
    """
)


def _contract_run(project: Project, mode: str, on_violation: str = "error") -> dict[str, object]:
    uses = project.step("types", STREAM_TYPES if mode == "stream" else TYPES)
    text = CONTRACT_PIPELINE.format(mode=mode, on_violation=on_violation, uses=uses)
    # one row per chunk: every stream chunk parses its decimals alone
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=1)
    return runner.run(load_pipeline_from_yaml(project.pipeline(text)))


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_decimal_comma_values_meet_a_decimal_contract_as_decimals(
    project: Project, mode: str
) -> None:
    project.csv("records.csv", "id;amount;ratio\n1;1,50;0,5\n2;-2,25;1,25\n3;;\n")

    result = _contract_run(project, mode)

    assert result["status"] == "success", result["error"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert not manifest["inputs"]["records"].get("events")  # every value parsed, none lost
    # What README "Data types" says: a decimal(p,s) column reaches a step as Decimal objects
    # (exact, scale kept), a float column as floats; both written back with a '.'.
    assert (project.output_dir / "final.csv").read_text().splitlines() == [
        "id,amount,ratio,id_type,amount_type,ratio_type",
        "1,1.50,0.5,int64,Decimal,float",
        "2,-2.25,1.25,int64,Decimal,float",
        "3,,,int64,NoneType,float",
    ]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_a_point_under_decimal_comma_is_no_valid_decimal(project: Project, mode: str) -> None:
    project.csv("records.csv", "id;amount;ratio\n1;1,50;0,5\n2;2.25;1,25\n")

    result = _contract_run(project, mode, on_violation="warn")

    assert result["status"] == "success", result["error"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    events = manifest["inputs"]["records"]["events"]
    assert [(e["kind"], e["message"], e["samples"]) for e in events] == [
        (
            "coercion",
            "1 value(s) of 'amount' are not a valid decimal(10,2); set to null",
            [{"value": "2.25", "line": 3}],
        )
    ]
