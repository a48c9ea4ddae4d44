"""``trakt.aggregate`` end to end against ``pandas.groupby`` (batch and stream, the same
bytes), with null keys and values and empty inputs; streamed by partial aggregation, any
chunk size gives the batch result (Hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.steps.builtins.harness import assert_same, run, run_both

ORDERS = """
id,country,amount,qty
1,FR,10.5,1
2,,,2
3,DE,7,
4,FR,-2,4
5,DE,,5
6,FR,1,6
"""
STEP = """
- id: totals
  uses: trakt.aggregate
  with:
    input: orders
    output: out
    by: country
    aggregations:
      n: count()
      values: count(amount)
      total: sum(amount)
      low: min(qty)
      high: max(amount)
      average: mean(amount)
"""


def reference(orders: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """pandas' answer: groups in order of first appearance, a null key a group of its own."""
    grouped = orders.groupby(by, sort=False, dropna=False) if by else None
    columns = {
        "n": ("id", "size"),
        "values": ("amount", "count"),
        "total": ("amount", "sum"),
        "low": ("qty", "min"),
        "high": ("amount", "max"),
        "average": ("amount", "mean"),
    }
    if grouped is None:
        return pd.DataFrame(
            {
                name: [len(orders) if fn == "size" else getattr(orders[col], fn)()]
                for name, (col, fn) in columns.items()
            }
        )
    return grouped.agg(**columns).reset_index()


def test_aggregate_matches_pandas(tmp_path: Path) -> None:
    result = run_both(tmp_path, STEP, {"orders": ORDERS})
    out = result["artifacts"]["out"]
    assert_same(out, reference(result["artifacts"]["orders"], ["country"]))
    assert [str(out[c].dtype) for c in ("n", "values", "total", "low", "average")] == [
        "Int64",
        "Int64",
        "float64",
        "Int64",
        "float64",
    ]


def test_aggregate_without_groups_and_of_an_empty_input(tmp_path: Path) -> None:
    steps = STEP.replace("    by: country\n", "")
    result = run_both(tmp_path / "all", steps, {"orders": ORDERS})
    assert_same(result["artifacts"]["out"], reference(result["artifacts"]["orders"], []))
    empty = run_both(tmp_path / "empty", STEP, {"orders": "id,country,amount,qty\n"})
    assert empty["files"]["out"] == b"country,n,values,total,low,high,average\n"
    # Without groups, one row: no rows counted, and nothing to sum in a column without values.
    one = run_both(tmp_path / "one", steps, {"orders": "id,country,amount,qty\n"})
    assert one["files"]["out"] == b"n,values,total,low,high,average\n0,0,,,,\n"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", ""]),
            st.one_of(st.none(), st.integers(-1000, 1000)),
        ),
        min_size=1,
        max_size=30,
    ),
    chunk=st.integers(1, 8),
)
def test_streamed_with_any_chunk_size_equals_batch(
    tmp_path_factory: object, rows: list[tuple[str, int | None]], chunk: int
) -> None:
    assume(any(v is not None for _, v in rows))  # a column without values: the test below
    tmp = tmp_path_factory.mktemp("agg")  # type: ignore[attr-defined]
    text = "key,value\n" + "".join(f"{k},{'' if v is None else v}\n" for k, v in rows)
    steps = """
    - id: totals
      uses: trakt.aggregate
      with:
        input: data
        output: out
        by: [key]
        aggregations:
          {n: count(), c: count(value), s: sum(value), lo: min(value), hi: max(value),
           m: mean(value)}
    """
    batch = run(tmp, steps, {"data": text}, mode="batch")
    stream = run(tmp, steps, {"data": text}, mode="stream", chunk=chunk)
    assert stream["files"] == batch["files"]
    data = batch["artifacts"]["data"]
    expected = (
        data.groupby("key", sort=False, dropna=False)
        .agg(
            n=("value", "size"),
            c=("value", "count"),
            s=("value", "sum"),
            lo=("value", "min"),
            hi=("value", "max"),
            m=("value", "mean"),
        )
        .reset_index()
    )
    assert_same(batch["artifacts"]["out"], expected)


def test_a_column_without_values(tmp_path: Path) -> None:
    """Read as text for having no values, it still counts, sums and averages to nothing."""
    result = run_both(tmp_path, STEP, {"orders": "id,country,amount,qty\n1,FR,,\n2,FR,,\n"})
    assert result["files"]["out"] == b"country,n,values,total,low,high,average\nFR,2,0,,,,\n"


def test_a_float_sum_is_the_same_in_every_run_and_chunking() -> None:
    """A large frame of few groups: polars would split a bare sum among its threads and add
    their partial sums in the order they finish (the last digits then change from run to
    run); each group's sum is the same whatever the run or the frame's chunks, and within a
    few units in the last place of the exact sum."""
    import math

    import numpy as np
    import polars as pl

    from trakt.steps.builtins.aggregate import aggregate

    rng = np.random.default_rng(7)
    n = 1_000_000
    values = rng.normal(0, 1e6, n) * 10.0 ** rng.integers(-3, 4, n)
    frame = pl.DataFrame({"key": rng.choice(["a", "b", "c", "d"], n), "x": values})
    chunkings = [
        frame,
        pl.concat([frame.slice(0, 333_333), frame.slice(333_333)], rechunk=False),
        pl.concat([frame.slice(i, 100_000) for i in range(0, n, 100_000)], rechunk=False),
    ]
    spec = {"total": "sum(x)"}
    found = {
        tuple(aggregate(None, f, "out", by="key", aggregations=spec)["output"]["total"])
        for _ in range(5)
        for f in chunkings
    }
    assert len(found) == 1
    keys = frame["key"].unique(maintain_order=True)
    exact = [math.fsum(frame.filter(pl.col("key") == k)["x"].to_list()) for k in keys]
    assert all(math.isclose(a, b, rel_tol=1e-14) for a, b in zip(found.pop(), exact, strict=True))
