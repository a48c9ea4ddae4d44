"""`stateful: true` on a step (what a distributed runner feeds in order) is validated."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_stateful_on_a_batch_only_step_is_a_located_problem(tmp_path: Path) -> None:
    from trakt.api import load_pipeline_from_yaml
    from trakt.errors import PipelineValidationError

    (tmp_path / "whole_step.py").write_text(
        "def run(ctx, input, output):\n    return {'output': input}\n"
        "run.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
    )
    (tmp_path / "pipeline.yaml").write_text(
        "name: p\ninputs:\n  a: {uri: a.csv}\nsteps:\n  - id: s\n    uses: whole_step\n"
        "    stateful: true\n    with: {input: a, output: b}\n"
        "outputs:\n  datasets:\n    - {name: b, from: b}\n"
    )
    with pytest.raises(PipelineValidationError, match=r"pipeline.yaml:7:\d+: steps\[0\]\.stateful: "
                       r"step 's' \(whole_step.run\) is not stream-capable") as caught:  # fmt: skip
        load_pipeline_from_yaml(tmp_path / "pipeline.yaml")
    assert "remove it, or make the step stream-capable" in str(caught.value)
