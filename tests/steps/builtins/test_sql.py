"""``trakt.sql`` end to end: a polars SQL query over the step's inputs, each a table named
after its artifact; in a stream pipeline it runs as a batch step."""

from __future__ import annotations

from pathlib import Path

from tests.steps.builtins.harness import assert_same, run_both

ORDERS = """
id,customer,amount
1,a,10
2,b,
3,a,5
4,,7
"""
CUSTOMERS = "customer,name\na,Ann\nb,Bob\n"


def test_sql_over_two_inputs_named_by_artifact(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: report
          uses: trakt.sql
          with:
            input: orders
            input_people: customers
            output: out
            query: >
              SELECT c.name, SUM(o.amount) AS total, COUNT(*) AS n
              FROM orders o JOIN customers c ON o.customer = c.customer
              GROUP BY c.name ORDER BY c.name
        """,
        {"orders": ORDERS, "customers": CUSTOMERS},
    )
    orders, customers = result["artifacts"]["orders"], result["artifacts"]["customers"]
    merged = orders.merge(customers, on="customer")
    reference = (
        merged.groupby("name", sort=True)
        .agg(total=("amount", lambda s: s.sum(min_count=1)), n=("id", "size"))
        .reset_index()
    )
    assert_same(result["artifacts"]["out"], reference)
    # SQL: the sum of no values is null.
    assert result["files"]["out"] == b"name,total,n\nAnn,15,2\nBob,,1\n"


def test_sql_of_an_empty_input(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: report
          uses: trakt.sql
          with: {input: orders, output: out, query: "SELECT id, customer FROM orders WHERE id > 1"}
        """,
        {"orders": "id,customer,amount\n"},
    )
    assert result["files"]["out"] == b"id,customer\n"
