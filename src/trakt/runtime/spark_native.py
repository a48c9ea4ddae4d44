"""Built-in steps as native Spark operations, where Spark gives exactly the local result.

``trakt.select``, ``trakt.rename``, ``trakt.cast`` (int to float or string, bool to string,
int to int), ``trakt.filter`` and ``trakt.derive`` (expressions of :mod:`spark_expr`'s part)
and ``trakt.aggregate`` (``by`` columns of int, text or bool; ``count``, and ``sum``, ``mean``,
``min``, ``max`` of int columns (``min``/``max`` of text too): exact in any order of rows;
groups in the order they first appear, as locally) become DataFrame operations: no Python on
the executors. :func:`native` gives None for anything else, and the caller runs the step
through ``mapInArrow`` as before; it also does so when the native result's schema differs from
the local one (the step run on the driver over a sample), so the bytes cannot differ by type.
Spark settings that change results (ANSI mode, case-sensitive names) turn native steps off.
"""

from __future__ import annotations

from typing import Any

from trakt.runtime.planning import StepPlan
from trakt.runtime.spark_expr import Unsupported, column, kind_of, translate

NATIVE = ("select", "rename", "cast", "filter", "derive", "aggregate")
_ORDER = "__trakt_first_row"


def native(step: StepPlan, df: Any) -> Any:
    """The step as DataFrame operations on ``df``, or None (not exactly translatable)."""
    name = step.uses.removeprefix("trakt.")
    if not step.uses.startswith("trakt.") or name not in NATIVE or len(step.inputs) != 1:
        return None
    conf = df.sparkSession.conf
    if conf.get("spark.sql.ansi.enabled", "false").lower() == "true":
        return None  # overflow would raise, where polars wraps
    names = list(df.columns)
    if len({n.lower() for n in names}) != len(names):
        return None  # Spark may resolve a name case-insensitively
    kinds = {f.name: kind_of(f.dataType) for f in df.schema.fields}
    try:
        return _STEPS[name](df, kinds, dict(step.params))
    except (Unsupported, KeyError, TypeError, ValueError):
        return None


def _exact(kinds: dict[str, str], *names: str) -> None:
    for name in names:
        if name not in kinds:
            raise Unsupported(f"column {name!r}")


def _new_name(kinds: dict[str, str], name: str) -> None:
    """A name written to must not meet another column case-insensitively."""
    if any(n.lower() == name.lower() and n != name for n in kinds):
        raise Unsupported(f"name {name!r}")


