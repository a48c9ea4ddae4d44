"""The local batch runner: results, manifest, failures, step contract at run time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import DOUBLE, PASSTHROUGH, Project, simple_pipeline
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import UsageError
from trakt.runtime.local_runner import TEMP_PREFIX, LocalRunner
from trakt.runtime.planning import plan_pipeline


def _run(project: Project, yaml_text: str, **kwargs: Any) -> dict[str, Any]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir, **kwargs)
    return runner.run(pipeline, run_id="test-run")


def _manifest(project: Project) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.output_dir / "manifest.json").read_text())
    return data


def test_success_writes_output_and_complete_manifest(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,10\n2,2.5\n3,\n")
    uses = project.step("double", DOUBLE)
    result = _run(project, simple_pipeline(uses))

    assert result["status"] == "success"
    assert result["run_id"] == "test-run"
    final = project.output_dir / "final.csv"
    assert result["outputs"] == {"final": str(final)}
    assert final.read_text() == "id,amount\n1,20.0\n2,5.0\n3,\n"

    m = _manifest(project)
    assert result["manifest_path"] == str(project.output_dir / "manifest.json")
    assert m["status"] == "success" and m["mode"] == "batch" and m["error"] is None
    assert m["pipeline"]["name"] == "simple"
    sha = hashlib.sha256((project.root / "pipeline.yaml").read_bytes()).hexdigest()
    assert m["pipeline"]["sha256"] == sha
    assert m["started_at"].endswith("Z") and m["finished_at"] >= m["started_at"]
    assert m["duration_s"] >= 0
    assert m["inputs"]["records"]["rows"] == 3
    assert m["inputs"]["records"]["files"] == [
        {
            "path": "records.csv",
            "bytes": (project.input_dir / "records.csv").stat().st_size,
            "records": 3,
            "kept": 3,
            "set_aside": 0,
            "sha256": hashlib.sha256((project.input_dir / "records.csv").read_bytes()).hexdigest(),
        }
    ]
    assert m["inputs"]["records"]["combine_strategy"] == "concat"
    (step,) = m["steps"]
    assert step["id"] == "step1" and step["uses"] == uses and step["status"] == "success"
    assert step["rows_in"] == {"input": 3} and step["rows_out"] == {"output": 3}
    assert m["outputs"][0].pop("column_summaries") == {
        "id": {"dtype": "Int64", "nulls": 0, "min": 1, "max": 3},
        "amount": {"dtype": "float64", "nulls": 1, "min": 5.0, "max": 20.0},
    }
    assert m["inputs"]["records"]["column_summaries"]["amount"] == {
        "dtype": "float64",
        "nulls": 1,
        "min": 2.5,
        "max": 10.0,
    }
    assert m["outputs"][0].pop("duration_s") >= 0
    assert m["outputs"][0].pop("started_at") >= m["started_at"]
    assert m["outputs"] == [
        {
            "name": "final",
            "from": "result",
            "format": "csv",
            "uri": final.absolute().as_uri(),
            "path": str(final),
            "rows": 3,
            "bytes": len(final.read_bytes()),
        }
    ]
    assert not list(project.output_dir.glob(TEMP_PREFIX + "*"))


def test_step_that_raises_fails_run_and_keeps_previous_output(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    uses = project.step("double", DOUBLE)
    assert _run(project, simple_pipeline(uses))["status"] == "success"
    before = (project.output_dir / "final.csv").read_bytes()

    boom = project.step(
        "boom",
        """
        def run(ctx, input, output):
            raise ValueError("amount column is corrupt")
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    result = _run(project, simple_pipeline(boom))
    assert result["status"] == "failed"
    assert result["outputs"] == {}
    m = _manifest(project)
    assert m["status"] == "failed"
    assert m["error"]["step_id"] == "step1"
    assert m["error"]["type"] == "ValueError"
    assert m["error"]["message"] == "amount column is corrupt"
    assert "raise ValueError" in m["error"]["traceback"]
    assert m["steps"][0]["status"] == "failed"
    assert (project.output_dir / "final.csv").read_bytes() == before
    assert not list(project.output_dir.glob(TEMP_PREFIX + "*"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return frame", r"must return a dict .* but returned DataFrame"),
        ("return {}", r"returned keys \[\]; expected \['output'\] \(missing \['output'\]"),
        (
            "return {'output': frame, 'extra': frame}",
            r"unexpected \['extra'\]",
        ),
        ("return {'output': [1, 2]}", r"returned list for output 'output'; expected a pandas"),
    ],
)
def test_wrong_return_shape_names_step(project: Project, body: str, message: str) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    uses = project.step(
        "bad",
        f"""
        def run(ctx, input, output):
            frame = input
            {body}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    result = _run(project, simple_pipeline(uses))
    assert result["status"] == "failed"
    assert result["error"]["step_id"] == "step1"
    assert "step 'step1'" in result["error"]["message"]
    import re

    assert re.search(message, result["error"]["message"])


def test_ctx_fields_events_and_parameters(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,10\n2,200\n")
    uses = project.step(
        "inspect",
        """
        def run(ctx, input, output, threshold, tags, limits):
            assert ctx.run_id == "test-run"
            assert ctx.pipeline_name == "params"
            assert ctx.step_id == "filter"
            ctx.logger.info("filtering")
            big = input[input["amount"] > threshold]
            ctx.emit_event("warning", "dropped rows", dropped=len(input) - len(big))
            ctx.emit_event("my_kind", "params", tags=tags, limits=limits)
            return {"output": big}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    yaml_text = f"""
    name: params
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: filter
        uses: {uses}
        with:
          input: records
          output: big
          threshold: 100
          tags: [a, b]
          limits: {{max: 5}}
    outputs:
      datasets:
        - {{name: big, from: big}}
    """
    result = _run(project, yaml_text)
    assert result["status"] == "success", result["error"]
    events = _manifest(project)["steps"][0]["events"]
    assert [(e["kind"], e["message"]) for e in events] == [
        ("warning", "dropped rows"),
        ("my_kind", "params"),
    ]
    assert events[0]["dropped"] == 1
    assert events[1]["tags"] == ["a", "b"] and events[1]["limits"] == {"max": 5}
    assert (project.output_dir / "big.csv").read_text() == "id,amount\n2,200\n"


def test_dag_order_release_and_input_isolation(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    mutate = project.step(
        "mutate",
        """
        def run(ctx, input, output):
            input["amount"] = -1      # in place: must not leak into the other consumer
            return {"output": input}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    join = project.step(
        "join",
        """
        import pandas as pd
        def run(ctx, input_a, input_b, output):
            return {"output": pd.concat([input_a, input_b], ignore_index=True)}
        run.declared_inputs = ["input_a", "input_b"]
        run.declared_outputs = ["output"]
        """,
    )
    yaml_text = f"""
    name: dag
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: combine          # listed first, runs last
        uses: {join}
        with: {{input_a: mutated, input_b: records, output: combined}}
      - id: mutate
        uses: {mutate}
        with: {{input: records, output: mutated}}
    outputs:
      datasets:
        - {{name: combined, from: combined}}
    """
    plan = plan_pipeline(load_pipeline_from_yaml(project.pipeline(yaml_text)))
    assert [s.id for s in plan.steps] == ["mutate", "combine"]
    assert plan.release_after[1] == ("combined", "mutated", "records")
    result = _run(project, yaml_text)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "combined.csv").read_text() == "id,amount\n1,-1\n1,10\n"
    assert [s["id"] for s in _manifest(project)["steps"]] == ["mutate", "combine"]


def test_undeclared_step_uses_naming_convention(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    uses = project.step(
        "plain",
        """
        def run(ctx, input, output, factor):
            frame = input.copy()
            frame["amount"] = frame["amount"] * factor
            return {"output": frame}
        """,
    )
    yaml_text = f"""
    name: conv
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: scale
        uses: {uses}
        with: {{input: records, output: scaled, factor: 3}}
    outputs:
      datasets: [{{name: scaled, from: scaled}}]
    """
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "scaled.csv").read_text() == "id,amount\n1,30\n"


def test_integers_with_missing_values_round_trip(project: Project) -> None:
    project.csv("records.csv", 'id,qty,amount,ts,note\n1,11,2.0,2024-01-01T10:00:00,"a,b"\n2,,,,\n')
    uses = project.step(
        "ident",
        """
        def run(ctx, input, output):
            assert str(input["qty"].dtype) == "Int64"
            return {"output": input}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    assert _run(project, simple_pipeline(uses))["status"] == "success"
    assert (project.output_dir / "final.csv").read_text() == (
        'id,qty,amount,ts,note\n1,11,2.0,2024-01-01T10:00:00,"a,b"\n2,,,,\n'
    )


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("concat", "id,amount,src\n1,1,r/a.csv\n2,2,r/b.csv\n"),
        ("latest", "amount,id,src\n2,2,r/b.csv\n"),  # the file's own column order
    ],
)
def test_combine_strategies_end_to_end(project: Project, strategy: str, expected: str) -> None:
    project.csv("r/a.csv", "id,amount\n1,1\n")
    project.csv("r/b.csv", "amount,id\n2,2\n")
    uses = project.step(
        "ident",
        PASSTHROUGH,
    )
    yaml_text = simple_pipeline(uses).replace(
        "uri: records.csv",
        f"uri: r/*.csv\n    combine_strategy: {strategy}\n    source_column: src",
    )
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "final.csv").read_text() == expected


