"""``trakt.join`` end to end (the input streamed, the side input whole; batch and stream give
the same bytes) against ``pandas.merge``, with null keys and empty inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.steps.builtins.harness import assert_same, run_both

ORDERS = """
id,customer,amount
1,a,10
2,b,20
3,,30
4,c,40
5,a,50
"""
CUSTOMERS = """
customer,name,amount
a,Ann,1
b,Bob,2
b,Bea,3
,Nobody,4
"""


def reference(orders: pd.DataFrame, customers: pd.DataFrame, how: str) -> pd.DataFrame:
    """pandas' answer, by SQL's rules: null keys never match; clashing side columns get
    ``_right``."""
    side = customers[customers["customer"].notna()]
    if how in ("semi", "anti"):
        found = orders["customer"].isin(side["customer"]) & orders["customer"].notna()
        return orders[found if how == "semi" else ~found]
    merged = orders.merge(side, on="customer", how=how, suffixes=("", "_right"), sort=False)
    return merged


@pytest.mark.parametrize("how", ["inner", "left", "semi", "anti"])
def test_join_matches_pandas(tmp_path: Path, how: str) -> None:
    result = run_both(
        tmp_path,
        f"""
        - id: enrich
          uses: trakt.join
          with: {{input: orders, right: customers, output: out, on: customer, how: {how}}}
        """,
        {"orders": ORDERS, "customers": CUSTOMERS},
    )
    orders, customers = result["artifacts"]["orders"], result["artifacts"]["customers"]
    assert_same(result["artifacts"]["out"], reference(orders, customers, how))


def test_join_on_differently_named_keys(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: enrich
          uses: trakt.join
          with:
            input: orders
            right: people
            output: out
            left_on: [customer]
            right_on: [key]
            how: left
        """,
        {"orders": ORDERS, "people": "key,name\na,Ann\nc,Cy\n"},
    )
    out = result["artifacts"]["out"]
    assert list(out.columns) == ["id", "customer", "amount", "name"]
    assert out["name"].isna().tolist() == [False, True, True, False, False]
    assert result["files"]["out"].splitlines()[1:] == [
        b"1,a,10,Ann",
        b"2,b,20,",
        b"3,,30,",
        b"4,c,40,Cy",
        b"5,a,50,Ann",
    ]


def test_join_with_an_empty_side_or_main_input(tmp_path: Path) -> None:
    steps = """
    - id: enrich
      uses: trakt.join
      with: {input: orders, right: customers, output: out, on: customer, how: left}
    """
    no_side = run_both(tmp_path / "side", steps, {"orders": ORDERS, "customers": "customer,name\n"})
    assert no_side["files"]["out"].splitlines() == [
        b"id,customer,amount,name",
        b"1,a,10,",
        b"2,b,20,",
        b"3,,30,",
        b"4,c,40,",
        b"5,a,50,",
    ]
    no_main = run_both(
        tmp_path / "main", steps, {"orders": "id,customer,amount\n", "customers": CUSTOMERS}
    )
    assert no_main["files"]["out"] == b"id,customer,amount,name,amount_right\n"