def _select(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    columns = list(params["columns"])
    _exact(kinds, *columns)
    if len(set(columns)) != len(columns):
        raise Unsupported("a column twice")
    return df.select([column(c) for c in columns])


def _rename(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    mapping = {str(k): str(v) for k, v in params["mapping"].items()}
    _exact(kinds, *mapping)
    result = [mapping.get(n, n) for n in kinds]
    if len({n.lower() for n in result}) != len(result):
        raise Unsupported("names collide")
    return df.select([column(n).alias(mapping.get(n, n)) for n in kinds])


_CASTS = {("int", "float"): "double", ("int", "string"): "string",
          ("bool", "string"): "string", ("int", "int"): "long"}  # fmt: skip


def _cast(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    changes = {}
    for name, kind in dict(params["columns"]).items():
        _exact(kinds, name)
        target = _CASTS.get((kinds[name], str(kind)))
        if target is None:
            raise Unsupported(f"cast {kinds[name]} to {kind}")
        changes[name] = column(name).cast(target)
    return df.select([changes.get(n, column(n)).alias(n) for n in kinds])


def _filter(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    condition, kind = translate(str(params["where"]), kinds)
    if kind != "bool":
        raise Unsupported("a condition that is not true or false")
    return df.filter(condition)


def _derive(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    kinds = dict(kinds)
    for name, text in dict(params["columns"]).items():
        _new_name(kinds, str(name))
        value, kind = translate(str(text), kinds)
        df = df.withColumn(str(name), value)  # replaced in place, or added last: as polars
        kinds[str(name)] = kind
    return df


def _aggregate(df: Any, kinds: dict[str, str], params: dict[str, Any]) -> Any:
    from pyspark.sql import functions as F

    from trakt.steps.builtins.aggregate import parse_aggregation

    by = params.get("by") or []
    keys = [by] if isinstance(by, str) else list(by)
    _exact(kinds, *keys)
    if _ORDER in kinds:
        raise Unsupported(f"a column named {_ORDER}")
    if not keys or any(kinds[k] not in ("int", "text", "bool") for k in keys):
        raise Unsupported("no keys, or float keys (Spark folds -0.0 and NaN)")
    exprs = []
    for out, text in dict(params["aggregations"]).items():
        _new_name(kinds, str(out))
        agg = parse_aggregation(str(out), str(text))
        if agg.column is None:
            value = F.count(F.lit(1))
        else:
            _exact(kinds, agg.column)
            col, kind = column(agg.column), kinds[agg.column]
            exact = kind == "int" or (kind == "text" and agg.function in ("min", "max"))
            if agg.function != "count" and not exact:
                raise Unsupported(f"{agg.function} of {kind}: the order of additions matters")
            value = _aggregated(agg.function, col)
        exprs.append(value.alias(agg.name))
    # Groups in the order their first row appears: partitions are in input order.
    numbered = df.withColumn(_ORDER, F.monotonically_increasing_id())
    grouped = numbered.groupBy([column(k) for k in keys])
    return grouped.agg(F.min(_ORDER).alias(_ORDER), *exprs).orderBy(_ORDER).drop(_ORDER)


def _aggregated(function: str, col: Any) -> Any:
    from pyspark.sql import functions as F

    if function == "count":
        return F.count(col)
    if function == "sum":  # 0 for a group without values, as polars
        return F.coalesce(F.sum(col), F.lit(0).cast("long"))
    if function == "mean":  # the exact integer sum over the count
        return F.when(F.count(col) > 0, F.sum(col).cast("double") / F.count(col).cast("double"))
    return F.min(col) if function == "min" else F.max(col)


def native_counts(execution: Any, values: dict[Any, Any]) -> None:
    """Rows in and out of the native steps, from the rows known around them (inputs,
    executor steps, driver steps, outputs; select, rename, cast and derive keep every row);
    their records say ``plan: native``. Rows between two steps that both change the number
    of rows are not counted (no Python sees them): left out of the record."""
    from trakt.runtime import spark_counts

    known: dict[str, int] = {}
    made = {a for s in execution.plan.steps for a in s.outputs.values()}
    for artifact, source in execution.sources.items():
        if source.record.rows is not None and artifact not in made:
            known[artifact] = source.record.rows
    for _, step in _records(execution, execution.distributed):
        for binding, artifact in step.inputs.items():
            found = spark_counts.bindings(values, "in", step.id)
            if binding in found:
                known[artifact] = spark_counts.total(values, "in", step.id, binding)
        for binding, artifact in step.outputs.items():
            known[artifact] = spark_counts.total(values, "out", step.id, binding)
    for record in execution.manifest.outputs:
        known.setdefault(record.from_, record.rows)
    steps = list(_records(execution, execution.native))
    for _ in steps:  # each pass carries counts one step further along a chain
        for _, step in steps:
            source, target = step.inputs["input"], step.outputs["output"]
            if step.uses not in ("trakt.filter", "trakt.aggregate"):
                if source in known:
                    known.setdefault(target, known[source])
                elif target in known:
                    known[source] = known[target]
    for record, step in steps:
        record.rows_in = (
            {"input": known[step.inputs["input"]]} if step.inputs["input"] in known else {}
        )
        out = step.outputs["output"]
        record.rows_out = {"output": known[out]} if out in known else {}
        record.extra = {"runner": "spark", "where": "executors", "plan": "native"}


def _records(execution: Any, steps: list[StepPlan]) -> Any:
    for step in steps:
        yield next(r for r in execution.manifest.steps if r.id == step.id), step


_STEPS = {
    "select": _select,
    "rename": _rename,
    "cast": _cast,
    "filter": _filter,
    "derive": _derive,
    "aggregate": _aggregate,
}
