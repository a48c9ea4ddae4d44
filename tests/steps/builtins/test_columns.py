"""``trakt.select``, ``rename``, ``cast`` and ``derive`` end to end (batch and stream, the
same bytes) against pandas, with nulls and empty inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.steps.builtins.harness import MODES, assert_same, run, run_both

ORDERS = """
id,country,amount,note
1,FR,10.5,a
2,,,
3,DE,7,c
4,FR,-2,
5,IT,3.25,e
"""
EMPTY = "id,country,amount,note\n"


def test_select_keeps_the_listed_columns_in_their_order(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: pick
          uses: trakt.select
          with: {input: orders, output: out, columns: [amount, id]}
        """,
        {"orders": ORDERS},
    )
    orders = result["artifacts"]["orders"]
    assert_same(result["artifacts"]["out"], orders[["amount", "id"]])
    assert result["files"]["out"].startswith(b"amount,id\n10.5,1\n,2\n")


def test_select_of_an_empty_input(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: pick
          uses: trakt.select
          with: {input: orders, output: out, columns: [note, id]}
        """,
        {"orders": EMPTY},
    )
    assert result["files"]["out"] == b"note,id\n"


def test_rename_keeps_the_order(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: names
          uses: trakt.rename
          with: {input: orders, output: out, mapping: {amount: total, id: order_id}}
        """,
        {"orders": ORDERS},
    )
    reference = result["artifacts"]["orders"].rename(columns={"amount": "total", "id": "order_id"})
    assert_same(result["artifacts"]["out"], reference)
    assert result["files"]["out"].startswith(b"order_id,country,total,note\n")


def test_cast_to_contract_types(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: types
          uses: trakt.cast
          with:
            input: orders
            output: out
            columns: {id: string, amount: string, flag: bool, day: date, n: float}
        """,
        {
            "orders": "id,amount,flag,day,n\n1,10.5,yes,2024-01-31,3\n2,,N,,\n"
            "3,7.0,true,2023-12-01,-1\n"
        },
    )
    out = result["artifacts"]["out"]
    orders = result["artifacts"]["orders"]
    reference = pd.DataFrame(
        {
            "id": orders["id"].astype("string"),
            "amount": ["10.5", None, "7.0"],
            "flag": [True, False, True],
            "day": pd.to_datetime(orders["day"]).dt.date,
            "n": orders["n"].astype("float64"),
        }
    )
    assert_same(out, reference)
    assert str(out["n"].dtype) == "float64" and str(out["flag"].dtype) == "boolean"
    assert result["files"]["out"] == (
        b"id,amount,flag,day,n\n1,10.5,true,2024-01-31,3.0\n2,,false,,\n3,7.0,true,2023-12-01,-1.0\n"
    )


def test_derive_adds_and_replaces_columns_in_order(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: compute
          uses: trakt.derive
          with:
            input: orders
            output: out
            columns:
              double: amount * 2
              amount: amount + 1
              label: "CASE WHEN country IS NULL THEN 'none' ELSE UPPER(country) END"
              twice: double + 0
        """,
        {"orders": ORDERS},
    )
    orders = result["artifacts"]["orders"]
    reference = orders.copy()
    reference["double"] = orders["amount"] * 2
    reference["amount"] = orders["amount"] + 1
    reference["label"] = orders["country"].str.upper().fillna("none")
    reference["twice"] = reference["double"]
    assert_same(result["artifacts"]["out"], reference)


def test_derive_of_an_empty_input(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: compute
          uses: trakt.derive
          with: {input: orders, output: out, columns: {double: amount * 2}}
        """,
        {"orders": EMPTY},
    )
    assert result["files"]["out"] == b"id,country,amount,note,double\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_value_that_does_not_convert_fails_the_step(tmp_path: Path, mode: str) -> None:
    result = run(
        tmp_path,
        """
        - id: types
          uses: trakt.cast
          with: {input: orders, output: out, columns: {amount: int}}
        """,
        {"orders": ORDERS},
        mode=mode,
    )
    assert result["status"] == "failed"
    error = result["error"]
    assert error["step_id"] == "types" and error["type"] == "InvalidOperationError"
    assert re.fullmatch(
        r"step 'types' \(trakt\.cast\) failed: conversion from `str` to `i64` failed in column "
        r"'amount' for \d+ out of \d+ values: \[.*\"10\.5\".*\] \(polars InvalidOperationError\)",
        error["message"],
    ), error["message"]
