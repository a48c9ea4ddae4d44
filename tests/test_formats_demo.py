"""examples/formats_demo as `make demo-formats` runs it: csv.gz + xlsx in, Parquet by country
and JSON Lines out; the outputs read back with pyarrow, the manifest's formats and uris."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # runs the CLI in a child process
openpyxl = pytest.importorskip("openpyxl", reason="the excel extra is not installed")

DEMO = REPO / "examples" / "formats_demo"
COUNTRIES = ["DE", "FR", "GB", "JP", "US"]


@dataclass(frozen=True)
class DemoRun:
    proc: subprocess.CompletedProcess[str]
    out: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.out / "manifest.json").read_text()))


def make_recipe(target: str) -> str:
    """The shell lines of a Makefile target's recipe, continuation lines joined."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)+)", text, re.MULTILINE)
    assert match, f"no '{target}' target in the Makefile"
    lines = [line.strip().lstrip("@") for line in match.group(1).splitlines()]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("formats-demo") / "out"
    recipe = make_recipe("demo-formats")
    # The recipe as make runs it, with this interpreter and a fresh output dir.
    command = recipe.replace("$(BIN)/python", sys.executable).replace(
        "$(FORMATS_DEMO_OUT)", str(out)
    )
    assert "$(" not in command, command
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        ["bash", "-ec", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return DemoRun(proc, out)


def expected_rows() -> tuple[list[dict[str, str]], Counter[str]]:
    """The demo's orders (as text) and the orders per customer country, from the inputs."""
    with gzip.open(DEMO / "input" / "orders.csv.gz", "rt", encoding="utf-8", newline="") as f:
        orders = list(csv.DictReader(f))
    sheet = openpyxl.load_workbook(DEMO / "input" / "customers.xlsx", read_only=True).active
    rows = sheet.iter_rows(min_row=2, values_only=True)
    country = {str(row[0]): str(row[2]) for row in rows}
    return orders, Counter(country[order["customer_id"]] for order in orders)


def test_the_command_prints_where_the_outputs_are(demo: DemoRun) -> None:
    assert f"orders_by_country: {demo.out / 'orders_by_country'}" in demo.proc.stdout
    assert f"orders: {demo.out / 'orders.jsonl'}" in demo.proc.stdout
    assert f"Formats demo output: {demo.out}/" in demo.proc.stdout


def test_parquet_output_is_one_directory_per_country(demo: DemoRun) -> None:
    import pyarrow.parquet as pq

    orders, by_country = expected_rows()
    root = demo.out / "orders_by_country"
    assert sorted(p.name for p in root.iterdir()) == [f"country={c}" for c in COUNTRIES]
    for country in COUNTRIES:
        files = sorted((root / f"country={country}").glob("*.parquet"))
        assert files, f"no Parquet file under country={country}"
        assert sum(pq.read_metadata(f).num_rows for f in files) == by_country[country]
    table = pq.read_table(root, partitioning="hive")
    assert table.num_rows == len(orders) == 3000
    assert sorted(table.column("order_id").to_pylist()) == list(range(1, 3001))
    # The join's columns survive with their types: numbers stay numbers.
    assert table.schema.field("quantity").type == "int64"
    assert table.schema.field("amount").type == "double"
    assert {"name", "segment", "country"} <= set(table.column_names)


def test_jsonl_output_holds_every_joined_order(demo: DemoRun) -> None:
    import pyarrow.json as pj

    orders, by_country = expected_rows()
    path = demo.out / "orders.jsonl"
    table = pj.read_json(path)
    assert table.num_rows == len(orders)
    assert Counter(table.column("country").to_pylist()) == by_country
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first == {
        "order_id": 1,
        "customer_id": "C004",
        "order_date": "2026-01-12",
        "quantity": 3,
        "amount": 183.72,
        "status": "paid",
        "note": "Zürich depot",
        "name": "Frances E.",
        "country": "JP",
        "segment": "wholesale",
    }


def test_manifest_records_each_input_and_output_format_and_uri(demo: DemoRun) -> None:
    manifest = demo.manifest
    assert manifest["status"] == "success"
    inputs = manifest["inputs"]
    assert inputs["orders"]["format"] == "csv"
    assert inputs["orders"]["uri"].endswith("orders.csv.gz")
    assert inputs["orders"]["rows"] == 3000
    assert inputs["customers"]["format"] == "xlsx"
    assert inputs["customers"]["uri"].endswith("customers.xlsx")
    assert inputs["customers"]["rows"] == 40
    outputs = {o["name"]: o for o in manifest["outputs"]}
    assert outputs["orders_by_country"]["format"] == "parquet"
    assert outputs["orders_by_country"]["uri"].endswith("orders_by_country")
    assert outputs["orders"]["format"] == "jsonl"
    assert outputs["orders"]["uri"].endswith("orders.jsonl")
    assert outputs["orders"]["rows"] == outputs["orders_by_country"]["rows"] == 3000
