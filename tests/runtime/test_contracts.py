"""Data contracts: schema on inputs and outputs, coercion, rules, and the violation policies."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from tests.conftest import Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.model.model import SchemaSpec
from trakt.runtime.contracts import ContractState, ContractViolation
from trakt.runtime.local_runner import LocalRunner

ORDERS = "id,amount,country\n1,10.5,DE\n2,abc,US\n3,-5,FR\n4,x1,DE\n5,7,US\n"

PIPELINE = """
name: contracts
inputs:
  orders:
    uri: orders.csv
    schema:
      columns:
        id: {{type: int, nullable: false, unique: true}}
        amount: {{type: float, min: 0}}
        country: {{type: string}}
        channel: {{type: string}}
      on_violation: {policy}
outputs:
  datasets: [{{name: out, from: orders}}]
execution:
  mode: {mode}
"""

EXPECTED_EVENTS = [
    {
        "kind": "missing_column",
        "message": "required column 'channel' is missing",
        "column": "channel",
        "count": 1,
        "rule": "required",
    },
    {
        "kind": "coercion",
        "message": "2 value(s) of 'amount' are not a valid float; set to null",
        "column": "amount",
        "count": 2,
        "rule": "not a valid float",
        "samples": [{"value": "abc", "line": 3}, {"value": "x1", "line": 5}],
    },
    {
        "kind": "warning",
        "message": "1 value(s) of 'amount': below min 0",
        "column": "amount",
        "count": 1,
        "rule": "below min 0",
        "samples": [{"value": "-5", "line": 4}],
    },
]


def _run(project: Project, policy: str, mode: str = "batch") -> tuple[dict[str, Any], Any]:
    project.csv("orders.csv", ORDERS)
    pipeline = load_pipeline_from_yaml(project.pipeline(PIPELINE.format(policy=policy, mode=mode)))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2)
    result = runner.run(pipeline, run_id=f"c-{policy}")
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    return result, manifest


def _events(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in e.items() if k != "at"} for e in manifest["inputs"]["orders"]["events"]
    ]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_warn_reports_exactly_the_problems_and_keeps_rows(project: Project, mode: str) -> None:
    result, manifest = _run(project, "warn", mode)
    assert result["status"] == "success"
    assert _events(manifest) == EXPECTED_EVENTS
    assert (project.output_dir / "out.csv").read_text() == (
        "id,amount,country,channel\n1,10.5,DE,\n2,,US,\n3,-5.0,FR,\n4,,DE,\n5,7.0,US,\n"
    )


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_error_stops_the_run(project: Project, mode: str) -> None:
    result, manifest = _run(project, "error", mode)
    assert result["status"] == "failed"
    assert manifest["error"]["type"] == "ContractViolation"
    assert manifest["error"]["artifact"] == "orders"
    assert "required column" in manifest["error"]["message"] or "channel" in str(manifest["error"])
    assert not (project.output_dir / "out.csv").exists()
    kinds = [e["kind"] for e in manifest["inputs"]["orders"]["events"]]
    assert "missing_column" in kinds


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_quarantine_moves_violating_rows_aside(project: Project, mode: str) -> None:
    result, manifest = _run(project, "quarantine", mode)
    assert result["status"] == "success"
    # A value that is not a float breaks the contract too: its row is moved aside, as read.
    assert (project.output_dir / "out.csv").read_text() == (
        "id,amount,country,channel\n1,10.5,DE,\n5,7.0,US,\n"
    )
    assert (project.output_dir / "_rejected" / "orders.csv").read_text() == (
        "file,line,reason,raw\n"
        'orders.csv,3,amount: not a valid float,"2,abc,US"\n'
        'orders.csv,4,amount: below min 0,"3,-5,FR"\n'
        'orders.csv,5,amount: not a valid float,"4,x1,DE"\n'
    )
    assert _events(manifest) == EXPECTED_EVENTS


def _state(columns: dict[str, Any], policy: str = "warn", extra: str = "keep") -> ContractState:
    schema = SchemaSpec.model_validate(
        {"columns": columns, "on_violation": policy, "extra_columns": extra}
    )
    return ContractState("t", schema, "t.csv")


def test_types_coerce_and_report() -> None:
    state = _state(
        {
            "n": {"type": "int"},
            "ok": {"type": "bool"},
            "day": {"type": "date"},
            "at": {"type": "datetime"},
            "price": {"type": "decimal(5,2)"},
        }
    )
    frame = pd.DataFrame(
        {
            "n": ["1", "2.5", None],
            "ok": ["true", "no", "maybe"],
            "day": ["2026-01-02", "2026-13-40", None],
            "at": ["2026-01-02T03:04:05", "x", "2026-01-02 03:04"],
            "price": ["1.234", "12345.6", "9"],
        },
        dtype="string",
    )
    out = state.apply(frame)
    assert out["n"].tolist() == [1, pd.NA, pd.NA] and str(out["n"].dtype) == "Int64"
    assert out["ok"].tolist() == [True, False, pd.NA]
    assert out["day"].iloc[0] == datetime.date(2026, 1, 2) and pd.isna(out["day"].iloc[1])
    assert out["at"].iloc[2] == pd.Timestamp("2026-01-02 03:04")
    # 1.234 is never rounded to 1.23; 12345.6 needs 7 digits: more than decimal(5,2)
    assert pd.isna(out["price"].iloc[0]) and out["price"].iloc[2] == Decimal("9.00")
    assert pd.isna(out["price"].iloc[1])
    coerced = {e[2]["column"]: e[2]["count"] for e in state.events() if e[0] == "coercion"}
    assert coerced == {"n": 1, "ok": 1, "day": 1, "at": 1, "price": 2}


def test_rules_and_uniqueness_across_chunks() -> None:
    state = _state(
        {
            "id": {"type": "int", "unique": True, "nullable": False},
            "c": {"type": "string", "allowed": ["DE", "US"]},
            "v": {"type": "float", "max": 10},
        }
    )
    state.apply(pd.DataFrame({"id": ["1", "2"], "c": ["DE", "FR"], "v": ["1", "11"]}))
    state.apply(pd.DataFrame({"id": ["2", None], "c": ["US", "US"], "v": ["2", "3"]}))
    found = {(e[2]["column"], e[2]["rule"]): e[2]["samples"] for e in state.events()}
    assert found[("id", "duplicate in a unique column")] == [{"value": "2", "line": 4}]
    assert found[("id", "null in a non-nullable column")] == [{"value": None, "line": 5}]
    assert found[("c", "not an allowed value")] == [{"value": "FR", "line": 3}]
    assert found[("v", "above max 10")] == [{"value": "11", "line": 3}]


def test_extra_columns_drop_and_error() -> None:
    frame = pd.DataFrame({"a": ["1"], "b": ["x"]})
    assert list(_state({"a": {"type": "int"}}, extra="drop").apply(frame).columns) == ["a"]
    with pytest.raises(ContractViolation, match=r"columns \['b'\] are not in the schema"):
        _state({"a": {"type": "int"}}, extra="error").apply(frame)


def test_output_schema_is_checked_before_writing(project: Project) -> None:
    project.csv("orders.csv", ORDERS)
    yaml_text = """
    name: out_contract
    inputs:
      orders: {uri: orders.csv}
    outputs:
      datasets:
        - name: out
          from: orders
          schema:
            columns:
              country: {type: string, allowed: [DE, US]}
            on_violation: error
    """
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    result = LocalRunner(project.input_dir, project.output_dir).run(pipeline)
    assert result["status"] == "failed"
    assert "column 'country': not an allowed value" in result["error"]["message"]
    assert not (project.output_dir / "out.csv").exists()


def test_schema_mistakes_are_validation_problems(project: Project) -> None:
    yaml_text = """
    name: bad_schema
    inputs:
      orders:
        uri: orders.csv
        schema:
          columns:
            id: {type: integer, nulable: false}
          on_violation: warm
    outputs:
      datasets: [{name: out, from: orders}]
    """
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline_from_yaml(project.pipeline(yaml_text))
    messages = [(p.path, p.line) for p in info.value.problems]
    assert messages == [
        ("inputs.orders.schema.columns.id.type", 7),
        ("inputs.orders.schema.columns.id.nulable", 7),
        ("inputs.orders.schema.on_violation", 8),
    ]
    text = str(info.value)
    assert "unknown column type 'integer'" in text
    assert "(did you mean 'nullable'?)" in text and "(did you mean 'warn'?)" in text
