"""Stream mode (``execution.mode: stream``): chunked reads, lazy step chaining, fan-out, side
inputs, ``mode: batch`` steps, incremental outputs published at success, and the manifest.

The central property: for any data and any chunk size, stream mode writes the same bytes as
batch mode.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import (
    DOUBLE,
    SHARED,
    STREAM_DOUBLE,
    Project,
    simple_pipeline,
    stream_step,
)
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import UsageError
from trakt.runtime.local_runner import DEFAULT_CHUNK_SIZE, TEMP_PREFIX, LocalRunner

# Records every chunk it sees (length and dtypes) in a module-level LOG, passes it on unchanged.
SPY = stream_step(
    """
    LOG.append((len(chunk), {str(c): str(t) for c, t in chunk.dtypes.items()}))
    yield chunk
    """,
    head="LOG = []",
)


def _simple(uses: str, mode: str = "stream", uri: str = "records.csv") -> str:
    return simple_pipeline(uses, mode, uri)


def _run(
    project: Project, yaml_text: str, chunk: int | None = None, run_id: str = "test-run"
) -> dict[str, Any]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(
        input_dir=project.input_dir, output_dir=project.output_dir, stream_chunk_size=chunk
    )
    return runner.run(pipeline, run_id=run_id)


def _manifest(project: Project) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.output_dir / "manifest.json").read_text())
    return data


def _step(manifest: dict[str, Any], step_id: str) -> dict[str, Any]:
    (record,) = [s for s in manifest["steps"] if s["id"] == step_id]
    return record


def _temp_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(TEMP_PREFIX + "*"))


def _visible(directory: Path) -> list[str]:
    """The files a user sees in a directory (hidden ones, such as a lock, left out)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _amount_csv(rows: int) -> str:
    return "id,amount\n" + "".join(f"{i},{i % 97}.5\n" for i in range(rows))


def _spy_log(project: Project, name: str) -> list[tuple[int, dict[str, str]]]:
    log: list[tuple[int, dict[str, str]]] = sys.modules[f"{project.package}.{name}"].LOG
    return log


# --- the description's stream step ------------------------------------------------------------


def test_description_stream_step_is_quoted_verbatim() -> None:
    seeds = sorted((SHARED / "seed").glob("*.txt")) if (SHARED / "seed").is_dir() else []
    blocks = [
        b
        for seed in seeds
        for b in re.findall(r"```python\n(.*?)```", seed.read_text(encoding="utf-8"), re.S)
        if "supports_stream" in b
    ]
    if not blocks:
        pytest.skip("the product description is not present")
    assert blocks == [STREAM_DOUBLE]


def _description_project(project: Project, rows: int) -> tuple[str, str]:
    project.csv("records.csv", _amount_csv(rows))
    uses = project.step("double_amount", STREAM_DOUBLE)
    expected = "id,amount\n" + "".join(f"{i},{(i % 97) * 2 + 1}.0\n" for i in range(rows))
    return _simple(uses), expected


@pytest.mark.slow
def test_description_stream_step_via_cli(project: Project) -> None:
    yaml_text, expected = _description_project(project, 25_000)
    pipeline_file = project.pipeline(yaml_text)
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trakt.run_local",
            "--pipeline-file",
            str(pipeline_file),
            "--input-dir",
            str(project.input_dir),
            "--output-dir",
            str(project.output_dir),
            "--stream-chunk-size",
            "10000",
        ],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "succeeded" in proc.stdout
    assert (project.output_dir / "final.csv").read_text() == expected
    m = _manifest(project)
    assert m["status"] == "success" and m["mode"] == "stream"
    assert m["stream_chunk_size"] == 10_000
    step = _step(m, "step1")
    assert step["chunks_in"] == {"input": 3} and step["chunks_out"] == {"output": 3}
    assert step["rows_in"] == {"input": 25_000} and step["rows_out"] == {"output": 25_000}
    assert m["outputs"][0]["rows"] == 25_000
    assert not _temp_files(project.output_dir)


def test_description_stream_step_via_python_api(project: Project) -> None:
    yaml_text, expected = _description_project(project, 23)
    result = _run(project, yaml_text, chunk=5)
    assert result["status"] == "success", result["error"]
    final = project.output_dir / "final.csv"
    assert result["outputs"] == {"final": str(final)}
    assert final.read_text() == expected
    m = _manifest(project)
    assert m["stream_chunk_size"] == 5
    assert isinstance(m["peak_rss_bytes"], int) and m["peak_rss_bytes"] > 0
    step = _step(m, "step1")
    assert step["status"] == "success"
    assert step["chunks_in"] == {"input": 5} and step["chunks_out"] == {"output": 5}
    assert step["rows_in"] == {"input": 23} and step["rows_out"] == {"output": 23}
    assert m["inputs"]["records"]["rows"] == 23


def test_description_stream_step_in_batch_pipeline(project: Project) -> None:
    """A stream-capable step runs in batch mode: one-chunk iterator in, chunks concatenated."""
    yaml_text, expected = _description_project(project, 23)
    result = _run(project, yaml_text.replace("mode: stream", "mode: batch"), chunk=5)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.csv").read_text() == expected
    m = _manifest(project)
    assert m["mode"] == "batch"
    assert isinstance(m["peak_rss_bytes"], int) and m["peak_rss_bytes"] > 0
    step = _step(m, "step1")
    assert step["rows_in"] == {"input": 23} and step["rows_out"] == {"output": 23}


# --- the central property: stream == batch, byte for byte -----------------------------------

ENRICH = """
from pandas.api.types import is_numeric_dtype

def run(ctx, input, output):
    def chunks():
        for chunk in input:
            frame = chunk.copy()
            # A column without any value is text (as in batch mode): only numbers are scaled.
            if "n" in frame.columns and is_numeric_dtype(frame["n"]):
                frame["n2"] = frame["n"] * 2 - 1
            if "x" in frame.columns and is_numeric_dtype(frame["x"]):
                frame["x2"] = frame["x"] * 2
            yield frame
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

KEEP = """
def run(ctx, input, output):
    return {"output": (chunk[chunk["id"] % 3 != 0] for chunk in input)}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