def test_union_and_concat_mismatch(project: Project) -> None:
    project.csv("r/a.csv", "id,amount\n1,1\n")
    project.csv("r/b.csv", "id,note\n2,x\n")
    uses = project.step(
        "ident",
        PASSTHROUGH,
    )
    base = simple_pipeline(uses)
    union = base.replace("uri: records.csv", "uri: r/*.csv\n    combine_strategy: union")
    assert _run(project, union)["status"] == "success"
    assert (project.output_dir / "final.csv").read_text() == "id,amount,note\n1,1,\n2,,x\n"

    concat = base.replace("uri: records.csv", "uri: r/*.csv")
    result = _run(project, concat)
    assert result["status"] == "failed"
    assert result["error"]["artifact"] == "records"
    assert "r/b.csv has different columns than r/a.csv" in result["error"]["message"]
    assert "missing ['amount'], extra ['note']" in result["error"]["message"]


def test_input_override_and_missing_input(project: Project, tmp_path: Path) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    other = tmp_path / "other.csv"
    other.write_text("id,amount\n7,1\n")
    uses = project.step("double", DOUBLE)
    result = _run(project, simple_pipeline(uses), input_overrides={"records": str(other)})
    assert result["status"] == "success"
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n7,2\n"

    with pytest.raises(UsageError, match=r"no input 'recrds' \(did you mean 'records'\?\)"):
        _run(project, simple_pipeline(uses), input_overrides={"recrds": str(other)})

    (project.input_dir / "records.csv").unlink()
    result = _run(project, simple_pipeline(uses))
    assert result["status"] == "failed"
    assert "input 'records': file not found" in result["error"]["message"]
    assert result["error"]["step_id"] is None  # found missing before any step ran
    assert result["error"]["artifact"] == "records"


def test_invalid_pipeline_raises_and_records_manifest(project: Project) -> None:
    uses = project.step("double", DOUBLE)
    pipeline = load_pipeline_from_yaml(project.pipeline(simple_pipeline(uses)))
    # Break it after loading: the runner re-validates before reading any data.
    spec = pipeline.spec.model_copy(update={"steps": []})
    broken = type(pipeline)(spec=spec, source=pipeline.source)
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir)
    with pytest.raises(PipelineValidationError, match="'result', which nothing produces"):
        runner.run(broken, run_id="bad")
    m = _manifest(project)
    assert m["status"] == "invalid"
    assert m["error"]["problems"][0]["path"] == "outputs.datasets[0].from"


def test_excel_input(project: Project) -> None:
    frame = pd.DataFrame({"id": [1, 2], "amount": [1.5, 3.0]})
    with pd.ExcelWriter(project.input_dir / "book.xlsx") as writer:
        frame.to_excel(writer, sheet_name="data", index=False)
    uses = project.step("double", DOUBLE)
    yaml_text = simple_pipeline(uses).replace("uri: records.csv", "uri: book.xlsx\n    sheet: data")
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n1,3.0\n2,6.0\n"
