"""``trakt.filter``, ``dedupe`` and ``sort`` end to end (batch and stream, the same bytes)
against pandas, with nulls and empty inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.steps.builtins.harness import assert_same, run, run_both

ORDERS = """
id,country,amount
1,FR,10.5
2,,
3,DE,7
4,FR,-2
5,IT,
6,DE,7
"""
EMPTY = "id,country,amount\n"


def test_filter_keeps_rows_where_the_condition_is_true(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: keep
          uses: trakt.filter
          with: {input: orders, output: out, where: "amount > 0 AND country <> 'IT'"}
        """,
        {"orders": ORDERS},
    )
    orders = result["artifacts"]["orders"]
    # SQL: a null amount or country makes the condition null, and the row goes.
    mask = (orders["amount"] > 0) & (orders["country"] != "IT") & orders["country"].notna()
    assert_same(result["artifacts"]["out"], orders[mask.fillna(False)])
    assert result["files"]["out"] == b"id,country,amount\n1,FR,10.5\n3,DE,7.0\n6,DE,7.0\n"


def test_filter_on_nulls_and_of_an_empty_input(tmp_path: Path) -> None:
    steps = """
    - id: keep
      uses: trakt.filter
      with: {input: orders, output: out, where: "amount IS NULL OR country IN ('IT')"}
    """
    result = run_both(tmp_path / "data", steps, {"orders": ORDERS})
    orders = result["artifacts"]["orders"]
    assert_same(
        result["artifacts"]["out"], orders[orders["amount"].isna() | (orders["country"] == "IT")]
    )
    empty = run_both(tmp_path / "empty", steps, {"orders": EMPTY})
    assert empty["files"]["out"] == b"id,country,amount\n"


@pytest.mark.parametrize("subset", [None, ["country"], ["country", "amount"]])
def test_dedupe_keeps_the_first_of_each(tmp_path: Path, subset: list[str] | None) -> None:
    with_subset = "" if subset is None else f", subset: [{', '.join(subset)}]"
    result = run_both(
        tmp_path,
        f"""
        - id: once
          uses: trakt.dedupe
          with: {{input: orders, output: out{with_subset}}}
        """,
        {"orders": ORDERS + "7,FR,10.5\n2,,\n"},
    )
    orders = result["artifacts"]["orders"]
    assert_same(result["artifacts"]["out"], orders.drop_duplicates(subset=subset, keep="first"))


def test_dedupe_of_an_empty_input(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: once
          uses: trakt.dedupe
          with: {input: orders, output: out, subset: country}
        """,
        {"orders": EMPTY},
    )
    assert result["files"]["out"] == b"id,country,amount\n"


def test_sort_is_stable_with_nulls_last(tmp_path: Path) -> None:
    result = run_both(
        tmp_path,
        """
        - id: order
          uses: trakt.sort
          with: {input: orders, output: out, by: [amount, country], descending: [true, false]}
        """,
        {"orders": ORDERS},
    )
    orders = result["artifacts"]["orders"]
    reference = orders.sort_values(
        ["amount", "country"], ascending=[False, True], kind="stable", na_position="last"
    )
    assert_same(result["artifacts"]["out"], reference)


def test_sort_in_a_stream_runs_as_a_batch_step(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """
        - id: order
          uses: trakt.sort
          with: {input: orders, output: out, by: id, descending: true}
        """,
        {"orders": ORDERS},
        mode="stream",
    )
    assert result["status"] == "success"
    assert result["files"]["out"].splitlines()[1:3] == [b"6,DE,7.0", b"5,IT,"]
    empty = run(
        tmp_path / "empty",
        """
        - id: order
          uses: trakt.sort
          with: {input: orders, output: out, by: id}
        """,
        {"orders": EMPTY},
        mode="stream",
    )
    assert empty["files"]["out"] == b"id,country,amount\n"


def test_a_streaming_builtin_as_a_mode_batch_step(tmp_path: Path) -> None:
    """`mode: batch` hands the built-in whole frames; it answers with whole frames."""
    steps = """
    - id: keep
      uses: trakt.filter
      mode: batch
      with: {input: orders, output: kept, where: "amount > 0"}
    - id: once
      uses: trakt.dedupe
      mode: batch
      with: {input: kept, output: out, subset: country}
    """
    result = run(tmp_path, steps, {"orders": ORDERS}, mode="stream")
    assert result["status"] == "success"
    assert result["files"]["out"] == b"id,country,amount\n1,FR,10.5\n3,DE,7.0\n"


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from(["1", "2", ""])),
        min_size=1,
        max_size=20,
    ),
    chunk=st.integers(1, 6),
)
def test_streamed_dedupe_with_any_chunk_size_equals_pandas(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]], chunk: int
) -> None:
    """The stream holds the keys it has seen: a repeat in a later chunk is still dropped."""
    tmp = tmp_path_factory.mktemp("dedupe")
    text = "k,v\n" + "".join(f"{k},{v}\n" for k, v in rows)
    steps = """
    - id: once
      uses: trakt.dedupe
      with: {input: data, output: out}
    """
    batch = run(tmp, steps, {"data": text}, mode="batch")
    stream = run(tmp, steps, {"data": text}, mode="stream", chunk=chunk)
    assert stream["files"] == batch["files"]
    data = batch["artifacts"]["data"]
    assert_same(batch["artifacts"]["out"], data.drop_duplicates(keep="first"))
