"""Stream steps with several outputs: the naive shared iterator is an error, split_chunks works."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Project, forget_package
from trakt import load_pipeline_from_yaml, split_chunks
from trakt.runtime.local_runner import LocalRunner

ROWS = 23
RECORDS = "id,amount\n" + "".join(f"{i},{(-1) ** i * i}\n" for i in range(ROWS))
GOOD = "id,amount\n" + "".join(f"{i},{i}\n" for i in range(0, ROWS, 2))
BAD = "id,amount\n" + "".join(f"{i},{-i}\n" for i in range(1, ROWS, 2))

NAIVE = """
def run(ctx, input, good, bad):
    good_chunks = (c[c["amount"] >= 0] for c in input)
    bad_chunks = (c[c["amount"] < 0] for c in input)
    return {"good": good_chunks, "bad": bad_chunks}

run.declared_inputs = ["input"]
run.declared_outputs = ["good", "bad"]
run.supports_stream = True
"""

SPLIT = """
import trakt

def run(ctx, input, good, bad):
    return trakt.split_chunks(
        input, good=lambda c: c[c["amount"] >= 0], bad=lambda c: c[c["amount"] < 0]
    )

run.declared_inputs = ["input"]
run.declared_outputs = ["good", "bad"]
run.supports_stream = True
"""

# The same by hand: one helper reads each chunk and queues its parts for both outputs.
BY_HAND = """
from collections import deque

def run(ctx, input, good, bad):
    queues = {"good": deque(), "bad": deque()}

    def pull():
        chunk = next(input, None)
        if chunk is None:
            return False
        queues["good"].append(chunk[chunk["amount"] >= 0])
        queues["bad"].append(chunk[chunk["amount"] < 0])
        return True

    def output(name):
        while queues[name] or pull():
            yield queues[name].popleft()

    return {"good": output("good"), "bad": output("bad")}

run.declared_inputs = ["input"]
run.declared_outputs = ["good", "bad"]
run.supports_stream = True
"""

PIPELINE = """
name: split
inputs:
  records: {{uri: records.csv}}
steps:
  - id: split
    uses: {uses}
    with: {{input: records, good: good, bad: bad}}
outputs:
  datasets: [{{name: good, from: good}}, {{name: bad, from: bad}}]
execution: {{mode: {mode}}}
"""


def _run(project: Project, code: str, mode: str, chunk: int | None = None) -> dict[str, Any]:
    project.csv("records.csv", RECORDS)
    uses = project.step("split", code)
    path = project.pipeline(PIPELINE.format(uses=uses, mode=mode))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=chunk)
    return runner.run(load_pipeline_from_yaml(path))


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_two_outputs_reading_one_input_iterator_is_an_error(project: Project, mode: str) -> None:
    result = _run(project, NAIVE, mode, chunk=2)
    assert result["status"] == "failed"
    error = result["error"]
    assert (error["type"], error["step_id"], error["input"]) == ("StepError", "split", "input")
    assert error["outputs"] == ["good", "bad"]
    assert "its outputs 'good' and 'bad' both read input 'input' chunk by chunk" in error["message"]
    assert "trakt.split_chunks(input, good=lambda c: ..., bad=lambda c: ...)" in error["message"]
    # Nothing published: neither the half-filled output nor the empty one.
    assert sorted(p.name for p in project.output_dir.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize("code", [SPLIT, BY_HAND], ids=["split_chunks", "by_hand"])
@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_each_chunk_read_once_feeds_both_outputs(project: Project, code: str, mode: str) -> None:
    result = _run(project, code, mode, chunk=3)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "good.csv").read_text() == GOOD
    assert (project.output_dir / "bad.csv").read_text() == BAD


_counter = itertools.count()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(1, ROWS + 2))
def test_split_chunks_loses_nothing_for_any_chunk_size(tmp_path: Path, chunk: int) -> None:
    root = tmp_path / f"p{next(_counter)}"
    root.mkdir()
    project = Project(root)
    try:
        result = _run(project, SPLIT, "stream", chunk=chunk)
    finally:
        forget_package(project.package)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "good.csv").read_text() == GOOD
    assert (project.output_dir / "bad.csv").read_text() == BAD


def test_split_chunks_reads_each_chunk_once_and_keeps_order() -> None:
    reads: list[int] = []

    def chunks() -> Any:
        for i in range(5):
            reads.append(i)
            yield i

    parts = split_chunks(chunks(), double=lambda c: 2 * c, same=lambda c: c)
    assert list(parts) == ["double", "same"]
    assert next(parts["same"]) == 0
    assert next(parts["double"]) == 0  # queued by the first pull, not read again
    assert reads == [0]
    assert list(parts["double"]) == [2, 4, 6, 8]
    assert list(parts["same"]) == [1, 2, 3, 4]
    assert reads == [0, 1, 2, 3, 4]
    assert list(split_chunks([], a=lambda c: c)["a"]) == []
