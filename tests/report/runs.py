"""Real runs for the report tests: a pipeline that succeeds and one whose step raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Project, batch_step
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

# User data that must reach the page as text, never as markup.
HOSTILE = '<script>window.__pwned = 1</script><b>bold</b> & "quoted"'
MESSAGE = f"amount must be positive, found -3 {HOSTILE}"

PIPELINE = """
name: report_demo
inputs:
  records:
    uri: records.csv
steps:
  - id: clean
    uses: {clean}
    with: {{input: records, output: cleaned}}
  - id: "{failing}"
    uses: {check}
    with: {{input: cleaned, output: checked}}
  - id: publish
    uses: {clean}
    with: {{input: checked, output: final_data}}
outputs:
  datasets:
    - name: final
      from: final_data
    - name: raw_copy
      from: records
"""

# The step's file is written by the test: its `raise` is on RAISE_LINE.
CHECK_FAILING = batch_step(
    """
    negative = int((input["amount"] < 0).sum())
    ctx.emit_event("warning", "negative amounts <i>found</i>", rows=negative)
    if negative:
        raise ValueError(MESSAGE)
    return {"output": input}
    """,
    head=f"MESSAGE = {MESSAGE!r}",
)
RAISE_LINE = CHECK_FAILING.splitlines().index("        raise ValueError(MESSAGE)") + 1
FAILING_STEP = "check<amounts>"


def run(project: Project, amounts: list[int]) -> tuple[Path, dict[str, Any]]:
    """Run the demo pipeline on ``amounts``; the manifest's path and contents."""
    rows = "".join(f"{i},{a}\n" for i, a in enumerate(amounts, 1))
    project.csv("records.csv", "id,amount\n" + rows)
    clean = project.step("clean", batch_step('return {"output": input}'))
    check = project.step("check", CHECK_FAILING)
    text = PIPELINE.format(clean=clean, check=check, failing=FAILING_STEP)
    pipeline = load_pipeline_from_yaml(project.pipeline(text))
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir)
    runner.run(pipeline, run_id="report-run")
    path = project.output_dir / "manifest.json"
    manifest: dict[str, Any] = json.loads(path.read_text())
    return path, manifest


def step_file(project: Project) -> Path:
    """The failing step's module, as the test wrote it."""
    return project.root / project.package / "check.py"
