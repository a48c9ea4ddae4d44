"""The step contract: which ``with`` keys are inputs, outputs or parameters, and what a step
must return.

Declared steps (``run.declared_inputs`` / ``run.declared_outputs``) bind exactly the names they
declare; every other ``with`` key is a parameter and must be a named parameter of the function
(or the function takes ``**kwargs``).

Undeclared steps follow a naming convention: the key ``input`` and keys starting with
``input_`` are inputs, ``output`` and ``output_*`` are outputs, everything else is a parameter.
A parameter whose value is the name of an artifact is ambiguous, and validation asks the author
to declare the bindings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trakt.errors import did_you_mean
from trakt.steps.resolve import StepFunction


@dataclass(frozen=True)
class Bindings:
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    params: Mapping[str, Any]


@dataclass(frozen=True)
class BindingProblem:
    key: str | None  # the `with` key at fault, or None for the step as a whole
    message: str


def _is_input(key: str) -> bool:
    return key == "input" or key.startswith("input_")


def _is_output(key: str) -> bool:
    return key == "output" or key.startswith("output_")


def bind(
    with_: Mapping[str, Any], step: StepFunction, known_artifacts: set[str]
) -> tuple[Bindings, list[BindingProblem]]:
    """Split ``with`` into inputs, outputs and parameters; report every problem."""
    problems: list[BindingProblem] = []
    if step.is_declared:
        in_names = step.declared_inputs or ()
        out_names = step.declared_outputs or ()
        for name in (*in_names, *out_names):
            if name not in with_:
                kind = "input" if name in in_names else "output"
                problems.append(
                    BindingProblem(
                        None,
                        f"{step.reference} declares {kind} '{name}' but `with` does not bind "
                        f"it; add `{name}: <artifact>`",
                    )
                )
    else:
        in_names = tuple(k for k in with_ if _is_input(k))
        out_names = tuple(k for k in with_ if _is_output(k))

    params = {k: v for k, v in with_.items() if k not in in_names and k not in out_names}
    for key in (*in_names, *out_names):
        value = with_.get(key)
        if key in with_ and not isinstance(value, str):
            problems.append(
                BindingProblem(key, f"binding '{key}' must name an artifact, found {value!r}")
            )
    accepted = step.parameters | set(in_names) | set(out_names)
    for key, value in params.items():
        if not step.accepts_any_keyword and key not in accepted:
            problems.append(BindingProblem(key, _unknown_key(key, step, in_names, out_names)))
        elif not step.is_declared and isinstance(value, str) and value in known_artifacts:
            problems.append(
                BindingProblem(
                    key,
                    f"'{key}: {value}' is ambiguous: '{value}' is an artifact, but {step.reference}"
                    " declares no bindings, so it would be passed as a plain string. Set "
                    "run.declared_inputs / run.declared_outputs on the function.",
                )
            )
    for name in (*in_names, *out_names):
        if not step.accepts_any_keyword and name not in step.parameters:
            problems.append(
                BindingProblem(
                    None,
                    f"{step.reference} declares binding '{name}' but has no parameter "
                    f"'{name}'; add it to the signature or accept **kwargs",
                )
            )
    bindings = Bindings(
        inputs={k: with_[k] for k in in_names if isinstance(with_.get(k), str)},
        outputs={k: with_[k] for k in out_names if isinstance(with_.get(k), str)},
        params=params,
    )
    return bindings, problems


def _unknown_key(key: str, step: StepFunction, ins: tuple[str, ...], outs: tuple[str, ...]) -> str:
    others = sorted(step.parameters - set(ins) - set(outs))
    known = sorted({*ins, *outs, *others})
    return (
        f"`with` key '{key}' is not a declared binding or parameter of {step.reference}"
        f"{did_you_mean(key, known)}; inputs: {list(ins)}, outputs: {list(outs)}, "
        f"parameters: {others}"
    )
