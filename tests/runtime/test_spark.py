"""The Spark runner against the local runner: byte-identical outputs (the examples, and a
multi-file concat + side-input join + stateful aggregation + driver step), the manifest's
Spark fields, and its clear errors. One local[2] session for the module."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from trakt.api import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def spark(spark_session: Any) -> Any:
    return spark_session


def run_both(
    pipeline_file: Path, input_dir: Path, out: Path, spark: Any, **options: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    from trakt.runtime.spark_runner import SparkRunner

    pipeline = load_pipeline_from_yaml(pipeline_file)
    chunk = options.pop("stream_chunk_size", None)
    local = LocalRunner(input_dir, out / "local", stream_chunk_size=chunk).run(pipeline)
    on_spark = SparkRunner(
        input_dir, out / "spark", session=spark, stream_chunk_size=chunk, **options
    ).run(pipeline)
    return local, on_spark


def assert_same_outputs(out: Path, names: list[str]) -> None:
    for name in names:
        local, spark = out / "local" / name, out / "spark" / name
        assert spark.read_bytes() == local.read_bytes(), name


@pytest.mark.parametrize(("example", "outputs"), [
    ("multi_file_demo", ["final.csv"]),
    ("stream_demo", ["final.csv", "totals.csv"]),
])  # fmt: skip
def test_examples_give_the_local_runners_bytes(
    example: str, outputs: list[str], spark: Any, tmp_path: Path
) -> None:
    local, result = run_both(
        EXAMPLES / example / "pipeline.yaml", EXAMPLES / example / "input", tmp_path, spark,
        stream_chunk_size=2,
    )  # fmt: skip
    assert local["status"] == "success" and result["status"] == "success", result.get("error")
    assert_same_outputs(tmp_path, outputs)
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert manifest["runner"]["name"] == "spark"
    assert manifest["runner"]["master"] == "local[2]"
    assert manifest["runner"]["application_id"] == spark.sparkContext.applicationId
    assert manifest["inputs"]["source__records"]["rows"] == 7
    assert [f["kept"] for f in manifest["inputs"]["source__records"]["files"]] == [3, 2, 2]
    local_manifest = json.loads((tmp_path / "local" / "manifest.json").read_text())
    for step, local_step in zip(manifest["steps"], local_manifest["steps"], strict=True):
        assert step["status"] == "success"
        assert step["rows_in"] == local_step["rows_in"]
        assert step["rows_out"] == local_step["rows_out"]
    assert [o["rows"] for o in manifest["outputs"]] == [
        o["rows"] for o in local_manifest["outputs"]
    ]


ORDERS_1 = '''\
order_id,customer_id,amount,qty,note,shipped
1,10,10.5,1,,true
2,11,20,2,"late, paid",false
3,12,0.1,3,NA,true
4,10,7.25,1,"said ""hi""",false
5,13,100,4,,true
'''
ORDERS_2 = """\
order_id,customer_id,amount,qty,note,shipped
6,11,-4.5,2,"two
lines",true
7,12,3,1,refund,false
8,14,12.75,5,,true
"""
ORDERS_3 = """\
order_id,customer_id,amount,qty,note,shipped
9,10,1e3,2,bulk,true
10,11,0.3,7,,false
11,13,2.5,1,n/a,true
12,12,8,3,last,false
"""
CUSTOMERS = """\
customer_id,name,country
10,Ada,DE
11,Grace,US
12,Linus,FI
13,Margaret,US
"""

ENRICH = """
import pandas as pd


def run(ctx, orders, customers, output):
    names = customers.set_index("customer_id")

    def chunks():
        for chunk in orders:
            frame = chunk.merge(names, left_on="customer_id", right_index=True, how="left")
            frame["total"] = frame["amount"] * frame["qty"]
            yield frame

    return {"output": chunks()}


run.declared_inputs = ["orders", "customers"]
run.declared_outputs = ["output"]
run.supports_stream = True
run.stream_inputs = ["orders"]
"""
RUNNING = """
import pandas as pd


def run(ctx, input, output):
    def chunks():
        total = 0.0
        for chunk in input:
            frame = chunk[["order_id", "total"]].copy()
            frame["running_total"] = frame["total"].cumsum() + total
            total = float(frame["running_total"].iloc[-1]) if len(frame) else total
            yield frame

    return {"output": chunks()}


run.supports_stream = True
run.stateful = True
"""
BY_COUNTRY = """
def run(ctx, input, output):
    frame = input.groupby("country", dropna=False, as_index=False).agg(
        orders=("order_id", "count"), total=("total", "sum")
    )
    return {"output": frame.sort_values("country", na_position="last")}
"""
PIPELINE = """\
name: orders
inputs:
  orders:
    uri: orders/*.csv
  customers:
    uri: customers.csv
steps:
  - id: enrich
    uses: {pkg}.enrich
    with: {{orders: orders, customers: customers, output: enriched}}
  - id: running
    uses: {pkg}.running
    stateful: true  # a running total: every chunk, in order (no run.stateful on it)
    with: {{input: enriched, output: running}}
  - id: by_country
    uses: {pkg}.by_country
    mode: batch
    with: {{input: enriched, output: by_country}}
outputs:
  datasets:
    - {{name: enriched, from: enriched}}
    - {{name: running, from: running}}
    - {{name: by_country, from: by_country}}
execution:
  mode: {mode}
"""


def orders_project(root: Path, pkg: str, mode: str = "stream") -> Path:
    """A project with three order files, a customers side input and three step modules."""
    (root / "input" / "orders").mkdir(parents=True)
    for name, text in (("2026-01.csv", ORDERS_1), ("2026-02.csv", ORDERS_2),
                       ("2026-03.csv", ORDERS_3)):  # fmt: skip
        (root / "input" / "orders" / name).write_text(text)
    (root / "input" / "customers.csv").write_text(CUSTOMERS)
    (root / pkg).mkdir()
    (root / pkg / "__init__.py").write_text("")
    for name, code in (("enrich", ENRICH), ("running", RUNNING), ("by_country", BY_COUNTRY)):
        (root / pkg / f"{name}.py").write_text(textwrap.dedent(code))
    (root / "pipeline.yaml").write_text(PIPELINE.format(pkg=pkg, mode=mode))
    return root / "pipeline.yaml"


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_concat_side_input_join_stateful_and_driver_steps(
    mode: str, spark: Any, tmp_path: Path
) -> None:
    pipeline = orders_project(tmp_path, f"orders_steps_{mode}", mode)
    # Tiny splits: files cut into several partitions, whose order must still be row order.
    spark.conf.set("spark.sql.files.maxPartitionBytes", "64")
    try:
        local, result = run_both(
            pipeline, tmp_path / "input", tmp_path / "out", spark, stream_chunk_size=2
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert local["status"] == "success", local.get("error")
    assert result["status"] == "success", result.get("error")
    assert_same_outputs(tmp_path / "out", ["enriched.csv", "running.csv", "by_country.csv"])
    manifest = json.loads((tmp_path / "out" / "spark" / "manifest.json").read_text())
    steps = {s["id"]: s for s in manifest["steps"]}
    assert steps["enrich"]["rows_in"] == {"orders": 12}
    assert steps["enrich"]["rows_out"] == {"output": 12}
    assert steps["running"]["rows_out"] == {"output": 12}
    warning = steps["by_country"]["events"][0]
    assert warning["kind"] == "warning"
    assert warning["rows"] == 12
    assert "ran on the Spark driver: 12 rows collected" in warning["message"]
    running = (tmp_path / "out" / "spark" / "running.csv").read_text().splitlines()
    assert running[-1].startswith("12,")  # in input order across files and partitions


def test_batch_step_over_max_driver_rows_fails_the_run(spark: Any, tmp_path: Path) -> None:
    from trakt.runtime.spark_runner import SparkRunner

    pipeline = load_pipeline_from_yaml(orders_project(tmp_path, "limit_steps"))
    result = SparkRunner(
        tmp_path / "input", tmp_path / "out", session=spark,
        spark_conf={"spark.max_driver_rows": "5"},
    ).run(pipeline)  # fmt: skip
    assert result["status"] == "failed"
    assert result["error"]["step_id"] == "by_country"
    assert result["error"]["max_driver_rows"] == 5
    assert "more than spark.max_driver_rows = 5 rows" in result["error"]["message"]
    assert not (tmp_path / "out" / "enriched.csv").exists()  # all or nothing
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed"


@pytest.mark.parametrize("fails", [False, True])
def test_a_given_session_gets_its_settings_back(spark: Any, tmp_path: Path, fails: bool) -> None:
    """A notebook's or Glue's session: what a run sets on it is put back when the run ends,
    whether it succeeded or failed (a value set before is restored, an unset key unset)."""
    from trakt.runtime.spark_runner import SparkRunner

    batch, safely = (
        "spark.sql.execution.arrow.maxRecordsPerBatch",
        "spark.sql.execution.pandas.convertToArrowArraySafely",
    )
    shuffle = "spark.sql.shuffle.partitions"
    session_safely = spark.conf.get(safely)  # the shared session's, put back at the end
    spark.conf.set(batch, "777")
    spark.conf.unset(safely)
    before = {key: spark.conf.get(key, None) for key in (batch, safely, shuffle)}
    pipeline = load_pipeline_from_yaml(orders_project(tmp_path, f"conf_steps_{fails}"))
    conf = {shuffle: "7", **({"spark.max_driver_rows": "5"} if fails else {})}
    try:
        result = SparkRunner(
            tmp_path / "input", tmp_path / "out", session=spark, spark_conf=conf,
            stream_chunk_size=3,
        ).run(pipeline)  # fmt: skip
        after = {key: spark.conf.get(key, None) for key in (batch, safely, shuffle)}
    finally:
        spark.conf.unset(batch)
        spark.conf.set(safely, session_safely)
    assert result["status"] == ("failed" if fails else "success"), result.get("error")
    assert before[batch] == "777" and before[safely] is None and before[shuffle] != "7"
    assert after == before


def test_a_step_module_the_executors_cannot_import_is_named(spark: Any, tmp_path: Path) -> None:
    from trakt.runtime.spark_runner import SparkRunner

    pipeline_file = orders_project(tmp_path, "ship_steps")
    # A helper beside the package, importable where the pipeline is resolved but not
    # shipped: the executors cannot import the step module.
    (tmp_path / "orders_helper.py").write_text("FACTOR = 2\n")
    enrich = tmp_path / "ship_steps" / "enrich.py"
    enrich.write_text("import orders_helper  # noqa\n" + enrich.read_text())
    result = SparkRunner(tmp_path / "input", tmp_path / "out", session=spark).run(
        load_pipeline_from_yaml(pipeline_file)
    )
    assert result["status"] == "failed"
    error = result["error"]
    assert error["step_id"] == "enrich"
    assert (
        "step module 'ship_steps.enrich' cannot be imported on the Spark executors"
        in (error["message"])
    )
    assert "No module named 'orders_helper'" in error["message"]


def test_a_step_failing_on_an_executor_fails_like_locally(spark: Any, tmp_path: Path) -> None:
    from trakt.runtime.spark_runner import SparkRunner

    pipeline_file = orders_project(tmp_path, "failing_steps")
    running = tmp_path / "failing_steps" / "running.py"
    running.write_text(
        running.read_text().replace("yield frame", "if total > 500:\n"
                                    "                raise ValueError('too much')\n"
                                    "            yield frame")
    )  # fmt: skip
    pipeline = load_pipeline_from_yaml(pipeline_file)
    local = LocalRunner(tmp_path / "input", tmp_path / "local").run(pipeline)
    result = SparkRunner(tmp_path / "input", tmp_path / "out", session=spark).run(pipeline)
    assert result["status"] == local["status"] == "failed"
    assert result["error"]["step_id"] == "running"
    assert "step 'running' raised ValueError" in result["error"]["message"]
    assert "too much" in result["error"]["message"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {s["id"]: s["status"] for s in manifest["steps"]}["running"] == "failed"


def test_an_input_trakt_reads_on_the_driver(spark: Any, tmp_path: Path) -> None:
    """A format Spark is not given (JSON Lines) is read by Trakt and handed over."""
    (tmp_path / "input").mkdir()
    shutil.copy(EXAMPLES / "stream_demo" / "pipeline.yaml", tmp_path / "pipeline.yaml")
    shutil.copytree(EXAMPLES / "stream_demo" / "steps", tmp_path / "steps")
    lines = [
        '{"id": 1, "country": "DE", "amount": 1.5}',
        '{"id": 2, "country": "US", "amount": 2}',
        '{"id": 3, "country": "DE", "amount": null}',
    ]
    (tmp_path / "input" / "records.jsonl").write_text("\n".join(lines) + "\n")
    text = (tmp_path / "pipeline.yaml").read_text().replace("records/*.csv", "records.jsonl")
    (tmp_path / "pipeline.yaml").write_text(text)
    local, result = run_both(tmp_path / "pipeline.yaml", tmp_path / "input", tmp_path, spark)
    assert local["status"] == "success", local.get("error")
    assert result["status"] == "success", result.get("error")
    assert_same_outputs(tmp_path, ["final.csv", "totals.csv"])


POLARS_STEP = """
import polars as pl

def run(ctx, input, output):
    def chunks():
        for chunk in input:
            yield chunk.with_columns((pl.col("amount") * 2).alias("amount"))
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
run.frame = "polars"
"""


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_polars_and_built_in_steps_give_the_local_runners_bytes(
    spark: Any, tmp_path: Path, mode: str
) -> None:
    """A polars step (chunks arrive as polars frames on the executors too) and the built-in
    demo (filter, derive, join, select, and aggregate, which keeps state across chunks)."""
    (tmp_path / "input").mkdir()
    package = tmp_path / "polars_steps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "doubled.py").write_text(POLARS_STEP)
    shutil.copy(EXAMPLES / "stream_demo" / "input" / "records" / "2026-01.csv", tmp_path / "input")
    (tmp_path / "polars.yaml").write_text(
        "name: polars_on_spark\n"
        "inputs:\n  records: {uri: 2026-01.csv}\n"
        "steps:\n  - id: doubled\n    uses: polars_steps.doubled\n"
        "    with: {input: records, output: doubled}\n"
        "outputs:\n  datasets: [{name: final, from: doubled}]\n"
        f"execution: {{mode: {mode}}}\n"
    )
    local, result = run_both(
        tmp_path / "polars.yaml", tmp_path / "input", tmp_path / "p", spark, stream_chunk_size=2
    )
    assert local["status"] == "success", local.get("error")
    assert result["status"] == "success", result.get("error")
    assert_same_outputs(tmp_path / "p", ["final.csv"])
    manifest = json.loads((tmp_path / "p" / "spark" / "manifest.json").read_text())
    assert manifest["steps"][0]["frame"] == "polars"

    demo = EXAMPLES / "builtins_demo"
    text = (demo / "pipeline.yaml").read_text()
    assert "  mode: stream\n" in text
    (tmp_path / "builtins.yaml").write_text(text.replace("  mode: stream\n", f"  mode: {mode}\n"))
    # Tiny splits: several partitions, so the aggregate must run on one to see every chunk.
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1024")
    try:
        local, result = run_both(
            tmp_path / "builtins.yaml", demo / "input", tmp_path / "b", spark, stream_chunk_size=3
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert local["status"] == "success", local.get("error")
    assert result["status"] == "success", result.get("error")
    outputs = sorted(p.name for p in (tmp_path / "b" / "local").glob("*.csv"))
    assert outputs
    assert_same_outputs(tmp_path / "b", outputs)
    manifests = [
        json.loads((tmp_path / "b" / w / "manifest.json").read_text()) for w in ["local", "spark"]
    ]
    steps = {s["id"]: s for s in manifests[1]["steps"]}
    plans = {i: s.get("plan") for i, s in steps.items()}
    # filter and select as Spark operations; ROUND, CASE and float sums through Python
    assert plans["paid_orders"] == plans["columns"] == "native"
    assert plans["priced"] == plans["by_country"] == "mapInArrow"
    assert steps["paid_orders"]["rows_out"] == manifests[0]["steps"][0]["rows_out"]
