"""Static checks of a built-in step's ``with:``: keys, types, expressions and column names.

Light at import (no polars): expressions are parsed, by polars, only when a pipeline has
some. Columns are checked only where they are known: an input whose contract fixes its
columns (``extra_columns: drop`` or ``error``), then through the built-ins downstream of it
(each one's output columns follow from its parameters); any other step's output is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trakt.errors import did_you_mean
from trakt.steps.builtins.spec import BuiltinSpec

Columns = tuple[str, ...] | None  # None: not known statically
Key = tuple[str | int, ...]  # a path under the step's `with`


@dataclass(frozen=True)
class Issue:
    """One problem of a built-in's ``with:``, at ``key`` (a path under ``with``)."""

    key: Key
    message: str


@dataclass(frozen=True)
class StepColumns:
    """What the checks know of one step: its inputs' columns (by binding) and artifacts."""

    columns: Mapping[str, Columns]
    artifacts: Mapping[str, str]

    def of(self, binding: str) -> Columns:
        return self.columns.get(binding)


def normalize_with(spec: BuiltinSpec, with_: Mapping[Any, Any]) -> dict[Any, Any]:
    """``with:`` as the built-in reads it: YAML 1.1 reads an unquoted key ``on`` as ``true``,
    which trakt.join takes as its ``on`` (as GitHub Actions does)."""
    # The model keeps keys as text: the YAML key `on` arrives as "True".
    if "True" in with_ and any(p.name == "on" for p in spec.params) and "on" not in with_:
        return {("on" if k == "True" else k): v for k, v in with_.items()}
    return dict(with_)


def check_step(
    spec: BuiltinSpec, with_: Mapping[str, Any], known: StepColumns
) -> tuple[list[Issue], dict[str, Columns]]:
    """Every problem of one built-in step's ``with:``, and its outputs' columns (by binding)
    where they follow from its inputs' and its parameters."""
    issues = _shapes(spec, with_)
    if issues:  # the checks below read the values; their shapes must be right first
        return issues, {}
    from trakt.steps.builtins.checks_rules import RULES  # imports polars: only when needed

    return RULES[spec.name](with_, known)


def _shapes(spec: BuiltinSpec, with_: Mapping[str, Any]) -> list[Issue]:
    issues = []
    params = {p.name: p for p in spec.params}
    for required in spec.params:
        if required.required and required.name not in with_:
            issues.append(
                Issue(
                    (),
                    f"{spec.uses} needs `{required.name}:` in `with` ({required.kind.text}: "
                    f"{required.doc})",
                )
            )
    for key, value in with_.items():
        param = params.get(key)
        if param is not None and not param.kind.check(value):
            issues.append(
                Issue((key,), f"`{key}` of {spec.uses} must be {param.kind.text}, found {value!r}")
            )
        elif param is None and spec.name == "sql" and not _binding(key):
            # trakt.sql takes its inputs by name (**inputs), so binding cannot refuse a typo.
            issues.append(
                Issue(
                    (key,),
                    f"`with` key '{key}' is not a parameter of {spec.uses}"
                    f"{did_you_mean(str(key), params)}; it takes `query`, `output`, and its "
                    "inputs as `input` and `input_<name>`",
                )
            )
    return issues


def _binding(key: Any) -> bool:
    return isinstance(key, str) and (
        key in ("input", "output") or key.startswith(("input_", "output_"))
    )


def missing(names: Sequence[tuple[Key, str]], columns: Columns, artifact: str) -> list[Issue]:
    """An issue for each (key, column name) whose column ``columns`` (when known) lacks."""
    if columns is None:
        return []
    return [
        Issue(
            key,
            f"column '{name}' is not in '{artifact}'{did_you_mean(name, columns)}; its columns "
            f"are {', '.join(columns) or 'none'}",
        )
        for key, name in names
        if name not in columns
    ]


def contract_columns(schema: Any) -> Columns:
    """The columns an input's contract fixes (``extra_columns`` drop or error), or None."""
    if schema is None or schema.extra_columns == "keep":
        return None
    return tuple(schema.columns)
