"""Data contracts never change values silently, and validate agrees with the run (issue 9).

A value that does not fit its declared type (too many decimal places or digits, beyond the
int64 or float range, a fraction for ``int``, a time of day for ``date``, ...) is a coercion
event with samples and line numbers, and ``on_violation`` applies to it; it is never rounded,
truncated or wrapped. A ``source_column`` is a known column of the contract; an output
contract sees a grouped result's index as the columns that are written.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.planning import plan_pipeline

MODES = ["batch", "stream"]


def _yaml(column_type: str, policy: str, mode: str) -> str:
    return f"""
name: values
inputs:
  orders:
    uri: orders.csv
    schema:
      columns:
        id: {{type: int}}
        v: {{type: "{column_type}"}}
      on_violation: {policy}
outputs:
  datasets: [{{name: out, from: orders}}]
execution:
  mode: {mode}
"""


def _run(project: Project, yaml_text: str, chunk: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=chunk)
    result = runner.run(pipeline)
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    return result, manifest


def _coercions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    events = manifest["inputs"]["orders"].get("events", [])
    return [e for e in events if e["kind"] == "coercion"]


# (type, a value that fits, a value that does not fit, the rule reported for it)
MISFITS = [
    ("decimal(10,2)", "1.20", "1.234", "does not fit decimal(10,2)"),
    ("decimal(10,2)", "99999999.99", "123456789.00", "does not fit decimal(10,2)"),
    ("decimal(4,0)", "1e3", "1.5", "does not fit decimal(4,0)"),
    ("int", "9223372036854775807", "9223372036854775808", "does not fit int"),
    ("int", "-12", "12345678901234567890", "does not fit int"),
    ("int", "1.0", "1.5", "does not fit int"),
    ("int", "1e3", "2.000001", "does not fit int"),
    ("float", "1.5e300", "1e400", "does not fit float"),
    ("float", "0.0", "1e-400", "does not fit float"),
    ("date", "2024-02-29", "2024-02-29T10:30:00", "does not fit date"),
    ("date", "9999-12-31", "10000-01-01", "does not fit date"),
    ("datetime", "2024-01-01T10:00:00.123456", "2024-01-01T10:00:00.123456789", "does not fit"),
    ("datetime", "0001-01-01T00:00:00", "12024-01-01T00:00:00", "does not fit datetime"),
]
# Values that do not parse at all: they became null before too, but did not stop the run.
INVALID = [
    ("bool", "yes", "2", "not a valid bool"),
    ("int", "7", "seven", "not a valid int"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("kind", "good", "bad", "rule"), MISFITS + INVALID)
def test_a_value_that_does_not_fit_stops_the_run_under_error(
    project: Project, mode: str, kind: str, good: str, bad: str, rule: str
) -> None:
    project.csv("orders.csv", f"id,v\n1,{good}\n2,{bad}\n")
    result, manifest = _run(project, _yaml(kind, "error", mode))
    assert result["status"] == "failed"
    assert manifest["error"]["type"] == "ContractViolation"
    assert manifest["error"]["column"] == "v"
    assert rule in manifest["error"]["message"]
    assert f"'value': '{bad}', 'line': 3" in manifest["error"]["message"]
    assert not (project.output_dir / "out.csv").exists()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("kind", "good", "bad", "rule"), MISFITS)
def test_under_warn_the_value_becomes_null_and_is_reported(
    project: Project, mode: str, kind: str, good: str, bad: str, rule: str
) -> None:
    project.csv("orders.csv", f"id,v\n1,{good}\n2,{bad}\n3,\n")
    result, manifest = _run(project, _yaml(kind, "warn", mode))
    assert result["status"] == "success", result["error"]
    [event] = _coercions(manifest)
    assert rule in event["rule"] and event["count"] == 1
    assert event["samples"] == [{"value": bad, "line": 3}]
    rows = (project.output_dir / "out.csv").read_text().splitlines()
    assert rows[2] == "2," and rows[3] == "3,"  # never the value rounded, cut or wrapped
    assert rows[1] != "1,"  # the value that fits is kept


@pytest.mark.parametrize("mode", MODES)
def test_decimal_values_are_kept_exactly_or_quarantined(project: Project, mode: str) -> None:
    project.csv("orders.csv", "id,v\n1,1.5\n2,1.234\n3,0.10\n4,123456789.1\n")
    result, manifest = _run(project, _yaml("decimal(10,2)", "quarantine", mode))
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "out.csv").read_text() == "id,v\n1,1.50\n3,0.10\n"
    assert (project.output_dir / "_rejected" / "orders.csv").read_text() == (
        "file,line,reason,raw\n"
        'orders.csv,3,"v: does not fit decimal(10,2) (more than 2 decimal places or 10 '
        'digits)","2,1.234"\n'
        'orders.csv,5,"v: does not fit decimal(10,2) (more than 2 decimal places or 10 '
        'digits)","4,123456789.1"\n'
    )
    [event] = _coercions(manifest)
    assert event["message"] == (
        "2 value(s) of 'v' do not fit decimal(10,2) (more than 2 decimal places or 10 digits); "
        "set to null, never rounded or cut"
    )


@pytest.mark.parametrize("mode", MODES)
def test_datetimes_keep_their_resolution_and_offsets(project: Project, mode: str) -> None:
    """Every chunk (one row each here) is read at microseconds (years 1-9999); the first
    value has a UTC offset, so values are instants in UTC; one without an offset is
    reported, never guessed."""
    project.csv(
        "orders.csv",
        "id,v\n1,2024-01-01T10:00:00.5+02:00\n2,9999-12-31T00:00:00Z\n3,2024-01-01T10:00:00\n",
    )
    result, manifest = _run(project, _yaml("datetime", "warn", mode), chunk=1)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "out.csv").read_text().splitlines()[1:] == [
        "1,2024-01-01T08:00:00.500+00:00",  # the writer's table (README "Data types")
        "2,9999-12-31T00:00:00+00:00",
        "3,",
    ]
    [event] = _coercions(manifest)
    assert event["samples"] == [{"value": "2024-01-01T10:00:00", "line": 4}]


# --- validate and run agree ---------------------------------------------------------------

SOURCE = """
name: sources
inputs:
  orders:
    uri: 'orders_*.csv'
    combine_strategy: {strategy}
    source_column: {column}
    schema:
      columns:
        id: {{type: int}}
      extra_columns: {extra}
