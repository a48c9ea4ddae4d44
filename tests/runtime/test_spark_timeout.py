"""``timeout_s`` on the executors: a stream step past its limit fails the Spark run with the
local runner's error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.runtime.test_spark import ORDERS_1, run_both

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

SLOW = """
import time

import pyarrow as pa


def run(ctx, input, output):
    def chunks():
        for chunk in input:
            time.sleep(30)
            yield chunk

    return {"output": chunks()}


run.supports_stream = True
# Declared: no sample run on the driver, so the limit is met on the executors.
run.output_schema = {"order_id": pa.int64(), "customer_id": pa.int64(), "amount": pa.float64(),
                     "qty": pa.int64(), "note": pa.string(), "shipped": pa.bool_()}
"""


@pytest.fixture
def spark(spark_session: Any) -> Any:
    return spark_session


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_a_step_over_its_timeout_fails_as_locally(spark: Any, tmp_path: Path, mode: str) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "orders.csv").write_text(ORDERS_1)
    (tmp_path / "slow_steps").mkdir()
    (tmp_path / "slow_steps" / "__init__.py").write_text("")
    (tmp_path / "slow_steps" / "slow.py").write_text(SLOW)
    (tmp_path / "pipeline.yaml").write_text(
        "name: slow\ninputs:\n  orders: {uri: orders.csv}\n"
        "steps:\n  - id: slow\n    uses: slow_steps.slow\n    timeout_s: 1\n"
        "    with: {input: orders, output: slowed}\n"
        "outputs:\n  datasets: [{name: slowed, from: slowed}]\n"
        f"execution: {{mode: {mode}}}\n"
    )
    local, result = run_both(tmp_path / "pipeline.yaml", tmp_path / "input", tmp_path, spark)
    assert local["status"] == result["status"] == "failed"
    for key in ("step_id", "message", "type", "chunk_index"):
        assert result["error"].get(key) == local["error"].get(key), key
    assert result["error"]["message"].startswith("step 'slow' did not finish within timeout_s=1")
    assert result["error"]["type"] == "StepTimeout"
    assert "in _write" in result["error"]["traceback"]  # raised where the output is pulled
    assert not (tmp_path / "spark" / "slowed.csv").exists()
