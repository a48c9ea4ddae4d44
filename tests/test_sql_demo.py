"""examples/sql_demo as `make demo-sql` runs it: CSV -> SQLite (a typed table) -> a report
aggregated by the database; the numbers checked against the CSV itself."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_formats_demo import make_recipe

pytestmark = pytest.mark.slow  # runs the CLI in child processes
pytest.importorskip("sqlalchemy", reason="the sql extra is not installed")

DEMO = REPO / "examples" / "sql_demo"


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    command = make_recipe("demo-sql").replace("$(BIN)/python", sys.executable)
    command = command.replace("$(SQL_DEMO_OUT)", str(out))
    assert "$(" not in command, command
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SQL_DEMO_DB")}
    return subprocess.run(
        ["bash", "-ec", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_demo_loads_the_table_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = run_demo(out)
    assert proc.returncode == 0, proc.stderr
    assert f"SQL demo: database {out}/sales.db (table sales)" in proc.stdout
    with (DEMO / "input" / "sales.csv").open(newline="") as f:
        sales = list(csv.DictReader(f))
    with sqlite3.connect(out / "sales.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM sales").fetchone() == (len(sales),)
        declared = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(sales)")}
    assert declared == {
        "order_id": "BIGINT",
        "region": "TEXT",
        "product": "TEXT",
        "amount": "REAL",
        "ordered_on": "DATE",
    }
    totals: dict[str, list[float]] = defaultdict(list)
    for row in sales:
        totals[row["region"]].append(float(row["amount"]))
    expected = "region,orders,revenue\n" + "".join(
        f"{r},{len(v)},{round(sum(v), 2)}\n" for r, v in sorted(totals.items())
    )
    assert (out / "report" / "revenue_by_region.csv").read_text() == expected
    # Run again: the table is replaced, not appended to.
    assert run_demo(out).returncode == 0
    with sqlite3.connect(out / "sales.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM sales").fetchone() == (len(sales),)