outputs:
  datasets: [{{name: out, from: orders}}]
execution:
  mode: {mode}
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("extra", ["error", "drop"])
def test_source_column_is_a_known_column_of_the_contract(
    project: Project, mode: str, extra: str
) -> None:
    project.csv("orders_1.csv", "id\n1\n")
    project.csv("orders_2.csv", "id\n2\n")
    text = SOURCE.format(mode=mode, extra=extra, strategy="concat", column="src")
    plan_pipeline(load_pipeline_from_yaml(project.pipeline(text)))  # validate: fine
    result, _ = _run(project, text)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "out.csv").read_text() == (
        "id,src\n1,orders_1.csv\n2,orders_2.csv\n"
    )


GROUPED = """
name: grouped
inputs:
  sales:
    uri: sales.csv
steps:
  - id: total
    uses: {uses}
    mode: batch
    with: {{sales: sales, totals: totals}}
outputs:
  datasets:
    - name: totals
      from: totals
      schema:
        columns:
          region: {{type: string, nullable: false, unique: true}}
          amount: {{type: int, min: 0}}
        extra_columns: error
execution:
  mode: {mode}
"""

GROUP_STEP = """
def run(ctx, sales, totals):
    return {"totals": sales.groupby("region")[["amount"]].sum()}

run.declared_inputs = ["sales"]
run.declared_outputs = ["totals"]
"""


@pytest.mark.parametrize("mode", MODES)
def test_an_output_contract_sees_a_grouped_index_as_columns(project: Project, mode: str) -> None:
    project.csv("sales.csv", "region,amount\nN,1\nS,2\nN,3\n")
    uses = project.step("group", GROUP_STEP)
    result, manifest = _run(project, GROUPED.format(uses=uses, mode=mode))
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "totals.csv").read_text() == "region,amount\nN,4\nS,2\n"
    assert manifest["outputs"][0]["events"] == []


