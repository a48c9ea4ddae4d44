"""examples/builtins_demo as `make demo-builtins` runs it (built-in steps only, stream mode):
its outputs checked against pandas computing the same from the sample CSVs, and against the
same pipeline run in batch mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.test_formats_demo import make_recipe
from trakt.api import load_pipeline
from trakt.runtime.local_runner import LocalRunner

pytestmark = pytest.mark.slow  # runs the CLI in a child process

DEMO = REPO / "examples" / "builtins_demo"


def expected() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo's two outputs computed with pandas from its inputs."""
    orders = pd.read_csv(DEMO / "input" / "orders.csv", dtype={"quantity": "Int64"})
    customers = pd.read_csv(DEMO / "input" / "customers.csv")
    paid = orders[(orders["status"] == "paid") & orders["quantity"].notna()].copy()
    paid["revenue"] = (paid["quantity"] * paid["unit_price"]).astype(float).round(2)
    paid["size"] = paid["quantity"].map(lambda q: "large" if q >= 5 else "small")
    joined = paid.merge(customers, on="customer_id", how="inner", sort=False)
    columns = "order_id customer_id name country segment product quantity revenue size"
    enriched = joined[columns.split()]
    totals = (
        enriched.groupby(["country", "segment"], sort=False)
        .agg(
            orders=("order_id", "size"),
            units=("quantity", "sum"),
            revenue=("revenue", "sum"),
            average_order=("revenue", "mean"),
            largest_order=("revenue", "max"),
        )
        .reset_index()
    )
    totals["revenue"] = totals["revenue"].round(2)
    totals["average_order"] = totals["average_order"].round(2)
    return enriched.reset_index(drop=True), totals


def test_the_demo_runs_and_matches_pandas(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    command = make_recipe("demo-builtins").replace("$(BIN)/python", sys.executable)
    command = command.replace("$(BUILTINS_DEMO_OUT)", str(out))
    assert "$(" not in command, command
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        ["bash", "-ec", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert f"Built-ins demo output: {out}/" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "success"
    assert {s["uses"] for s in manifest["steps"]} == {
        "trakt.filter",
        "trakt.derive",
        "trakt.join",
        "trakt.select",
        "trakt.aggregate",
    }
    enriched, totals = expected()
    written = pd.read_csv(out / "enriched_orders.csv", dtype={"quantity": "Int64"})
    pd.testing.assert_frame_equal(written, enriched, check_dtype=False)
    revenue = pd.read_csv(out / "revenue_by_country.csv")
    pd.testing.assert_frame_equal(revenue, totals, check_dtype=False)
    assert len(enriched) > 50 and len(totals) > 4  # the sample exercises every step

    batch_out = tmp_path / "batch"
    pipeline = load_pipeline(DEMO / "pipeline.yaml", sets=["execution.mode=batch"])
    result = LocalRunner(input_dir=DEMO / "input", output_dir=batch_out).run(pipeline)
    assert result["status"] == "success"
    for name in ("enriched_orders.csv", "revenue_by_country.csv"):
        assert (batch_out / name).read_bytes() == (out / name).read_bytes()
