"""A step that changes its input frame in place changes nobody else's copy of that artifact.

Every in-place operation pandas offers (copy-on-write ones, and the writes that bypass it:
``.array[...] =``, numpy views made writable) x batch / stream x a stream-capable step / a
whole-frame step: a second step reading the same artifact, and an output written from it,
see the values as they were read.
"""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import pytest

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

SOURCE = "id,amount,price,flag,name\n1,10,1.5,true,a\n2,20,2.5,false,b\n3,30,3.5,true,c\n"

# Each changes `frame` (the step's input frame or chunk) in place.
OPERATIONS = {
    "array_int": 'frame["amount"].array[0] = 999',
    "array_float": 'frame["price"].array[0] = 999.0',
    "array_bool": 'frame["flag"].array[0] = False',
    "array_data": 'frame["amount"].array._data[0] = 999',
    "to_numpy_writable": (
        'arr = frame["price"].to_numpy()\narr.setflags(write=True)\narr[0] = 999.0'
    ),
    "values_writable": 'arr = frame["price"].values\narr.setflags(write=True)\narr[:] = 0.0',
    "loc": 'frame.loc[frame.index[0], "price"] = 999.0',
    "iloc": "frame.iloc[0, 2] = 999.0",
    "setitem": 'frame["amount"] = 0',
    "iadd": 'frame["amount"] += 1000',
    "fillna_inplace": 'frame["name"] = None\nframe.fillna("x", inplace=True)',
    "replace_inplace": "frame.replace(1.5, 42.0, inplace=True)",
    "update": 'frame.update(frame[["price"]] * 100)',
    "set_index_inplace": 'frame.set_index("name", inplace=True)',
    "index_assign": "frame.index = (frame.index + 100).rename('row')",
    "rename_inplace": 'frame.rename(columns={"price": "cost"}, inplace=True)',
    "columns_assign": "frame.columns = [c.upper() for c in frame.columns]",
    "sort_inplace": 'frame.sort_values("id", ascending=False, inplace=True)',
    "drop_inplace": 'frame.drop(columns=["price"], inplace=True)',
    "del_column": 'del frame["price"]',
    "pop": 'frame.pop("price")',
    "insert": 'frame.insert(0, "new", 1)',
}

STREAM_MUTATOR = """
def run(ctx, input, output):
    def chunks():
        for frame in input:
            {op}
            yield frame
    return {{"output": chunks()}}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

WHOLE_MUTATOR = """
def run(ctx, input, output):
    frame = input
    {op}
    return {{"output": frame}}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

KEEP = """
def run(ctx, input, output):
    return {"output": (chunk.copy() for chunk in input)}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

KEEP_WHOLE = """
def run(ctx, input, output):
    return {"output": input.copy()}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


def _code(template: str, op: str) -> str:
    body = textwrap.indent(op, " " * (12 if template is STREAM_MUTATOR else 4)).lstrip()
    return template.format(op=body)


def _read(project: Project, name: str) -> str:
    return Path(project.output_dir / f"{name}.csv").read_text()


@pytest.mark.parametrize("kind", ["stream_step", "whole_step"])
@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_in_place_change_stays_in_the_step(
    project: Project, operation: str, mode: str, kind: str
) -> None:
    project.csv("src.csv", SOURCE)
    template = STREAM_MUTATOR if kind == "stream_step" else WHOLE_MUTATOR
    mutator = project.step("mutate", _code(template, OPERATIONS[operation]))
    keeper = project.step("keep", KEEP)
    _run_with(project, mode, kind, mutator, keeper)
    assert _read(project, "original") == SOURCE
    assert _read(project, "kept") == SOURCE
    assert _read(project, "mutated") != SOURCE  # the change did happen, in the step's copy


def _run_with(project: Project, mode: str, kind: str, mutator: str, keeper: str) -> None:
    whole = "mode: batch, " if mode == "stream" and kind == "whole_step" else ""
    text = f"""
    name: isolation
    execution: {{mode: {mode}}}
    inputs:
      src: {{uri: src.csv}}
    steps:
      - {{id: mutate, uses: {mutator}, {whole}with: {{input: src, output: mutated}}}}
      - {{id: keep, uses: {keeper}, with: {{input: src, output: kept}}}}
    outputs:
      datasets:
        - {{name: mutated, from: mutated}}
        - {{name: original, from: src}}
        - {{name: kept, from: kept}}
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(text))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2)
    with warnings.catch_warnings():  # pandas deprecates some inplace= methods
        warnings.simplefilter("ignore")
        result = runner.run(pipeline)
    assert result["status"] == "success", result["error"]


SIDE_MUTATOR = """
def run(ctx, input, lookup, output):
    frame = lookup
    {op}
    return {{"output": (chunk for chunk in input)}}
run.declared_inputs = ["input", "lookup"]
run.declared_outputs = ["output"]
run.supports_stream = True
run.stream_inputs = ["input"]
"""


@pytest.mark.parametrize("operation", ["array_int", "to_numpy_writable", "iadd", "loc"])
def test_side_input_change_stays_in_the_step(project: Project, operation: str) -> None:
    """Stream mode: a whole side input changed in place by one step; another step reading it
    whole, and an output streaming it, see it as read."""
    project.csv("src.csv", SOURCE)
    project.csv("main.csv", "k\n1\n2\n")
    body = textwrap.indent(OPERATIONS[operation], " " * 4).lstrip()
    mutator = project.step("side", SIDE_MUTATOR.format(op=body))
    keeper = project.step("keep", KEEP_WHOLE)
    text = f"""
    name: side
    execution: {{mode: stream}}
    inputs:
      main: {{uri: main.csv}}
      src: {{uri: src.csv}}
    steps:
      - {{id: mutate, uses: {mutator}, with: {{input: main, lookup: src, output: passed}}}}
      - {{id: keep, uses: {keeper}, mode: batch, with: {{input: src, output: kept}}}}
    outputs:
      datasets:
        - {{name: passed, from: passed}}
        - {{name: original, from: src}}
        - {{name: kept, from: kept}}
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(text))
    result = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert _read(project, "original") == SOURCE
    assert _read(project, "kept") == SOURCE
    assert _read(project, "passed") == "k\n1\n2\n"


def test_stream_input_read_whole_by_a_step_and_also_written(project: Project) -> None:
    """Stream mode: an input that a `mode: batch` step reads whole and an output also writes is
    read twice (whole, and streamed); it used to fail with 'pop from empty list'."""
    project.csv("src.csv", SOURCE)
    keeper = project.step("keep", KEEP_WHOLE)
    text = f"""
    name: twice
    execution: {{mode: stream}}
    inputs:
      src: {{uri: src.csv}}
    steps:
      - {{id: keep, uses: {keeper}, mode: batch, with: {{input: src, output: kept}}}}
    outputs:
      datasets:
        - {{name: original, from: src}}
        - {{name: kept, from: kept}}
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(text))
    result = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert _read(project, "original") == SOURCE
    assert _read(project, "kept") == SOURCE
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["inputs"]["src"]["rows"] == 3