@pytest.mark.parametrize("mode", MODES)
def test_datetime_bounds_apply_to_values_with_an_offset(project: Project, mode: str) -> None:
    project.csv("orders.csv", "id,v\n1,2024-01-01T10:00:00+02:00\n2,2023-12-31T23:00:00Z\n")
    text = _yaml("datetime", "warn", mode).replace(
        '{type: "datetime"}', '{type: "datetime", min: "2024-01-01"}'
    )
    result, manifest = _run(project, text)
    assert result["status"] == "success", result["error"]
    events = manifest["inputs"]["orders"]["events"]
    assert [(e["kind"], e["rule"], e["samples"]) for e in events] == [
        ("warning", "below min 2024-01-01", [{"value": "2023-12-31T23:00:00Z", "line": 3}])
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_date_column_publishes_dates_not_timestamps(project: Project, mode: str) -> None:
    project.csv("orders.csv", "id,v\n1,2025-01-09\n2,2024-02-29\n3,\n")
    result, _ = _run(project, _yaml("date", "error", mode))
    assert result["status"] == "success", result["error"]
    written = (project.output_dir / "out.csv").read_text()
    assert written == "id,v\n1,2025-01-09\n2,2024-02-29\n3,\n"


# Spellings that are a date or time, but not the one the contract reads: never reformatted.
SPELLINGS = [
    ("date", "2025-01-09", "2025-1-9", "does not fit date (expected YYYY-MM-DD)"),
    ("date", "2025-01-09", "20250109", "does not fit date (expected YYYY-MM-DD)"),
    ("date", "2025-01-09", "2025-01-09T00:00:00", "does not fit date (expected YYYY-MM-DD)"),
    ("datetime", "2025-01-09 10:00:00", "20250109T100000", "does not fit datetime"),
    ("datetime", "2025-01-09T10:00:00", "2025-1-9 10:00", "does not fit datetime"),
    ("float", "9007199254740992.0", "9007199254740993", "does not fit float"),
    ("float", "0.30000000000000004", "0.3000000000000000444", "does not fit float"),
    ("float", "1e+22", "-9007199254740993.0", "does not fit float"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("kind", "good", "bad", "rule"), SPELLINGS)
def test_a_value_the_type_would_change_is_a_coercion_event(
    project: Project, mode: str, kind: str, good: str, bad: str, rule: str
) -> None:
    project.csv("orders.csv", f"id,v\n1,{good}\n2,{bad}\n")
    result, manifest = _run(project, _yaml(kind, "quarantine", mode))
    assert result["status"] == "success", result["error"]
    [event] = _coercions(manifest)
    assert event["rule"].startswith(rule) and event["count"] == 1
    assert event["samples"] == [{"value": bad, "line": 3}]
    written = (project.output_dir / "out.csv").read_text().splitlines()[1:]
    assert written == [f"1,{good.replace(' ', 'T')}"]
    with (project.output_dir / "_rejected" / "orders.csv").open(newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["line"] == "3" and row["reason"].startswith(f"v: {rule}")
    assert row["raw"] == f"2,{bad}"


def _quarantine_yaml(mode: str, source_column: str = "") -> str:
    options = f"\n    options: {{source_column: {source_column}}}" if source_column else ""
    return f"""
name: counts
inputs:
  orders:
    uri: "*.csv"{options}
    schema:
      columns:
        id: {{type: int}}
        v: {{type: int, min: 0}}
      on_violation: quarantine
outputs:
  datasets: [{{name: out, from: orders}}]
execution:
  mode: {mode}
"""


@pytest.mark.parametrize("mode", MODES)
def test_per_file_counts_include_rows_a_contract_quarantined(project: Project, mode: str) -> None:
    project.csv("a.csv", "id,v\n1,5\n2,-1\n3,x\n4,7\n")
    project.csv("b.csv", "id,v\n5,-2\n6,8\n")
    result, manifest = _run(project, _quarantine_yaml(mode))
    assert result["status"] == "success", result["error"]
    entry = manifest["inputs"]["orders"]
    files = {f["path"].rsplit("/", 1)[-1]: f for f in entry["files"]}
    assert {k: (f["records"], f["kept"], f["set_aside"]) for k, f in files.items()} == {
        "a.csv": (4, 2, 2),
        "b.csv": (2, 1, 1),
    }
    assert entry["rows"] == sum(f["kept"] for f in files.values()) == 3


@pytest.mark.parametrize("mode", MODES)
def test_quarantined_raw_is_the_record_as_read_without_the_source_column(
    project: Project, mode: str
) -> None:
    project.csv("a.csv", "id,v\n1,5\n2,-1\n")
    result, _ = _run(project, _quarantine_yaml(mode, source_column="src"))
    assert result["status"] == "success", result["error"]
    with (project.output_dir / "_rejected" / "orders.csv").open(newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["file"].endswith("a.csv") and row["line"] == "3"
    assert row["raw"] == "2,-1" and row["reason"] == "v: below min 0"
    assert (project.output_dir / "out.csv").read_text().splitlines()[1].startswith("1,5,")


@pytest.mark.parametrize("mode", MODES)
def test_xlsx_files_count_and_name_their_own_quarantined_rows(project: Project, mode: str) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    for name, rows in [("a.xlsx", [[1, 5], [2, -1]]), ("b.xlsx", [[3, -2], [4, 8], [5, -3]])]:
        book = openpyxl.Workbook()
        for row in [["id", "v"], *rows]:
            book.active.append(row)
        book.save(project.input_dir / name)
    yaml_text = _quarantine_yaml(mode).replace('"*.csv"', '"*.xlsx"')
    result, manifest = _run(project, yaml_text)
    assert result["status"] == "success", result["error"]
    entry = manifest["inputs"]["orders"]
    files = {f["path"].rsplit("/", 1)[-1]: f for f in entry["files"]}
    assert {k: (f["records"], f["kept"], f["set_aside"]) for k, f in files.items()} == {
        "a.xlsx": (2, 1, 1),
        "b.xlsx": (3, 1, 2),
    }
    assert entry["rows"] == 2
    with (project.output_dir / "_rejected" / "orders.csv").open(newline="") as f:
        rejected = [(r["file"].rsplit("/", 1)[-1], r["line"], r["raw"]) for r in csv.DictReader(f)]
    assert rejected == [("a.xlsx", "3", "2,-1"), ("b.xlsx", "2", "3,-2"), ("b.xlsx", "4", "5,-3")]
