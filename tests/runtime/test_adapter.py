"""Steps in the frame library of their choice (``run.frame`` / ``frame:``): pandas, polars and
Arrow versions of one pipeline write the same bytes in batch and stream mode; mixed chains
convert only at their boundaries; polars LazyFrames are fused; the manifest records each
step's library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.io.csv_writer import CsvTableWriter
from trakt.runtime.local_runner import LocalRunner

RECORDS = '''\
id,amount,name,qty
1,10.5,alice,3
2,,"b, quoted",
3,0.1,,7
4,-2.25,"say ""hi""",1
5,1e-7,eve,
6,3.0,zoe,2
7,,,
'''

# The same two transformations in each library: double ``amount``; add ``label`` (name + "!",
# missing where name is) and ``day`` (2024-01-01 + id days, missing where id % 3 == 0).
TRANSFORMS = {
    "pandas": """
import datetime
import pandas as pd

FRAME = None

def double(frame):
    frame = frame.copy()
    frame["amount"] = frame["amount"] * 2
    return frame

def enrich(frame):
    frame = frame.copy()
    frame["label"] = frame["name"] + "!"
    start = datetime.date(2024, 1, 1)
    days = [None if i % 3 == 0 else start + datetime.timedelta(days=int(i)) for i in frame["id"]]
    frame["day"] = pd.Series(days, dtype=object, index=frame.index)
    return frame
""",
    "polars": """
import datetime
import polars as pl

FRAME = "polars"

def double(frame):
    return frame.with_columns(pl.col("amount") * 2)

def enrich(frame):
    day = pl.lit(datetime.date(2024, 1, 1)) + pl.duration(days=pl.col("id"))
    return frame.with_columns(
        (pl.col("name") + "!").alias("label"),
        pl.when(pl.col("id") % 3 == 0).then(None).otherwise(day).alias("day"),
    )
""",
    "arrow": """
import datetime
import pyarrow as pa
import pyarrow.compute as pc

FRAME = None  # set in the YAML: frame: arrow

def double(table):
    i = table.schema.get_field_index("amount")
    return table.set_column(i, "amount", pc.multiply(table["amount"], 2))

def enrich(table):
    start = datetime.date(2024, 1, 1)
    ids = table["id"].to_pylist()
    days = [None if i % 3 == 0 else start + datetime.timedelta(days=i) for i in ids]
    text = table["name"].type  # large_string: every text column a step gets
    label = pc.binary_join_element_wise(table["name"], pa.scalar("!", text), pa.scalar("", text))
    return table.append_column("label", label).append_column("day", pa.array(days, pa.date32()))
""",
}

BATCH_STEP = """
from {package}.transforms_{lib} import FRAME, {name} as transform

def run(ctx, input, output):
    return {{"output": transform(input)}}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
if FRAME:
    run.frame = FRAME
"""

STREAM_STEP = """
from {package}.transforms_{lib} import FRAME, {name} as transform

def run(ctx, input, output):
    return {{"output": (transform(chunk) for chunk in input)}}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
if FRAME:
    run.frame = FRAME
"""

PIPELINE = """
name: frames
execution:
  mode: {mode}
inputs:
  records:
    uri: records.csv
steps:
  - id: double
    uses: {double}{frame}
    with:
      input: records
      output: doubled
  - id: enrich
    uses: {enrich}{frame}
    with:
      input: doubled
      output: enriched
outputs:
  datasets:
    - name: final
      from: enriched
    - name: final_parquet
      from: enriched
      format: parquet
"""


def _project(root: Path) -> Project:
    project = Project(root)
    project.csv("records.csv", RECORDS)
    for lib, code in TRANSFORMS.items():
        project.step(f"transforms_{lib}", code)
    return project


def _run(project: Project, yaml_text: str, chunk: int | None = None) -> dict[str, Any]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(
        input_dir=project.input_dir, output_dir=project.output_dir, stream_chunk_size=chunk
    )
    result = runner.run(pipeline)
    assert result["status"] == "success", result.get("error")
    return result


def _outputs(project: Project, lib: str, mode: str, chunk: int | None = None) -> dict[str, bytes]:
    """Run the pipeline with ``lib``'s steps; the output files' bytes and the manifest."""
    template = STREAM_STEP if mode == "stream" else BATCH_STEP
    names = {}
    for name in ("double", "enrich"):
        code = template.format(package=project.package, lib=lib, name=name)
        names[name] = project.step(f"{mode}_{lib}_{name}", code)
    frame = "\n    frame: arrow" if lib == "arrow" else ""
    _run(project, PIPELINE.format(mode=mode, frame=frame, **names), chunk)
    out = project.output_dir
    return {
        "csv": (out / "final.csv").read_bytes(),
        "parquet": (out / "final_parquet.parquet").read_bytes(),
        "manifest": (out / "manifest.json").read_bytes(),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The pandas steps' outputs in batch mode."""
    return _outputs(_project(tmp_path_factory.mktemp("reference")), "pandas", "batch")


def test_the_reference_holds_the_transformations(reference: dict[str, bytes]) -> None:
    assert reference["csv"].decode() == textwrap.dedent(
        '''\
        id,amount,name,qty,label,day
        1,21.0,alice,3,alice!,2024-01-02
        2,,"b, quoted",,"b, quoted!",2024-01-03
        3,0.2,,7,,
        4,-4.5,"say ""hi""",1,"say ""hi""!",2024-01-05
        5,2e-7,eve,,eve!,2024-01-06
        6,6.0,zoe,2,zoe!,
        7,,,,,2024-01-08
        '''
    )


@pytest.mark.parametrize("lib", ["polars", "arrow"])
def test_each_library_writes_the_same_bytes_in_batch_mode(
    tmp_path: Path, lib: str, reference: dict[str, bytes]
) -> None:
    got = _outputs(_project(tmp_path), lib, "batch")
    assert got["csv"] == reference["csv"]
    assert got["parquet"] == reference["parquet"]
    steps = json.loads(got["manifest"])["steps"]
    assert [(s["id"], s["frame"]) for s in steps] == [("double", lib), ("enrich", lib)]
    assert [s["rows_out"] for s in steps] == [{"output": 7}, {"output": 7}]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.integers(min_value=1, max_value=9))
def test_each_library_writes_the_same_bytes_in_stream_mode_for_any_chunk_size(
    chunk: int, reference: dict[str, bytes]
) -> None:
    for lib in TRANSFORMS:
        with tempfile.TemporaryDirectory() as tmp:
            got = _outputs(_project(Path(tmp)), lib, "stream", chunk)
            assert got["csv"] == reference["csv"], (lib, chunk)
            assert got["parquet"] == reference["parquet"], (lib, chunk)
            steps = json.loads(got["manifest"])["steps"]
            assert {s["frame"] for s in steps} == {lib}
            assert steps[1]["rows_in"] == {"input": 7}


# --- mixed chains and fusion -------------------------------------------------------------

SPY = """
import polars as pl
import pandas as pd
import pyarrow as pa
import pyarrow.compute

SEEN = []
RETURNED = []

def run(ctx, input, output, lazy=False, tag=""):
    SEEN.append((tag, type(input).__name__, input))
    if isinstance(input, pd.DataFrame):
        result = input.assign(amount=input["amount"] * 2)
    elif isinstance(input, pa.Table):
        amount = pa.compute.multiply(input["amount"], 2)
        result = input.set_column(input.schema.get_field_index("amount"), "amount", amount)
    else:
        result = input.with_columns(pl.col("amount") * 2)
        if lazy:
            result = result.lazy()
    RETURNED.append(result)
    return {"output": result}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

CHAIN = """
name: chain
inputs:
  records:
    uri: records.csv
steps:
  - id: first
    uses: {spy}
    frame: {first}
    with: {{input: records, output: a, tag: first, lazy: {lazy}}}
  - id: second
    uses: {spy}
    frame: {second}
    with: {{input: a, output: b, tag: second, lazy: {lazy}}}
  - id: third
    uses: {spy}
    frame: {third}
    with: {{input: b, output: c, tag: third}}
outputs:
  datasets:
    - name: final
      from: c
"""


def _chain(
    tmp_path: Path, first: str, second: str, third: str, lazy: bool
) -> tuple[Project, Any, dict[str, Any]]:
    tmp_path.mkdir(exist_ok=True)
    project = _project(tmp_path)
    spy = project.step("spy", SPY)
    text = CHAIN.format(spy=spy, first=first, second=second, third=third, lazy=str(lazy).lower())
    _run(project, text)
    module = __import__(spy, fromlist=["SEEN"])
    return project, module, json.loads((project.output_dir / "manifest.json").read_text())


def test_polars_then_polars_then_pandas_converts_only_at_the_boundary(tmp_path: Path) -> None:
    project, spy, manifest = _chain(tmp_path, "polars", "polars", "pandas", lazy=False)
    kinds = [(tag, kind) for tag, kind, _ in spy.SEEN]
    assert kinds == [("first", "DataFrame"), ("second", "DataFrame"), ("third", "DataFrame")]
    import pandas as pd
    import polars as pl

    assert isinstance(spy.SEEN[0][2], pl.DataFrame) and isinstance(spy.SEEN[1][2], pl.DataFrame)
    assert isinstance(spy.SEEN[2][2], pd.DataFrame)
    # polars to polars: the first step's frame itself (a clone shares every column's memory)
    assert spy.SEEN[1][2].equals(spy.RETURNED[0])
    assert str(spy.SEEN[2][2]["qty"].dtype) == "Int64"  # Trakt's pandas dtypes at the boundary
    lines = (project.output_dir / "final.csv").read_text().splitlines()
    assert lines[1] == "1,84.0,alice,3"  # doubled three times
    assert [s["frame"] for s in manifest["steps"]] == ["polars", "polars", "pandas"]
    assert [s["rows_in"] for s in manifest["steps"]] == [{"input": 7}] * 3


def test_a_lazyframe_goes_on_lazy_to_the_next_polars_step_and_is_sunk_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sunk: list[bool] = []
    real_sink = CsvTableWriter.sink

    def sink(self: CsvTableWriter, query: Any, also: Any = ()) -> Any:
        found = real_sink(self, query, also)
        sunk.append(found is not None)
        return found

    monkeypatch.setattr(CsvTableWriter, "sink", sink)
    project, spy, manifest = _chain(tmp_path / "lazy", "polars", "polars", "polars", lazy=True)
    assert sunk == [True]  # the query went straight into the output's temporary file
    eager, _, eager_manifest = _chain(tmp_path / "eager", "polars", "polars", "polars", False)
    assert sunk == [True, True]  # a polars DataFrame as an output's only reader: sunk too
    out = "final.csv"
    assert (project.output_dir / out).read_bytes() == (eager.output_dir / out).read_bytes()
    summaries = manifest["outputs"][0]["column_summaries"]
    assert summaries == eager_manifest["outputs"][0]["column_summaries"]
    assert summaries["amount"]["max"] == 84.0
    import polars as pl

    # fusion: what the second step received is the very LazyFrame the first returned
    assert spy.SEEN[1][2] is spy.RETURNED[0]
    assert spy.SEEN[2][2] is spy.RETURNED[1]
    assert isinstance(spy.RETURNED[1], pl.LazyFrame)
    lines = (project.output_dir / "final.csv").read_text().splitlines()
    assert lines[0] == "id,amount,name,qty"
    assert lines[1:3] == ["1,84.0,alice,3", '2,,"b, quoted",']
    assert [s["rows_out"] for s in manifest["steps"]] == [{"output": 7}] * 3
    assert [s["rows_in"] for s in manifest["steps"]] == [{"input": 7}] * 3
    assert manifest["outputs"][0]["rows"] == 7


def test_a_lazyframe_read_by_a_pandas_step_is_collected_at_the_boundary(tmp_path: Path) -> None:
    project, spy, manifest = _chain(tmp_path, "polars", "polars", "pandas", lazy=True)
    assert spy.SEEN[1][2] is spy.RETURNED[0]
    assert spy.SEEN[2][1] == "DataFrame" and hasattr(spy.SEEN[2][2], "iloc")
    assert (project.output_dir / "final.csv").read_text().splitlines()[1] == "1,84.0,alice,3"
    assert manifest["outputs"][0]["rows"] == 7


def test_a_lazyframe_with_two_readers_runs_its_query_once(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spy = project.step("spy", SPY)
    text = f"""
    name: twice
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: first
        uses: {spy}
        frame: polars
        with: {{input: records, output: a, tag: first, lazy: true}}
      - id: second
        uses: {spy}
        frame: polars
        with: {{input: a, output: b, tag: second}}
    outputs:
      datasets:
        - {{name: a, from: a}}
        - {{name: b, from: b}}
    """
    _run(project, text)
    module = __import__(spy, fromlist=["SEEN"])
    import polars as pl

    assert isinstance(module.SEEN[1][2], pl.DataFrame)  # collected once for output and step
    assert (project.output_dir / "a.csv").read_text().splitlines()[1] == "1,21.0,alice,3"
    assert (project.output_dir / "b.csv").read_text().splitlines()[1] == "1,42.0,alice,3"


def test_yaml_frame_wins_over_run_frame(tmp_path: Path) -> None:
    _, spy, _ = _chain(tmp_path, "pandas", "arrow", "pandas", lazy=False)
    kinds = [kind for _, kind, _ in spy.SEEN]
    assert kinds == ["DataFrame", "Table", "DataFrame"]


# --- validation --------------------------------------------------------------------------


def test_a_bad_frame_is_a_validation_error_at_its_yaml_line(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spy = project.step("spy", SPY)
    path = project.pipeline(CHAIN.format(spy=spy, first="polar", second="pandas", third="arrow",
                                         lazy="false"))  # fmt: skip
    with pytest.raises(PipelineValidationError) as info:
        LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir).run(
            load_pipeline_from_yaml(path)
        )
    message = str(info.value)
    assert ":8:5: steps[0].frame: step 'first': frame must be one of 'pandas', " in message
    assert "found 'polar' (did you mean 'polars'?)" in message


def test_a_bad_run_frame_is_a_validation_error_naming_the_step(tmp_path: Path) -> None:
    project = _project(tmp_path)
    bad = project.step(
        "bad",
        """
        def run(ctx, input, output):
            return {"output": input}

        run.frame = "spark"
        """,
    )
    text = CHAIN.replace("    frame: {first}\n", "").format(
        spy=bad, second="pandas", third="pandas", lazy="false"
    )
    expected = r":7:5: steps\[0\]\.uses: .*bad\.run: run\.frame must be one of 'pandas', "
    with pytest.raises(PipelineValidationError, match=expected + "'polars', 'arrow', found"):
        load_pipeline_from_yaml(project.pipeline(text))


def test_a_lazyframe_for_an_output_with_a_contract_is_collected_and_checked(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    spy = project.step("spy", SPY)
    text = f"""
    name: contract
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: first
        uses: {spy}
        frame: polars
        with: {{input: records, output: a, lazy: true}}
    outputs:
      datasets:
        - name: final
          from: a
          schema:
            columns:
              amount: {{type: float, max: 20}}
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(text))
    result = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir).run(pipeline)
    assert result["status"] == "failed"
    assert "amount" in result["error"]["message"] and "21.0" in result["error"]["message"]
    assert not (project.output_dir / "final.csv").exists()


def test_stream_chunks_may_be_lazyframes_and_tables(tmp_path: Path) -> None:
    project = _project(tmp_path)
    step = project.step(
        "lazy_chunks",
        """
        import polars as pl

        def run(ctx, input, output):
            return {"output": (c.lazy().with_columns(pl.col("amount") * 2) for c in input)}

        run.declared_inputs = ["input"]
        run.declared_outputs = ["output"]
        run.supports_stream = True
        run.frame = "polars"
        """,
    )
    text = f"""
    name: lazy_chunks
    execution: {{mode: stream}}
    inputs:
      records: {{uri: records.csv}}
    steps:
      - {{id: double, uses: {step}, with: {{input: records, output: doubled}}}}
    outputs:
      datasets:
        - {{name: final, from: doubled}}
    """
    _run(project, text, chunk=3)
    lines = (project.output_dir / "final.csv").read_text().splitlines()
    assert lines[:2] == ["id,amount,name,qty", "1,21.0,alice,3"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["steps"][0]["rows_out"] == {"output": 7}
    assert manifest["steps"][0]["chunks_out"] == {"output": 3}


def test_the_python_builder_sets_a_steps_frame(tmp_path: Path) -> None:
    from trakt import workflow

    def double(ctx: Any, input: Any, output: str) -> dict[str, Any]:
        import polars as pl

        assert isinstance(input, pl.DataFrame)
        return {"output": input.with_columns(pl.col("amount") * 2)}

    project = _project(tmp_path)
    built = (
        workflow("built")
        .input("records", str(project.input_dir / "records.csv"))
        .step("double", run=double, with_={"input": "records", "output": "out"}, frame="polars")
        .output("final", from_="out")
    )
    result = built.run(LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir))
    assert result["status"] == "success", result.get("error")
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["steps"][0]["frame"] == "polars"


def test_a_lazyframe_loads_a_database_table(tmp_path: Path) -> None:
    import sqlite3

    project = _project(tmp_path)
    spy = project.step("spy", SPY)
    database = tmp_path / "app.db"
    text = f"""
    name: to_database
    inputs:
      records: {{uri: records.csv}}
    steps:
      - id: first
        uses: {spy}
        frame: polars
        with: {{input: records, output: a, lazy: true}}
    outputs:
      datasets:
        - {{name: loaded, from: a, uri: "sqlite:///{database}", table: doubled}}
    """
    _run(project, text)
    with sqlite3.connect(database) as connection:
        got = connection.execute("SELECT id, amount FROM doubled ORDER BY id").fetchall()
    assert got[:2] == [(1, 21.0), (2, None)] and len(got) == 7


IMPORT_WATCH = """\
import json, sys, threading
import trakt.runtime.adapter as adapter
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

seen = []
imported = adapter.import_module


def watched(name):
    seen.append([threading.current_thread().name, name, "trakt.io.frames" in sys.modules])
    return imported(name)


adapter.import_module = watched
root = sys.argv[1]
result = LocalRunner(root, root + "/out").run(load_pipeline_from_yaml(root + "/pipeline.yaml"))
alive = [t.name for t in threading.enumerate() if t.name == "trakt-import-pandas"]
print(json.dumps([result["status"], seen, alive]))
"""


@pytest.mark.parametrize(("frame", "preloaded"), [("pandas", True), ("polars", False)])
def test_pandas_is_imported_beside_the_read_where_a_step_takes_pandas(
    tmp_path: Path, frame: str, preloaded: bool
) -> None:
    """A fresh interpreter (pandas not imported yet): the run imports pandas in a thread of
    its own while its input is read, and that thread has ended when the run returns."""
    (tmp_path / "records.csv").write_text(RECORDS)
    (tmp_path / "steps_mod.py").write_text(
        "def run(ctx, input, output):\n    return {'output': input}\n"
    )
    (tmp_path / "pipeline.yaml").write_text(
        "name: preload\ninputs:\n  records: {uri: records.csv}\nsteps:\n"
        f"  - id: same\n    uses: steps_mod.run\n    frame: {frame}\n"
        "    with: {input: records, output: kept}\n"
        "outputs:\n  datasets:\n    - {name: kept, from: kept}\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(tmp_path)]))
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_WATCH, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    status, seen, alive = json.loads(proc.stdout)
    assert status == "success"
    assert seen == ([["trakt-import-pandas", "trakt.io.frames", False]] if preloaded else [])
    assert alive == []
    assert (tmp_path / "out" / "kept.csv").read_text() == RECORDS