TAG = """
def run(ctx, input, output):
    def chunks():
        for chunk in input:
            frame = chunk.copy()
            if "text" in frame.columns:
                frame["text"] = frame["text"].str.upper()
            frame["flag"] = frame["id"] % 2 == 0
            yield frame
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

CHAIN = """
name: chain
execution:
  mode: {mode}
inputs:
  records:
    uri: parts/*.csv
    combine_strategy: {strategy}
steps:
  - id: enrich
    uses: {package}.enrich
    with: {{input: records, output: enriched}}
  - id: keep
    uses: {package}.keep
    with: {{input: enriched, output: kept}}
  - id: tag
    uses: {package}.tag
    with: {{input: kept, output: tagged}}
outputs:
  datasets:
    - {{name: final, from: tagged}}
"""

COLUMNS = ("n", "x", "text")
_text = st.text(alphabet="abZé ,'\"\n1", min_size=1, max_size=6).filter(
    lambda s: any(c.isalpha() for c in s)
)
_float = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
)
_row = st.fixed_dictionaries(
    {
        "n": st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        "x": st.one_of(st.none(), _float),
        "text": st.one_of(st.none(), _text),
    }
)


def _number_text(value: float, whole_as_int: bool) -> str:
    return str(int(value)) if whole_as_int and value.is_integer() else repr(value)


def _csv_text(columns: list[str], rows: list[dict[str, Any]], whole_as_int: bool) -> str:
    """A CSV file; with ``whole_as_int`` whole floats are written 2 (not 2.0), so a file whose
    floats are all whole is read as ints and must widen to float when combined."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                "" if row[c] is None else _number_text(row[c], whole_as_int) if c == "x" else row[c]
                for c in columns
            ]
        )
    return buffer.getvalue()


@st.composite
def _datasets(draw: st.DrawFn) -> dict[str, Any]:
    rows = draw(st.lists(_row, min_size=1, max_size=30))
    for i, row in enumerate(rows):
        row["id"] = i
    n_files = draw(st.integers(1, 3))
    cuts = sorted(
        draw(st.lists(st.integers(0, len(rows)), min_size=n_files - 1, max_size=n_files - 1))
    )
    bounds = [0, *cuts, len(rows)]
    strategy = draw(st.sampled_from(["concat", "union"]))
    files = []
    for k in range(n_files):
        if strategy == "union":
            subset = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=3))
        else:
            subset = list(COLUMNS)
        columns = draw(st.permutations(["id", *subset]))
        whole_as_int = draw(st.booleans())
        files.append(_csv_text(columns, rows[bounds[k] : bounds[k + 1]], whole_as_int))
    chunk = draw(st.integers(1, len(rows) + 3))
    return {"files": files, "strategy": strategy, "chunk": chunk, "rows": len(rows)}


@pytest.fixture(scope="module")
def chain_package() -> Iterator[tuple[Path, str]]:
    root = Path(tempfile.mkdtemp(prefix="trakt-stream-prop-"))
    package = f"tstream_chain_{uuid.uuid4().hex[:8]}"
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    for name, code in (("enrich", ENRICH), ("keep", KEEP), ("tag", TAG)):
        (root / package / f"{name}.py").write_text(textwrap.dedent(code))
    yield root, package
    for mod in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[mod]
    shutil.rmtree(root, ignore_errors=True)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_datasets())
def test_stream_and_batch_write_identical_bytes(
    chain_package: tuple[Path, str], data: dict[str, Any]
) -> None:
    package_root, package = chain_package
    root = Path(tempfile.mkdtemp(dir=package_root))
    try:
        for k, text in enumerate(data["files"]):
            path = root / "input" / "parts" / f"part{k}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        outputs: dict[str, bytes] = {}
        for mode in ("batch", "stream"):
            pipeline_file = package_root / f"{root.name}-{mode}.yaml"
            pipeline_file.write_text(
                CHAIN.format(mode=mode, strategy=data["strategy"], package=package)
            )
            runner = LocalRunner(
                input_dir=root / "input",
                output_dir=root / mode,
                stream_chunk_size=data["chunk"],
            )
            result = runner.run(load_pipeline_from_yaml(pipeline_file), run_id=mode)
            assert result["status"] == "success", result["error"]
            outputs[mode] = (root / mode / "final.csv").read_bytes()
            manifest = json.loads((root / mode / "manifest.json").read_text())
            kept = sum(1 for i in range(data["rows"]) if i % 3 != 0)
            assert manifest["outputs"][0]["rows"] == kept
        assert outputs["stream"] == outputs["batch"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- laziness, fan-out, side inputs -------------------------------------------------------------

TRACE = """
import sys

def run(ctx, input, output, name):
    log = sys.modules[__package__].LOG
    def chunks():
        for chunk in input:
            log.append((name, int(chunk["id"].iloc[0])))
            yield chunk
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def test_chunks_flow_lazily_through_chained_steps(project: Project) -> None:
    """Each chunk passes through every step before the next chunk is read."""
    (project.root / project.package / "__init__.py").write_text("LOG = []\n")
    project.csv("records.csv", _amount_csv(9))
    trace = project.step("trace", TRACE)
    yaml_text = f"""
    name: lazy
    execution: {{mode: stream}}
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: first
        uses: {trace}
        with: {{input: records, output: a, name: first}}
      - id: second
        uses: {trace}
        with: {{input: a, output: b, name: second}}
    outputs:
      datasets: [{{name: final, from: b}}]
    """
    result = _run(project, yaml_text, chunk=3)
    assert result["status"] == "success", result["error"]
    log = sys.modules[project.package].LOG
    assert log == [
        ("first", 0),
        ("second", 0),
        ("first", 3),
        ("second", 3),
        ("first", 6),
        ("second", 6),
    ]
    assert (project.output_dir / "final.csv").read_text() == _amount_csv(9)


def test_fan_out_to_two_steps_and_an_output(project: Project) -> None:
    project.csv("records.csv", _amount_csv(10))
    double = project.step("double", STREAM_DOUBLE)
    small = project.step(
        "small",
        """
        def run(ctx, input, output, limit):
            return {"output": (c[c["amount"] < limit] for c in input)}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        """,
    )
    yaml_text = f"""
    name: fanout
    execution: {{mode: stream}}
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: double
        uses: {double}
        with: {{input: records, output: doubled}}
      - id: small
        uses: {small}
        with: {{input: doubled, output: smalls, limit: 10}}
      - id: redouble
        uses: {double}
        with: {{input: doubled, output: quadrupled}}
    outputs:
      datasets:
        - {{name: raw, from: records}}
        - {{name: doubled, from: doubled}}
        - {{name: smalls, from: smalls}}
        - {{name: quadrupled, from: quadrupled}}
    """
    result = _run(project, yaml_text, chunk=4)
    assert result["status"] == "success", result["error"]
    out = project.output_dir
    assert (out / "raw.csv").read_text() == _amount_csv(10)
    values = [(i, (i % 97) + 0.5) for i in range(10)]
    assert (out / "doubled.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{a * 2}\n" for i, a in values
    )
    assert (out / "smalls.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{a * 2}\n" for i, a in values if a * 2 < 10
    )
    assert (out / "quadrupled.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{a * 4}\n" for i, a in values
    )
    m = _manifest(project)
    assert {o["name"]: o["rows"] for o in m["outputs"]} == {
        "raw": 10,
        "doubled": 10,
        "smalls": 5,
        "quadrupled": 10,
    }
    for step_id in ("double", "small", "redouble"):
        step = _step(m, step_id)
        assert step["status"] == "success"
        assert step["chunks_in"] == {"input": 3} and step["rows_in"] == {"input": 10}
    assert _step(m, "small")["rows_out"] == {"output": 5}
    assert _step(m, "small")["chunks_out"] == {"output": 3}
    assert m["inputs"]["records"]["rows"] == 10


LOOKUP_JOIN = """
import pandas as pd

def run(ctx, input, lookup, output):
    if not isinstance(lookup, pd.DataFrame):
        raise TypeError(f"lookup arrived as {type(lookup).__name__}")
    if isinstance(input, pd.DataFrame):
        raise TypeError("input arrived whole")
    def chunks():
        for chunk in input:
            yield chunk.merge(lookup, on="country", how="left")
    return {"output": chunks()}

run.declared_inputs = ["input", "lookup"]
run.declared_outputs = ["output"]
run.stream_inputs = ["input"]
run.supports_stream = True
"""

ORDERS = """
id,country,amount
1,DE,10
2,US,20
3,FR,30
4,DE,40
5,US,50
"""

JOINED = "id,country,amount,region\n1,DE,10,EU\n2,US,20,NA\n3,FR,30,EU\n4,DE,40,EU\n5,US,50,NA\n"


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_side_input_arrives_whole(project: Project, mode: str) -> None:
    project.csv("orders.csv", ORDERS)
    project.csv("countries.csv", "country,region\nDE,EU\nUS,NA\nFR,EU\n")
    join = project.step("join", LOOKUP_JOIN)
    yaml_text = f"""
    name: side
    execution: {{mode: {mode}}}
    inputs:
      orders: {{uri: orders.csv}}
      countries:
        uri: countries.csv
        options: {{na_values: [], keep_default_na: false}}
    steps:
      - id: join
        uses: {join}
        with: {{input: orders, lookup: countries, output: joined}}
    outputs:
      datasets: [{{name: joined, from: joined}}]
    """
    result = _run(project, yaml_text, chunk=2)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "joined.csv").read_text() == JOINED
    step = _step(_manifest(project), "join")
    assert step["rows_in"] == {"input": 5, "lookup": 3}
    if mode == "stream":
        assert step["chunks_in"] == {"input": 3} and step["chunks_out"] == {"output": 3}


def test_side_input_produced_by_a_stream_step(project: Project) -> None:
    """A streamed artifact used whole by a later step is gathered into one DataFrame."""
    project.csv("orders.csv", ORDERS)
    project.csv("countries.csv", "country,region\nDE,eu\nUS,na\nFR,eu\n")
    join = project.step("join", LOOKUP_JOIN)
    upper = project.step(
        "upper",
        stream_step(
            """
            frame = chunk.copy()
            frame["region"] = frame["region"].str.upper()
            yield frame
            """
        ),
    )
    yaml_text = f"""
    name: side2
    execution: {{mode: stream}}
    inputs:
      orders: {{uri: orders.csv}}
      countries: {{uri: countries.csv, options: {{keep_default_na: false}}}}
    steps:
      - id: upper
        uses: {upper}
        with: {{input: countries, output: regions}}
      - id: join
        uses: {join}
        with: {{input: orders, lookup: regions, output: joined}}
    outputs:
      datasets:
        - {{name: joined, from: joined}}
        - {{name: regions, from: regions}}
    """
    result = _run(project, yaml_text, chunk=2)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "joined.csv").read_text() == JOINED
    assert (project.output_dir / "regions.csv").read_text() == (
        "country,region\nDE,EU\nUS,NA\nFR,EU\n"
    )
    m = _manifest(project)
    assert _step(m, "upper")["chunks_in"] == {"input": 2}
    assert _step(m, "join")["rows_in"] == {"input": 5, "lookup": 3}


# --- failures: attribution, atomic outputs ----------------------------------------------------

FAIL_AT_THIRD = """
class ChunkCorrupt(Exception):
    pass

def run(ctx, input, output):
    def chunks():
        for chunk in input:
            if int(chunk["id"].iloc[0]) == 10:  # the third chunk of five rows
                raise ChunkCorrupt("bad chunk starting at id 10")
            yield chunk
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def _two_step_yaml(first: str, second: str) -> str:
    return f"""
    name: failing
    execution: {{mode: stream}}
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: first
        uses: {first}
        with: {{input: records, output: middle}}
      - id: second
        uses: {second}
        with: {{input: middle, output: last}}
    outputs:
      datasets:
        - {{name: final, from: last}}
        - {{name: middle, from: middle}}
    """


@pytest.mark.parametrize("failing_id", ["first", "second"])
def test_failure_in_third_of_ten_chunks(project: Project, failing_id: str) -> None:
    project.csv("records.csv", _amount_csv(50))
    double = project.step("double", STREAM_DOUBLE)
    assert _run(project, _simple(double), chunk=5, run_id="good")["status"] == "success"
    final = project.output_dir / "final.csv"
    before = final.read_bytes()
    assert _step(_manifest(project), "step1")["chunks_in"] == {"input": 10}

    failing = project.step("failing", FAIL_AT_THIRD)
    steps = (failing, double) if failing_id == "first" else (double, failing)
    result = _run(project, _two_step_yaml(*steps), chunk=5, run_id="bad")
    assert result["status"] == "failed"
    assert result["outputs"] == {}
    m = _manifest(project)
    assert m["run_id"] == "bad" and m["status"] == "failed"
    error = m["error"]
    assert error["step_id"] == failing_id
    assert error["chunk_index"] == 2  # 0-based: the third input chunk
    assert error["type"] == "ChunkCorrupt"
    assert error["message"] == "bad chunk starting at id 10"
    assert "raise ChunkCorrupt" in error["traceback"]
    record = _step(m, failing_id)
    assert record["status"] == "failed"
    assert record["chunks_in"] == {"input": 3} and record["rows_in"] == {"input": 15}
    assert record["chunks_out"] == {"output": 2} and record["rows_out"] == {"output": 10}
    if failing_id == "first":
        # The downstream step was interrupted by the upstream failure.
        assert _step(m, "second")["status"] == "aborted"
    assert m["outputs"] == []
    assert isinstance(m["peak_rss_bytes"], int) and m["peak_rss_bytes"] > 0
    # The previous run's output is untouched; this run's partial outputs are gone.
    assert final.read_bytes() == before
    assert not (project.output_dir / "middle.csv").exists()
    assert not _temp_files(project.output_dir)
    assert _visible(project.output_dir) == ["final.csv", "manifest.json"]


def test_failure_marks_interrupted_upstream_step_aborted(project: Project) -> None:
    """A finished run's manifest has no step left "running": the upstream step that the
    failure interrupted is "aborted" (the status StreamExecution gives interrupted steps)."""
    project.csv("records.csv", _amount_csv(50))
    double = project.step("double", STREAM_DOUBLE)
    failing = project.step("failing", FAIL_AT_THIRD)
    assert _run(project, _two_step_yaml(double, failing), chunk=5)["status"] == "failed"
    m = _manifest(project)
    assert _step(m, "second")["status"] == "failed"
    first = _step(m, "first")
    assert first["status"] == "aborted", first
    assert first["duration_s"] is not None


HEAD = """
def run(ctx, input, output):
    def first_chunk():
        yield next(iter(input))
    return {"output": first_chunk()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def test_step_reading_only_part_of_its_input(project: Project) -> None:
    """A step may stop pulling early (a head/limit): the run succeeds, and no step of the
    successful run is left "running" in the manifest."""
    project.csv("records.csv", _amount_csv(50))
    double = project.step("double", STREAM_DOUBLE)
    head = project.step("head", HEAD)
    yaml_text = _two_step_yaml(double, head).replace("        - {name: middle, from: middle}\n", "")
    result = _run(project, yaml_text, chunk=5)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{i * 2 + 1}.0\n" for i in range(5)
    )
    m = _manifest(project)
    assert _step(m, "second")["status"] == "success"
    assert _step(m, "second")["chunks_in"] == {"input": 1}
    assert _visible(project.output_dir) == ["final.csv", "manifest.json"]
    first = _step(m, "first")
    assert first["status"] == "success", first
    assert first["duration_s"] is not None


def test_produced_but_unused_artifact_is_still_computed(project: Project) -> None:
    project.csv("records.csv", _amount_csv(12))
    double = project.step("double", STREAM_DOUBLE)
    yaml_text = _simple(double).replace(
        "outputs:",
        f"  - id: unused\n    uses: {double}\n    with: {{input: records, output: nobody}}\n"
        "outputs:",
    )
    result = _run(project, yaml_text, chunk=5)
    assert result["status"] == "success", result["error"]
    m = _manifest(project)
    unused = _step(m, "unused")
    assert unused["status"] == "success"
    assert unused["chunks_in"] == {"input": 3} and unused["rows_out"] == {"output": 12}
    assert _visible(project.output_dir) == ["final.csv", "manifest.json"]


def test_failure_in_stream_step_of_batch_pipeline_names_chunk(project: Project) -> None:
    """In batch mode the step gets one chunk: a failure there is chunk 0."""
    project.csv("records.csv", "id,amount\n10,1\n")
    failing = project.step("failing", FAIL_AT_THIRD)
    result = _run(project, _simple(failing, mode="batch"))
    assert result["status"] == "failed"
    assert result["error"]["step_id"] == "step1"
    assert result["error"]["type"] == "ChunkCorrupt"
    assert result["error"]["chunk_index"] == 0
    assert not (project.output_dir / "final.csv").exists()


def test_failing_first_run_leaves_no_output(project: Project) -> None:
    project.csv("records.csv", _amount_csv(50))
    failing = project.step("failing", FAIL_AT_THIRD)
    result = _run(project, _simple(failing), chunk=5)
    assert result["status"] == "failed"
    assert result["error"]["chunk_index"] == 2
    assert _visible(project.output_dir) == ["manifest.json"]


def test_failure_when_step_is_called(project: Project) -> None:
    """A step that raises before returning its iterator fails without a chunk index."""
    project.csv("records.csv", _amount_csv(5))
    boom = project.step(
        "boom",
        """
        def run(ctx, input, output):
            raise KeyError("nope")
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        """,
    )
    result = _run(project, _simple(boom), chunk=2)
    assert result["status"] == "failed"
    assert result["error"]["step_id"] == "step1"
    assert result["error"]["type"] == "KeyError"
    assert result["error"].get("chunk_index") is None
    assert _step(_manifest(project), "step1")["status"] == "failed"
    assert _visible(project.output_dir) == ["manifest.json"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return {'output': frame}", r"stream-capable but returned DataFrame for output 'output'"),
        (
            "return {'output': (c.columns for c in input)}",
            r"returned Index for output 'output' \(chunk 0\)",
        ),
        ("return frame", r"must return a dict .* -> an iterator of DataFrames"),
    ],
)
def test_wrong_stream_return_shape(project: Project, body: str, message: str) -> None:
    project.csv("records.csv", _amount_csv(5))
    uses = project.step(
        "bad",
        f"""
        import pandas as pd
        def run(ctx, input, output):
            frame = pd.DataFrame({{"a": [1]}})
            {body}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        """,
    )
    result = _run(project, _simple(uses), chunk=2)
    assert result["status"] == "failed"
    assert result["error"]["step_id"] == "step1"
    assert re.search(message, result["error"]["message"]), result["error"]["message"]
    assert _visible(project.output_dir) == ["manifest.json"]


def test_output_is_written_incrementally_to_a_temp_file(project: Project) -> None:
    """While chunk k is processed, earlier chunks are already in the temp file; the final name
    appears only when the run has succeeded."""
    project.csv("records.csv", _amount_csv(6000))
    watch = project.step(
        "watch",
        """
        from pathlib import Path

        SEEN = []

        def run(ctx, input, output, outdir):
            def chunks():
                for chunk in input:
                    temps = sorted(Path(outdir).glob(".trakt-tmp-*"))
                    final = (Path(outdir) / "final.csv").exists()
                    SEEN.append(([t.name for t in temps], [t.stat().st_size for t in temps], final))
                    yield chunk
            return {"output": chunks()}
        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        """,
    )
    yaml_text = _simple(watch).replace(
        "output: result", f"output: result\n      outdir: {project.output_dir}"
    )
    result = _run(project, yaml_text, chunk=1000, run_id="inc")
    assert result["status"] == "success", result["error"]
    seen = sys.modules[watch].SEEN
    assert len(seen) == 6
    assert all(names == [f"{TEMP_PREFIX}inc-final.csv"] for names, _, _ in seen)
    assert not any(final for _, _, final in seen)
    sizes = [size for _, (size,), _ in seen]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]  # it grows while the run goes on
    assert (project.output_dir / "final.csv").read_text() == _amount_csv(6000)
    assert not _temp_files(project.output_dir)


# --- validation, mode: batch steps, aggregation ----------------------------------------------


def test_non_stream_step_in_stream_pipeline_is_invalid(project: Project) -> None:
    project.csv("records.csv", _amount_csv(3))
    plain = project.step("plain", DOUBLE)
    with pytest.raises(PipelineValidationError) as caught:
        _run(project, _simple(plain))
    message = str(caught.value)
    assert re.search(
        rf"steps\[0\]\.uses: step 'step1' \({re.escape(plain)}\.run\) is not stream-capable; "
        r"set run\.supports_stream = True .*add `mode: batch` to this step",
        message,
    ), message
    (problem,) = caught.value.problems
    assert problem.path == "steps[0].uses"
    assert not (project.output_dir / "final.csv").exists()

    # The same pipeline as a batch pipeline is fine.
    result = _run(project, _simple(plain, mode="batch"))
    assert result["status"] == "success", result["error"]


def test_non_stream_step_is_invalid_at_run_time_too(project: Project) -> None:
    """LocalRunner.run re-validates: a stream pipeline built in Python is checked as well."""
    project.csv("records.csv", _amount_csv(3))
    plain = project.step("plain", DOUBLE)
    pipeline = load_pipeline_from_yaml(project.pipeline(_simple(plain, mode="batch")))
    execution = pipeline.spec.execution.model_copy(update={"mode": "stream"})
    spec = pipeline.spec.model_copy(update={"execution": execution})
    stream = type(pipeline)(spec=spec, source=pipeline.source)
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir)
    with pytest.raises(PipelineValidationError, match=r"step 'step1' .* is not stream-capable"):
        runner.run(stream, run_id="invalid")
    m = _manifest(project)
    assert m["status"] == "invalid"
    assert "supports_stream" in m["error"]["problems"][0]["message"]


SORT_DESC = """
def run(ctx, input, output):
    return {"output": input.sort_values("amount", ascending=False, kind="stable")}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


def test_batch_step_in_stream_pipeline(project: Project) -> None:
    project.csv("records.csv", _amount_csv(10))
    double = project.step("double", STREAM_DOUBLE)
    sort = project.step("sort", SORT_DESC)
    spy = project.step("spy", SPY)
    yaml_text = f"""
    name: mixed
    execution: {{mode: stream}}
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: double
        uses: {double}
        with: {{input: records, output: doubled}}
      - id: sort
        uses: {sort}
        mode: batch
        with: {{input: doubled, output: sorted}}
      - id: spy
        uses: {spy}
        with: {{input: sorted, output: spied}}
    outputs:
      datasets:
        - {{name: final, from: spied}}
    """
    result = _run(project, yaml_text, chunk=4)
    assert result["status"] == "success", result["error"]
    rows = sorted(((i % 97) * 2 + 1, i) for i in range(10))[::-1]
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{a}.0\n" for a, i in rows
    )
    m = _manifest(project)
    sort_record = _step(m, "sort")
    assert sort_record["status"] == "success"
    assert sort_record["mode"] == "batch"
    assert sort_record["materialized_rows"] == 10
    assert sort_record["rows_in"] == {"input": 10} and sort_record["rows_out"] == {"output": 10}
    assert "mode" not in _step(m, "double") and "materialized_rows" not in _step(m, "double")
    # The batch step's output streams on in chunks of the configured size.
    assert _step(m, "spy")["chunks_in"] == {"input": 3}
    assert [n for n, _ in _spy_log(project, "spy")] == [4, 4, 2]


def test_batch_step_reading_a_pipeline_input(project: Project) -> None:
    project.csv("records.csv", _amount_csv(7))
    sort = project.step("sort", SORT_DESC)
    yaml_text = _simple(sort).replace("uses:", "mode: batch\n    uses:")
    result = _run(project, yaml_text, chunk=2)
    assert result["status"] == "success", result["error"]
    rows = sorted(((i % 97) + 0.5, i) for i in range(7))[::-1]
    assert (project.output_dir / "final.csv").read_text() == "id,amount\n" + "".join(
        f"{i},{a}\n" for a, i in rows
    )
    record = _step(_manifest(project), "step1")
    assert record["mode"] == "batch" and record["materialized_rows"] == 7


AGGREGATE = """
import pandas as pd

def run(ctx, input, output):
    def total():
        parts = [chunk.groupby("country", sort=True)["amount"].sum() for chunk in input]
        summed = pd.concat(parts).groupby(level=0).sum()
        yield summed.rename("total").reset_index()
    return {"output": total()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""


def test_aggregating_step(project: Project) -> None:
    countries = ["DE", "US", "FR"]
    project.csv(
        "orders.csv",
        "id,country,amount\n" + "".join(f"{i},{countries[i % 3]},{i}\n" for i in range(20)),
    )
    aggregate = project.step("aggregate", AGGREGATE)
    yaml_text = f"""
    name: agg
    execution: {{mode: stream}}
    inputs:
      orders: {{uri: orders.csv}}
    steps:
      - id: total
        uses: {aggregate}
        with: {{input: orders, output: totals}}
    outputs:
      datasets:
        - {{name: totals, from: totals}}
        - {{name: orders, from: orders}}
    """
    result = _run(project, yaml_text, chunk=3)
    assert result["status"] == "success", result["error"]
    sums = {c: sum(i for i in range(20) if countries[i % 3] == c) for c in countries}
    assert (project.output_dir / "totals.csv").read_text() == "country,total\n" + "".join(
        f"{c},{sums[c]}\n" for c in sorted(countries)
    )
    assert (project.output_dir / "orders.csv").read_text() == (
        project.input_dir / "orders.csv"
    ).read_text()
    record = _step(_manifest(project), "total")
    assert record["status"] == "success"
    assert record["chunks_in"] == {"input": 7} and record["rows_in"] == {"input": 20}
    assert record["chunks_out"] == {"output": 1} and record["rows_out"] == {"output": 3}
    # The same step in a batch pipeline gives the same bytes.
    stream_bytes = (project.output_dir / "totals.csv").read_bytes()
    assert _run(project, yaml_text.replace("mode: stream", "mode: batch"))["status"] == "success"
    assert (project.output_dir / "totals.csv").read_bytes() == stream_bytes


# --- dtypes: the same in every chunk, and the same as batch mode -----------------------------


def _batch_then_stream(project: Project, yaml_text: str, chunk: int) -> tuple[bytes, bytes]:
    outputs = []
    for mode in ("batch", "stream"):
        for module in [m for n, m in sys.modules.items() if n.startswith(project.package + ".")]:
            getattr(module, "LOG", []).clear()  # spies keep the stream run's chunks only
        result = _run(project, yaml_text.replace("mode: stream", f"mode: {mode}"), chunk=chunk)
        assert result["status"] == "success", result["error"]
        outputs.append((project.output_dir / "final.csv").read_bytes())
    return outputs[0], outputs[1]


def test_int_column_missing_only_in_a_late_chunk_stays_int(project: Project) -> None:
    rows = [f"{i},11,{i}.0,t{i}" for i in range(100)]
    rows[95] = "95,,,"
    project.csv("records.csv", "id,qty,price,note\n" + "\n".join(rows) + "\n")
    spy = project.step("spy", SPY)
    assert _run(project, _simple(spy, mode="batch"))["status"] == "success"
    batch = (project.output_dir / "final.csv").read_bytes()
    ((_, batch_dtypes),) = _spy_log(project, "spy")
    _spy_log(project, "spy").clear()

    assert _run(project, _simple(spy), chunk=10)["status"] == "success"
    stream = (project.output_dir / "final.csv").read_bytes()
    assert stream == batch
    lines = stream.decode().splitlines()
    assert lines[1] == "0,11,0.0,t0" and lines[96] == "95,,," and lines[100] == "99,11,99.0,t99"
    assert {line.split(",")[1] for line in lines[1:]} == {"11", ""}
    log = _spy_log(project, "spy")
    assert [n for n, _ in log] == [10] * 10
    assert all(dtypes == batch_dtypes for _, dtypes in log)
    assert batch_dtypes["qty"] == "Int64" and batch_dtypes["price"] == "float64"


def test_declared_dtypes_apply_to_every_chunk(project: Project) -> None:
    project.csv(
        "records.csv",
        "code,amount,flag\n" + "".join(f"00{i},{i},{'true' if i % 2 else ''}\n" for i in range(9)),
    )
    spy = project.step("spy", SPY)
    yaml_text = _simple(spy).replace(
        "uri: records.csv",
        "uri: records.csv\n    options: {dtype: {code: str, amount: float, flag: bool}}",
    )
    batch, stream = _batch_then_stream(project, yaml_text, chunk=2)
    assert stream == batch
    assert stream.decode() == "code,amount,flag\n" + "".join(
        f"00{i},{float(i)},{'true' if i % 2 else ''}\n" for i in range(9)
    )
    log = _spy_log(project, "spy")
    assert [n for n, _ in log] == [2, 2, 2, 2, 1]
    for _, dtypes in log:
        assert dtypes["amount"] == "float64" and dtypes["flag"] == "boolean"
        assert dtypes["code"] == log[0][1]["code"] != "Int64"


def _late_values_csv(rows: int) -> str:
    """A file > 1 MiB whose 'late' column is empty until its last row."""
    lines = [f"{i},row number {i:07d}," for i in range(rows)]
    lines[-1] = f"{rows - 1},row number {rows - 1:07d},late value"
    return "id,text,late\n" + "\n".join(lines) + "\n"


def test_column_empty_in_the_first_rows_needs_a_declared_type(project: Project) -> None:
    rows = 60_000
    project.csv("records.csv", _late_values_csv(rows))
    assert (project.input_dir / "records.csv").stat().st_size > 1 << 20
    double = project.step("spy", SPY)

    # Batch mode reads the whole file: the column is text.
    result = _run(project, _simple(double, mode="batch"))
    assert result["status"] == "success", result["error"]
    batch = (project.output_dir / "final.csv").read_bytes()
    assert batch.endswith(f"{rows - 1},row number {rows - 1:07d},late value\n".encode())

    # Stream mode fixes types from the first rows: it stops with a clear message.
    result = _run(project, _simple(double), chunk=10_000, run_id="stream")
    assert result["status"] == "failed"
    error = result["error"]
    assert error["type"] == "InputError"
    assert error["column"] == "late"
    assert re.search(
        r"column 'late' had no values in the first rows, so stream mode reads it as null, "
        r"but a later row has 'late value'\. Declare its type: "
        r"options: \{dtype: \{late: <str\|int\|float\|bool>\}\}",
        error["message"],
    ), error["message"]
    assert (project.output_dir / "final.csv").read_bytes() == batch
    assert not _temp_files(project.output_dir)

    # Declaring the type makes stream mode agree with batch mode.
    declared = _simple(double).replace(
        "uri: records.csv", "uri: records.csv\n    options: {dtype: {late: str}}"
    )
    result = _run(project, declared, chunk=10_000)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.csv").read_bytes() == batch


def test_an_empty_column_stays_null_when_a_long_record_restarts_the_reader(
    project: Project,
) -> None:
    # Every column is empty in the first rows; a record longer than the reader's block makes
    # it start over with a larger block, which must not infer the columns afresh (that once
    # gave chunks of two schemas and a bare ArrowInvalid).
    long = "y" * 1_100_000
    project.csv("records.csv", f"a,b\n,\n{long},{long}\n,\n")
    double = project.step("spy", SPY)
    result = _run(project, _simple(double), chunk=1)
    assert result["status"] == "failed"
    error = result["error"]
    assert error["type"] == "InputError" and error["column"] == "a" and error["line"] == 3
    assert re.search(
        r"records\.csv:3: cannot stream CSV .*column 'a' had no values in the first rows, so "
        r"stream mode reads it as null, but a later row has 'yyy",
        error["message"],
    ), error["message"]
    assert not _temp_files(project.output_dir)

    declared = _simple(double).replace(
        "uri: records.csv", "uri: records.csv\n    options: {dtype: {a: str, b: str}}"
    )
    result = _run(project, declared, chunk=1, run_id="declared")
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.csv").read_text() == f"a,b\n,\n{long},{long}\n,\n"


def test_int_column_with_a_late_fraction_needs_a_declared_type(project: Project) -> None:
    rows = 60_000
    lines = [f"{i},row number {i:07d},{i}" for i in range(rows)]
    lines[-1] = f"{rows - 1},last,2.5"
    project.csv("records.csv", "id,text,qty\n" + "\n".join(lines) + "\n")
    spy = project.step("spy", SPY)
    assert _run(project, _simple(spy, mode="batch"))["status"] == "success"
    batch = (project.output_dir / "final.csv").read_bytes()
    assert batch.endswith(
        f"\n{rows - 2},row number {rows - 2:07d},{rows - 2}.0\n{rows - 1},last,2.5\n".encode()
    )

    result = _run(project, _simple(spy), chunk=10_000)
    assert result["status"] == "failed"
    assert result["error"]["column"] == "qty"
    assert re.search(
        r"column 'qty' held only int64 values in the first rows, .* a later row has '2\.5'\. "
        r"Declare its type",
        result["error"]["message"],
    ), result["error"]["message"]

    declared = _simple(spy).replace(
        "uri: records.csv", "uri: records.csv\n    options: {dtype: {qty: float}}"
    )
    assert _run(project, declared, chunk=10_000)["status"] == "success"
    assert (project.output_dir / "final.csv").read_bytes() == batch


# --- multi-file inputs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            "concat",
            "id,amount,src\n1,1,r/a.csv\n2,2,r/a.csv\n3,3,r/a.csv\n4,4,r/b.csv\n5,5,r/c.csv\n"
            "6,6,r/c.csv\n",
        ),
        ("latest", "amount,id,src\n5,5,r/c.csv\n6,6,r/c.csv\n"),
    ],
)
def test_multi_file_concat_and_latest_stream(
    project: Project, strategy: str, expected: str
) -> None:
    project.csv("r/a.csv", "id,amount\n1,1\n2,2\n3,3\n")
    project.csv("r/b.csv", "id,amount\n4,4\n")
    project.csv("r/c.csv", "amount,id\n5,5\n6,6\n")
    spy = project.step("spy", SPY)
    yaml_text = _simple(spy, uri="r/*.csv").replace(
        "uri: r/*.csv",
        f"uri: r/*.csv\n    combine_strategy: {strategy}\n    source_column: src",
    )
    batch, stream = _batch_then_stream(project, yaml_text, chunk=2)
    assert stream == batch
    assert stream.decode() == expected
    # Chunks do not span files: each file is read in chunks of its own.
    sizes = [n for n, _ in _spy_log(project, "spy")]
    assert sizes == ([2, 1, 1, 2] if strategy == "concat" else [2])
    m = _manifest(project)
    assert m["inputs"]["records"]["combine_strategy"] == strategy
    assert m["inputs"]["records"]["rows"] == (6 if strategy == "concat" else 2)


def test_multi_file_union_streams_with_columns_from_every_header(project: Project) -> None:
    project.csv("r/a.csv", "id,amount\n1,1\n2,2\n3,3\n")
    project.csv("r/b.csv", "id,note\n4,x\n")
    project.csv("r/c.csv", "qty,id\n7,5\n,6\n")
    spy = project.step("spy", SPY)
    yaml_text = _simple(spy, uri="r/*.csv").replace(
        "uri: r/*.csv", "uri: r/*.csv\n    combine_strategy: union"
    )
    batch, stream = _batch_then_stream(project, yaml_text, chunk=2)
    assert stream == batch
    assert stream.decode() == ("id,amount,note,qty\n1,1,,\n2,2,,\n3,3,,\n4,,x,\n5,,,7\n6,,,\n")
    log = _spy_log(project, "spy")
    assert [n for n, _ in log] == [2, 1, 1, 2]
    assert all(list(dtypes) == ["id", "amount", "note", "qty"] for _, dtypes in log)
    assert all(dtypes == log[0][1] for _, dtypes in log)
    assert log[0][1]["amount"] == "Int64" and log[0][1]["qty"] == "Int64"


def test_concat_with_different_columns_fails_before_any_output(project: Project) -> None:
    project.csv("r/a.csv", "id,amount\n1,1\n")
    project.csv("r/b.csv", "id,note\n2,x\n")
    spy = project.step("spy", SPY)
    result = _run(project, _simple(spy, uri="r/*.csv"), chunk=1)
    assert result["status"] == "failed"
    assert "r/b.csv has different columns than r/a.csv" in result["error"]["message"]
    assert _spy_log(project, "spy") == []
    assert _visible(project.output_dir) == ["manifest.json"]
    assert not _temp_files(project.output_dir)


@pytest.mark.parametrize("strategy", ["concat", "union"])
def test_column_numeric_in_one_file_and_text_in_another(project: Project, strategy: str) -> None:
    """The combined column is text in both modes, and the two modes agree on its values
    (the file's own text, leading zeros included)."""
    project.csv("r/a.csv", "id,code,price\n1,007,1.50\n2,010,2.0\n")
    project.csv("r/b.csv", "id,code,price\n3,x1,cheap\n")
    spy = project.step("spy", SPY)
    yaml_text = _simple(spy, uri="r/*.csv").replace(
        "uri: r/*.csv", f"uri: r/*.csv\n    combine_strategy: {strategy}"
    )
    batch, stream = _batch_then_stream(project, yaml_text, chunk=1)
    expected = "id,code,price\n1,007,1.50\n2,010,2.0\n3,x1,cheap\n"
    assert stream.decode() == expected
    assert batch.decode() == expected  # batch mode writes 7, 10 and 1.5


# --- chunk size ---------------------------------------------------------------------------------


def test_chunks_have_exactly_the_configured_size_across_read_blocks(project: Project) -> None:
    """A file larger than the reader's 1 MiB blocks is regrouped into exact chunks."""
    rows = 120_000
    project.csv("records.csv", "id,text\n" + "".join(f"{i},value {i:08d}\n" for i in range(rows)))
    assert (project.input_dir / "records.csv").stat().st_size > 2 << 20
    spy = project.step("spy", SPY)
    batch, stream = _batch_then_stream(project, _simple(spy), chunk=50_000)
    assert stream == batch == (project.input_dir / "records.csv").read_bytes()
    assert [n for n, _ in _spy_log(project, "spy")] == [50_000, 50_000, 20_000]
    m = _manifest(project)
    assert m["stream_chunk_size"] == 50_000
    assert _step(m, "step1")["chunks_in"] == {"input": 3}


def test_default_and_invalid_chunk_size(project: Project) -> None:
    project.csv("records.csv", _amount_csv(3))
    spy = project.step("spy", SPY)
    assert _run(project, _simple(spy))["status"] == "success"
    assert _manifest(project)["stream_chunk_size"] == DEFAULT_CHUNK_SIZE
    with pytest.raises(UsageError, match="stream_chunk_size must be at least 1, got 0"):
        LocalRunner(input_dir=project.input_dir, stream_chunk_size=0)


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_empty_stream_inputs_means_every_input_arrives_whole(project: Project, mode: str) -> None:
    """``run.stream_inputs = []``: no input is streamed, in either mode."""
    project.csv("records.csv", _amount_csv(5))
    whole = project.step(
        "whole",
        """
        import pandas as pd

        def run(ctx, input, output):
            if not isinstance(input, pd.DataFrame):
                raise TypeError(f"input arrived as {type(input).__name__}")
            return {"output": (input.iloc[i : i + 2] for i in range(0, len(input), 2))}

        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.stream_inputs = []
        run.supports_stream = True
        """,
    )
    result = _run(project, _simple(whole, mode=mode), chunk=2)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "final.csv").read_text() == _amount_csv(5)
    record = _step(_manifest(project), "step1")
    assert record["rows_in"] == {"input": 5} and record["rows_out"] == {"output": 5}
