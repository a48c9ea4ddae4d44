"""Built-ins resolved by name (before modules), marked for the frames engine (polars), called
directly, and shown by the graph and the manifest like any step."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.steps.builtins.harness import pipeline_text, run
from trakt import load_pipeline_from_yaml
from trakt.errors import StepResolutionError
from trakt.runtime.graph import pipeline_graph, to_mermaid
from trakt.runtime.planning import plan_pipeline
from trakt.steps import resolve_step
from trakt.steps.builtins import REGISTRY, builtin_names, lookup_builtin
from trakt.steps.builtins.aggregate import aggregate
from trakt.steps.builtins.columns import derive
from trakt.steps.builtins.join import join
from trakt.steps.builtins.spec import spec_of

STEPS = """
- id: big
  uses: trakt.filter
  with: {input: orders, output: big, where: "amount > 1"}
- id: enrich
  uses: trakt.join
  with: {input: big, right: customers, output: enriched, "on": customer, how: left}
- id: order
  uses: trakt.sort
  with: {input: enriched, output: out, by: amount}
"""
INPUTS = {
    "orders": "id,customer,amount\n1,a,5\n2,b,1\n3,a,2\n",
    "customers": "customer,name\na,Ann\n",
}


@pytest.mark.parametrize("name", builtin_names())
def test_each_builtin_resolves_and_declares_itself(name: str, tmp_path: Path) -> None:
    (tmp_path / "trakt.py").write_text("raise SystemExit('a module must not be imported')\n")
    step = resolve_step(name, [tmp_path])
    assert step.reference == f"built-in '{name}'"
    fn = lookup_builtin(name)
    spec = spec_of(fn) if fn else None
    assert spec is not None and spec.uses == name
    assert getattr(step.fn, "frame", None) == "polars"
    assert step.supports_stream is not spec.batch_only
    if name != "trakt.sql":  # trakt.sql takes its inputs by name
        assert step.declared_inputs and step.declared_outputs == ("output",)
    assert set(REGISTRY) == {n.removeprefix("trakt.") for n in builtin_names()}


def test_a_name_outside_the_builtins_is_refused() -> None:
    with pytest.raises(StepResolutionError, match=r"built-in 'trakt\.joins': no such built-in "):
        resolve_step("trakt.joins")


def test_the_functions_take_and_return_polars() -> None:
    """The logic itself: polars frames (or chunks) in, polars out."""
    orders = pl.DataFrame({"k": ["a", "b", "a"], "v": [1, None, 3]})
    derived = derive(None, iter([orders]), "out", {"w": "v * 10"})["output"]
    assert [c.to_dicts() for c in derived] == [
        [{"k": "a", "v": 1, "w": 10}, {"k": "b", "v": None, "w": None}, {"k": "a", "v": 3, "w": 30}]
    ]
    chunks = iter([orders.head(2), orders.tail(1)])
    totals = aggregate(None, chunks, "out", {"s": "sum(v)", "m": "mean(v)"}, by="k")["output"]
    assert [c.to_dicts() for c in totals] == [
        [{"k": "a", "s": 4, "m": 2.0}, {"k": "b", "s": 0, "m": None}]
    ]
    untyped = pl.DataFrame({"k": pl.Series([None, None], dtype=pl.Null), "v": [1, 2]})
    labelled = derive(None, untyped, "out", {"k": "UPPER(k)", "w": "v + LENGTH(k)"})["output"]
    assert isinstance(labelled, pl.DataFrame)
    assert labelled.to_dicts() == [{"k": None, "v": 1, "w": None}, {"k": None, "v": 2, "w": None}]
    side = pl.LazyFrame({"k": ["a"], "name": ["Ann"]})
    joined = join(None, orders, side, "out", on="k", how="inner")["output"]
    assert isinstance(joined, pl.DataFrame) and joined["name"].to_list() == ["Ann", "Ann"]


def test_graph_shows_builtins_like_any_step(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(pipeline_text(STEPS, INPUTS, ("out",), "stream"))
    plan = plan_pipeline(load_pipeline_from_yaml(path))
    graph = pipeline_graph(plan)
    steps = {n.name: n for n in graph.nodes if n.kind == "step"}
    assert {n: (s.detail, s.mode) for n, s in steps.items()} == {
        "big": ("trakt.filter", "stream"),
        "enrich": ("trakt.join", "stream"),
        "order": ("trakt.sort", "batch"),  # needs every row: a batch step in a stream run
    }
    text = to_mermaid(graph)
    assert "trakt.join" in text and "trakt.sort" in text


def test_manifest_records_builtins_like_any_step(tmp_path: Path) -> None:
    result = run(tmp_path, STEPS, INPUTS, mode="stream")
    assert result["status"] == "success"
    assert result["files"]["out"] == b"id,customer,amount,name\n3,a,2,Ann\n1,a,5,Ann\n"
    manifest = json.loads(Path(result["manifest_path"]).read_text())
    steps = {s["id"]: s for s in manifest["steps"]}
    assert [steps[i]["uses"] for i in ("big", "enrich", "order")] == [
        "trakt.filter",
        "trakt.join",
        "trakt.sort",
    ]
    assert steps["big"]["rows_in"] == {"input": 3} and steps["big"]["rows_out"] == {"output": 2}
    assert steps["order"]["status"] == "success"
    assert [s["uses"] for s in manifest["graph"]["steps"]] == [
        "trakt.filter",
        "trakt.join",
        "trakt.sort",
    ]


def test_the_readme_examples_validate(tmp_path: Path) -> None:
    """The README's built-in examples pass every check, not only the structural one."""
    import re

    import yaml

    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL) if "trakt." in b]
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        data = yaml.safe_load(block)
        data.setdefault("name", "readme")
        data.setdefault(
            "inputs", {"orders": {"uri": "orders.csv"}, "customers": {"uri": "customers.csv"}}
        )
        path = tmp_path / f"readme{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        plan = plan_pipeline(load_pipeline_from_yaml(path))
        assert all(s.uses.startswith("trakt.") for s in plan.steps)


@pytest.mark.slow
def test_validating_builtins_imports_polars_only() -> None:
    """`trakt validate` of a built-in pipeline parses its expressions with polars, and
    imports neither pandas nor pyarrow (the engine imports them only when data moves)."""
    from tests.runtime.test_layers import HEAVY, REPO, validate_in_child

    data, _ = validate_in_child(REPO / "examples" / "builtins_demo" / "pipeline.yaml", REPO)
    assert data["rc"] == 0
    modules = data["modules"]
    assert isinstance(modules, list)
    assert sorted({m.split(".")[0] for m in modules} & set(HEAVY)) == ["polars"]
