"""What a built-in step declares: its ``with:`` parameters (name, kind, required) and how
its function is marked for the engine (``frame``, bindings, streaming).

Light on purpose (no polars): ``trakt validate`` checks ``with:`` keys and types from these
declarations before any data library is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "trakt."


@dataclass(frozen=True)
class Kind:
    """A parameter's expected YAML shape: a name for messages and a check of a value."""

    text: str
    check: Callable[[Any], bool]


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_name(v) for v in value)


def _is_text_map(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(_is_name(k) and _is_name(v) for k, v in value.items())
    )


NAME = Kind("a column name", _is_name)
NAMES = Kind("a non-empty list of column names", _is_names)
NAME_OR_NAMES = Kind(
    "a column name or a non-empty list of them", lambda v: _is_name(v) or _is_names(v)
)
OPTIONAL_NAMES = Kind(
    "a column name or a list of them", lambda v: _is_name(v) or _is_names(v) or v == []
)
TEXT_MAP = Kind("a mapping of column names to text", _is_text_map)
TEXT = Kind("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
BOOL_OR_BOOLS = Kind(
    "true, false or a list of them",
    lambda v: isinstance(v, bool) or (isinstance(v, list) and all(isinstance(b, bool) for b in v)),
)


def choice(*values: str) -> Kind:
    """One of ``values``."""
    return Kind(f"one of {', '.join(values)}", lambda v: isinstance(v, str) and v in values)


@dataclass(frozen=True)
class Param:
    """One ``with:`` parameter of a built-in."""

    name: str
    kind: Kind
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in's name (``trakt.<name>``) and its parameters."""

    name: str
    params: tuple[Param, ...]
    # Steps that need every row before they can answer (sort, sql) run as a `mode: batch`
    # step in a stream pipeline: their inputs are materialized, their output streams on.
    batch_only: bool = False

    @property
    def uses(self) -> str:
        return PREFIX + self.name


def builtin(
    name: str,
    params: Sequence[Param],
    *,
    inputs: Sequence[str] | None = ("input",),
    outputs: Sequence[str] | None = ("output",),
    stream: bool = True,
    stream_inputs: Sequence[str] | None = None,
) -> Callable[[F], F]:
    """Mark a function as the built-in ``trakt.<name>``: it takes polars frames
    (``frame = "polars"``), binds ``inputs`` / ``outputs`` (None: by the naming convention)
    and streams when ``stream``."""

    def mark(fn: F) -> F:
        target: Any = fn
        target.frame = "polars"
        target.supports_stream = stream
        if inputs is not None:
            target.declared_inputs = list(inputs)
        if outputs is not None:
            target.declared_outputs = list(outputs)
        if stream_inputs is not None:
            target.stream_inputs = list(stream_inputs)
        target.builtin = BuiltinSpec(name, tuple(params), batch_only=not stream)
        return fn

    return mark


def spec_of(fn: Callable[..., Any]) -> BuiltinSpec | None:
    """The built-in declaration of a step function, or None for any other step."""
    spec = getattr(fn, "builtin", None)
    return spec if isinstance(spec, BuiltinSpec) else None
