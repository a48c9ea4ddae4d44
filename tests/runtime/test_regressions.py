"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, stream_step
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import OutputConflict, UsageError
from trakt.runtime.local_runner import LocalRunner

IDENT_STREAM = """
def run(ctx, input, output):
    return {"output": (c for c in input)}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def _run(project: Project, yaml_text: str, **kwargs: Any) -> dict[str, Any]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2)
    return runner.run(pipeline, **kwargs)


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
def test_escaped_quotes_do_not_swallow_the_rest_of_the_file(project: Project, policy: str) -> None:
    project.csv("esc.csv", 'id,note\n1,"5\\" screen"\n2,plain\n4,"bad",extra\n5,last\n')
    result = _run(
        project,
        f"""
        name: esc
        inputs:
          r: {{uri: esc.csv, on_bad_lines: {policy}, options: {{escapechar: "\\\\"}}}}
        outputs:
          datasets: [{{name: out, from: r}}]
        """,
    )
    assert result["status"] == "success", result["error"]
    out = (project.output_dir / "out.csv").read_text()
    assert out == 'id,note\n1,"5"" screen"\n2,plain\n5,last\n'
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["inputs"]["r"]["bad_lines"]["count"] == 1


def test_skiprows_with_skip_keeps_the_header_and_counts_lines(project: Project) -> None:
    project.csv("pre.csv", "# exported\nid,amount\n1,2\n2,3,EXTRA\n3,4\n")
    yaml_text = """
    name: pre
    inputs:
      r: {uri: pre.csv, on_bad_lines: quarantine, options: {skiprows: 1}}
    outputs:
      datasets: [{name: out, from: r}]
    """
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "out.csv").read_text() == "id,amount\n1,2\n3,4\n"
    rejected = (project.output_dir / "_rejected" / "r.csv").read_text()
    assert rejected == 'file,line,reason,raw\npre.csv,4,"expected 2 fields, found 3","2,3,EXTRA"\n'


def test_input_streamed_and_whole_is_read_once(project: Project) -> None:
    project.csv("r.csv", "id,amount\n1,2\n2,3\n3,\n")
    uses = project.step(
        "side",
        """
        def run(ctx, input, lookup, output):
            n = len(lookup)
            return {"output": (c.assign(n=n) for c in input)}
        run.declared_inputs = ["input", "lookup"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        run.stream_inputs = ["input"]
        """,
    )
    yaml_text = f"""
    name: twice
    inputs:
      r:
        uri: r.csv
        schema:
          columns: {{id: {{type: int, unique: true}}}}
          on_violation: quarantine
    steps:
      - id: s
        uses: {uses}
        with: {{input: r, lookup: r, output: o}}
    outputs:
      datasets: [{{name: out, from: o}}]
    execution: {{mode: stream}}
    """
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "out.csv").read_text() == "id,amount,n\n1,2,3\n2,3,3\n3,,3\n"
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["inputs"]["r"]["rows"] == 3 and manifest["inputs"]["r"]["events"] == []


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_named_index_survives_in_both_modes(project: Project, mode: str) -> None:
    project.csv("r.csv", "k,amount\na,1\nb,2\na,3\n")
    uses = project.step(
        "group",
        """
        import pandas as pd
        def run(ctx, input, output):
            def totals():
                yield pd.concat(list(input)).groupby("k")[["amount"]].sum()
            return {"output": totals()}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        """,
    )
    yaml_text = f"""
    name: grouped
    inputs: {{r: {{uri: r.csv}}}}
    steps:
      - {{id: g, uses: {uses}, with: {{input: r, output: o}}}}
    outputs:
      datasets: [{{name: out, from: o}}]
    execution: {{mode: {mode}}}
    """
    assert _run(project, yaml_text)["status"] == "success"
    assert (project.output_dir / "out.csv").read_text() == "k,amount\na,4\nb,2\n"


def test_manifest_path_on_an_input_is_refused_without_touching_it(project: Project) -> None:
    original = "id,amount\n1,2\n"
    path = project.csv("r.csv", original)
    pipeline = load_pipeline_from_yaml(
        project.pipeline("name: m\ninputs: {r: {uri: r.csv}}\noutputs:\n  datasets: []\n")
    )
    runner = LocalRunner(project.input_dir, project.output_dir, manifest_path=path)
    with pytest.raises(OutputConflict, match="the manifest would overwrite input file"):
        runner.run(pipeline)
    assert path.read_text() == original


@pytest.mark.parametrize("run_id", ["x/../../victim", "../x", ".hidden", "a b", ""])
def test_run_ids_cannot_become_paths(project: Project, run_id: str) -> None:
    project.csv("r.csv", "id\n1\n")
    pipeline = load_pipeline_from_yaml(
        project.pipeline("name: m\ninputs: {r: {uri: r.csv}}\noutputs:\n  datasets: []\n")
    )
    runner = LocalRunner(project.input_dir, project.output_dir)
    with pytest.raises(UsageError, match="run id"):
        runner.run(pipeline, run_id=run_id)


def test_publish_is_all_or_nothing(project: Project) -> None:
    project.csv("r.csv", "id,amount\n1,2\n")
    yaml_text = """
    name: two
    inputs: {r: {uri: r.csv}}
    outputs:
      datasets: [{name: a, from: r}, {name: b, from: r}]
    """
    project.output_dir.mkdir()
    (project.output_dir / "a.csv").write_text("OLD A\n")
    (project.output_dir / "b.csv").mkdir()  # in the way of the second rename
    result = _run(project, yaml_text)
    assert result["status"] == "failed"
    assert result["error"]["type"] == "OutputError"
    assert (project.output_dir / "a.csv").read_text() == "OLD A\n"


def test_sys_exit_in_a_step_fails_the_run_cleanly(project: Project) -> None:
    project.csv("r.csv", "id\n1\n")
    uses = project.step(
        "bye",
        """
        import sys
        def run(ctx, input, output):
            sys.exit(3)
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        """,
    )
    yaml_text = f"""
    name: bye
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o}}}}]
    outputs:
      datasets: [{{name: out, from: o}}]
    """
    result = _run(project, yaml_text)
    assert result["status"] == "failed"
    assert result["error"]["type"] == "SystemExit" and result["error"]["step_id"] == "s"
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"


def test_failed_stream_run_leaves_no_reader_thread(project: Project) -> None:
    project.csv("r.csv", "id\n" + "".join(f"{i}\n" for i in range(2000)))
    uses = project.step(
        "boom",
        stream_step(
            """
            if i == 1:
                raise ValueError("boom")
            yield chunk
            """
        ),
    )
    yaml_text = f"""
    name: leak
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o}}}}]
    outputs:
      datasets: [{{name: out, from: o}}]
    execution: {{mode: stream}}
    """
    assert _run(project, yaml_text)["status"] == "failed"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(
        t.name == "trakt-prefetch" for t in threading.enumerate()
    ):
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name == "trakt-prefetch"]


def test_min_max_on_text_is_a_validation_problem(project: Project, tmp_path: Path) -> None:
    yaml_text = """
    name: bad
    inputs:
      r:
        uri: r.csv
        schema: {columns: {s: {type: string, min: 0}}}
    outputs:
      datasets: []
    """
    with pytest.raises(PipelineValidationError, match="min/max do not apply to string columns"):
        load_pipeline_from_yaml(project.pipeline(yaml_text))
