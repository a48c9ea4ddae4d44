"""Static validation of built-ins: bad ``with:`` keys and types, expressions that do not
parse, and columns missing from what an input's contract fixes; every problem at its YAML
line, all raised once, before anything is read."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests.steps.builtins.harness import pipeline_text
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.runtime.planning import plan_pipeline

CONTRACT = """\
name: checks
inputs:
  orders:
    uri: orders.csv
    schema:
      extra_columns: drop
      columns: {id: {type: int}, country: {}, amount: {type: float}}
  customers: {uri: customers.csv}
steps:
"""


def problems(tmp_path: Path, steps: str, head: str = CONTRACT) -> str:
    """The validation error's text for a pipeline of ``steps`` (nothing is read)."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ") + "\n")
    with pytest.raises(PipelineValidationError) as info:
        plan_pipeline(load_pipeline_from_yaml(path))
    return str(info.value)


def test_a_bad_expression_is_a_validation_error_at_its_line(tmp_path: Path) -> None:
    steps = """
    - id: keep
      uses: trakt.filter
      with: {input: orders, output: out, where: "amount >"}
    """
    with pytest.raises(
        PipelineValidationError,
        match=r"pipeline\.yaml:12:\d+: steps\[0\]\.with\.where: cannot parse the expression "
        r"'amount >': polars SQL cannot parse 'amount >' as Expr; write a SQL expression",
    ):
        path = tmp_path / "pipeline.yaml"
        path.write_text(CONTRACT + textwrap.indent(textwrap.dedent(steps).strip("\n"), "  "))
        plan_pipeline(load_pipeline_from_yaml(path))


def test_every_problem_is_reported_once_with_its_location(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        - id: d
          uses: trakt.derive
          with:
            input: orders
            output: derived
            columns:
              double: "amount * 2"
              bad: "double +"
              wrong: "countri || 'x'"
        - id: j
          uses: trakt.join
          with: {input: derived, right: customers, output: joined, how: outer}
        - id: a
          uses: trakt.aggregate
          with:
            input: derived
            output: agg
            by: [country, nope]
            aggregations: {n: "count()", t: "total(amount)", m: "mean()"}
        - id: s
          uses: trakt.sort
          with: {input: derived, output: sorted, by: [country, id], descending: [true]}
        - id: c
          uses: trakt.cast
          with: {input: orders, output: cc, columns: {amount: str, idd: int}}
        - id: sel
          uses: trakt.select
          with: {input: agg, output: sel, columns: [n, total]}
        - id: r
          uses: trakt.rename
          with: {input: orders, output: ren, mappin: {amount: amt}}
        - id: q
          uses: trakt.sql
          with: {input: orders, output: q, qeury: "SELECT 1"}
        - id: q2
          uses: trakt.sql
          with: {input: orders, output: q2, query: "SELEC * FROM orders"}
        """,
    )
    expected = [
        r":17:\d+: steps\[0\]\.with\.columns\.bad: cannot parse the expression 'double \+'",
        r":18:\d+: steps\[0\]\.with\.columns\.wrong: column 'countri' is not in 'orders' "
        r"\(did you mean 'country'\?\); its columns are id, country, amount, double",
        r":21:\d+: steps\[1\]\.with\.how: `how` of trakt\.join must be one of inner, left, "
        r"semi, anti, found 'outer'",
        r":27:\d+: steps\[2\]\.with\.by\[1\]: column 'nope' is not in 'derived'",
        r":28:\d+: steps\[2\]\.with\.aggregations\.t: cannot read the aggregation "
        r"'total\(amount\)': expected function\(column\)",
        r":28:\d+: steps\[2\]\.with\.aggregations\.m: mean\(\) needs a column",
        r":31:\d+: steps\[3\]\.with\.descending: `descending` lists 1 values for 2 `by` columns",
        r":34:\d+: steps\[4\]\.with\.columns\.amount: `columns\.amount` of trakt\.cast: unknown "
        r"type 'str'; expected one of int, float, string, bool, date, datetime, decimal\(p,s\)",
        r":34:\d+: steps\[4\]\.with\.columns\.idd: column 'idd' is not in 'orders' "
        r"\(did you mean 'id'\?\)",
        r":37:\d+: steps\[5\]\.with\.columns\[1\]: column 'total' is not in 'agg'; its columns "
        r"are country, nope, n, t, m",
        r":40:\d+: steps\[6\]\.with: trakt\.rename needs `mapping:` in `with`",
        r":40:\d+: steps\[6\]\.with\.mappin: `with` key 'mappin' is not a declared binding or "
        r"parameter of built-in 'trakt\.rename' \(did you mean 'mapping'\?\)",
        r":43:\d+: steps\[7\]\.with: trakt\.sql needs `query:` in `with`",
        r":43:\d+: steps\[7\]\.with\.qeury: `with` key 'qeury' is not a parameter of trakt\.sql "
        r"\(did you mean 'query'\?\)",
        r":46:\d+: steps\[8\]\.with\.query: cannot parse the query: sql parser error",
    ]
    for pattern in expected:
        assert len(re.findall(pattern, text)) == 1, (pattern, text)
    assert "15 problems found" in text


def test_join_needs_its_keys(tmp_path: Path) -> None:
    base = """
    - id: j
      uses: trakt.join
      with: {input: orders, right: customers, output: out, WITH}
    """
    text = problems(tmp_path, base.replace("WITH", "how: left"))
    assert "needs the key columns: `on` (names both inputs have), or both `left_on` and " in text
    text = problems(tmp_path, base.replace("WITH", "left_on: [id, country], right_on: customer"))
    assert "`left_on` has 2 columns and `right_on` 1; they pair up" in text
    text = problems(tmp_path, base.replace("WITH", '"on": customer'))
    assert "column 'customer' is not in 'orders'" in text  # the side's columns are unknown


def test_unknown_columns_are_not_checked(tmp_path: Path) -> None:
    """Without a contract fixing the columns, any name is taken (checked when data flows)."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        pipeline_text(
            """
            - id: keep
              uses: trakt.filter
              with: {input: customers, output: out, where: "whatever > 1"}
            """,
            {"customers": ""},
            ("out",),
            "batch",
        )
    )
    plan = plan_pipeline(load_pipeline_from_yaml(path))
    assert plan.steps[0].function.reference == "built-in 'trakt.filter'"


def test_an_unknown_builtin_suggests_the_name(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        - id: x
          uses: trakt.selct
          with: {input: orders, output: out}
        """,
    )
    assert (
        "steps[0].uses: cannot resolve uses 'trakt.selct'. Tried: built-in 'trakt.selct': " in text
    )
    assert "no such built-in (did you mean 'trakt.select'?)" in text
