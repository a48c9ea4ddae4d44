"""Built-in steps as native Spark operations: the local runner's bytes, no Python on the
executors (``plan: native`` in the step record), and a fall-back to ``mapInArrow`` for what
is not exactly translatable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.test_spark import ORDERS_1, ORDERS_2, ORDERS_3, run_both
from tests.spark_session import spark_conf

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

NATIVE = """\
name: native
inputs:
  orders: {uri: "orders/*.csv"}
steps:
  - id: renamed
    uses: trakt.rename
    with: {input: orders, output: renamed, mapping: {qty: quantity}}
  - id: typed
    uses: trakt.cast
    with: {input: renamed, output: typed, columns: {quantity: float, order_id: string}}
  - id: derived
    uses: trakt.derive
    with:
      input: typed
      output: derived
      columns:
        units: "quantity * 2 - customer_id"
        big: "amount > 10 OR note IS NULL"
        key: "customer_id + -1"
  - id: kept
    uses: trakt.filter
    with: {input: derived, output: kept, where: "NOT (customer_id = 13) AND note <> 'refund'"}
  - id: picked
    uses: trakt.select
    with: {input: kept, output: picked, columns: [order_id, key, units, big, amount, note]}
  - id: totals
    uses: trakt.aggregate
    with:
      input: orders
      output: totals
      by: [customer_id]
      aggregations:
        n: count()
        notes: count(note)
        units: sum(qty)
        average: mean(qty)
        first: min(note)
        last: max(order_id)
outputs:
  datasets:
    - {name: picked, from: picked}
    - {name: totals, from: totals}
execution: {mode: MODE}
"""


@pytest.fixture
def spark(spark_session: Any) -> Iterator[Any]:
    # several partitions
    with spark_conf(spark_session, {"spark.sql.files.maxPartitionBytes": "64"}) as session:
        yield session


def project(root: Path, mode: str, text: str = NATIVE) -> Path:
    (root / "input" / "orders").mkdir(parents=True)
    for name, data in (("1.csv", ORDERS_1), ("2.csv", ORDERS_2), ("3.csv", ORDERS_3)):
        (root / "input" / "orders" / name).write_text(data)
    (root / "pipeline.yaml").write_text(text.replace("MODE", mode))
    return root / "pipeline.yaml"


def manifests(out: Path) -> list[dict[str, Any]]:
    return [json.loads((out / w / "manifest.json").read_text()) for w in ("local", "spark")]


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_native_built_ins_give_the_local_runners_bytes(
    spark: Any, tmp_path: Path, mode: str
) -> None:
    pipeline = project(tmp_path, mode)
    local, result = run_both(pipeline, tmp_path / "input", tmp_path / "o", spark,
                             stream_chunk_size=2)  # fmt: skip
    assert local["status"] == "success", local.get("error")
    assert result["status"] == "success", result.get("error")
    for name in ("picked.csv", "totals.csv"):
        on_spark = (tmp_path / "o" / "spark" / name).read_bytes()
        assert on_spark == (tmp_path / "o" / "local" / name).read_bytes(), name
    assert (
        b"\n10,3,2,4,1.3333333333333333,bulk,9\n"
        in (tmp_path / "o" / "spark" / "totals.csv").read_bytes()
    )
    on_local, on_spark = manifests(tmp_path / "o")
    assert {s["id"]: s.get("plan") for s in on_spark["steps"]} == dict.fromkeys(
        ["renamed", "typed", "derived", "kept", "picked", "totals"], "native"
    )
    for step, local_step in zip(on_spark["steps"], on_local["steps"], strict=True):
        # rows known around the chain: input rows, and the outputs written
        assert step["rows_in"] == local_step["rows_in"], step["id"]
        if step["id"] != "derived":  # between derive and filter: not counted natively
            assert step["rows_out"] == local_step["rows_out"], step["id"]


def test_a_native_plan_has_no_python_on_the_executors(spark: Any, tmp_path: Path) -> None:
    from trakt.runtime.planning import StepPlan
    from trakt.runtime.spark_native import native

    df = spark.createDataFrame([(1, "a", 2.5), (2, None, 0.5)], "n long, s string, x double")

    def plan(uses: str, **params: Any) -> Any:
        step = StepPlan(0, "s", uses, uses, {"input": "a"}, {"output": "b"}, params)
        return native(step, df)

    done = plan("trakt.filter", where="n * 2 >= 2 AND s IS NOT NULL")
    assert done is not None and [r.n for r in done.collect()] == [1]
    shown = done._jdf.queryExecution().executedPlan().toString()
    assert "MapInArrow" not in shown and "Python" not in shown
    # not exactly the local result: left to mapInArrow
    for where in ("x * 2.5 > 1", "n / 2 > 1", "UPPER(s) = 'A'", "s = 1", "s + 1 > 2",
                  "n IN (1, 2)", "TRUE", "n = 1 = TRUE", "missing > 1"):  # fmt: skip
        assert plan("trakt.filter", where=where) is None, where
    assert plan("trakt.aggregate", by=["n"], aggregations={"t": "sum(x)"}) is None
    assert plan("trakt.aggregate", by=["x"], aggregations={"c": "count()"}) is None
    assert plan("trakt.aggregate", aggregations={"c": "count()"}) is None
    assert plan("trakt.cast", columns={"s": "string"}) is None  # polars strips spaces
    assert plan("trakt.derive", columns={"S": "n + 1"}) is None  # Spark: same column as s
    assert plan("trakt.join", right="c", on="n") is None


def test_kept_artifacts_are_the_local_runners_frames(spark: Any, tmp_path: Path) -> None:
    from trakt.api import load_pipeline_from_yaml
    from trakt.runtime.local_runner import LocalRunner
    from trakt.runtime.spark_runner import SparkRunner

    pipeline = load_pipeline_from_yaml(project(tmp_path, "stream"))
    keep = ["orders", "kept", "totals"]
    local = LocalRunner(tmp_path / "input", tmp_path / "local").run(pipeline, keep=keep)
    result = SparkRunner(tmp_path / "input", tmp_path / "spark", session=spark).run(
        pipeline, keep=keep
    )
    assert result["status"] == "success", result.get("error")
    assert sorted(result["artifacts"]) == sorted(keep)
    for name in keep:
        expected, got = local["artifacts"][name], result["artifacts"][name]
        assert got.dtypes.to_dict() == expected.dtypes.to_dict(), name
        assert got.equals(expected), name

    small = SparkRunner(tmp_path / "input", tmp_path / "small", session=spark, max_driver_rows=3)
    failed = small.run(pipeline, keep=["kept"])
    assert failed["status"] == "failed" and failed["artifacts"] == {}
    assert (
        "keep='kept': the artifact has more than spark.max_driver_rows = 3"
        in (failed["error"]["message"])
    )
