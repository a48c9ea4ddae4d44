"""What a built-in step declares: its ``with:`` parameters (name, kind, required) and how
its function is marked for the engine (``frame``, bindings, streaming).

Light on purpose (no polars): ``trakt validate`` checks ``with:`` keys and types from these
declarations before any data library is imported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from trakt.errors import StepError

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "trakt."

# The attribute that marks a LazyFrame as a scan of an input file (trakt.runtime.scans): a
# built-in extends it lazily, so the file streams through polars once. Here, not in chunks,
# so the runtime names it without importing polars.
SCANNED = "_trakt_scanned"
# Set beside it: a callable taking the query's row count, for a built-in that collects the
# whole query itself (trakt.aggregate), so the runtime need not run it again to count.
ROWS = "_trakt_rows"


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
    stateful: bool = False,
    lazy: bool = False,
    keeps_rows: bool = False,
) -> Callable[[F], F]:
    """Mark a function as the built-in ``trakt.<name>``: it takes polars frames
    (``frame = "polars"``), binds ``inputs`` / ``outputs`` (None: by the naming convention),
    streams when ``stream``, keeps state across chunks when ``stateful`` (a distributed
    runner then feeds it every chunk in order, on one partition), extends a scanned
    input's query when ``lazy`` (trakt.runtime.scans), and gives out as many rows as it
    takes when ``keeps_rows`` (a scan's row counts need no query of their own)."""

    def mark(fn: F) -> F:
        target: Any = _guarded(fn, PREFIX + name)
        target.frame = "polars"
        target.supports_stream = stream
        target.stateful = stateful
        target.lazy = lazy
        target.keeps_rows = keeps_rows
        if inputs is not None:
            target.declared_inputs = list(inputs)
        if outputs is not None:
            target.declared_outputs = list(outputs)
        if stream_inputs is not None:
            target.stream_inputs = list(stream_inputs)
        target.builtin = BuiltinSpec(name, tuple(params), batch_only=not stream)
        guarded: F = target
        return guarded

    return mark


def _guarded(fn: Callable[..., Any], uses: str) -> Callable[..., Any]:
    """``fn`` with polars' failures (in the call, or while its chunks are pulled) worded as
    the step's: the first paragraph of polars' message, naming the step and the built-in."""

    @functools.wraps(fn)
    def step(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(ctx, *args, **kwargs)
        except Exception as exc:
            raise _failure(ctx, uses, exc) from None
        if isinstance(result, dict):
            return {
                k: _pulled(ctx, uses, v) if isinstance(v, Iterator) else v
                for k, v in result.items()
            }
        return result

    return step


def _pulled(ctx: Any, uses: str, chunks: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from chunks  # closing this closes the step's own generator
    except Exception as exc:
        raise _failure(ctx, uses, exc) from None


def _failure(ctx: Any, uses: str, exc: Exception) -> Exception:
    """A polars error as a :class:`StepError` (the engine reports a StepError's cause in its
    place, so polars' is not chained: its second paragraph is polars' query plan); anything
    else as it is."""
    if not type(exc).__module__.startswith("polars"):
        return exc
    text = str(exc).split("\n\n")[0].strip()
    step_id = getattr(ctx, "step_id", None)
    who = f"step '{step_id}' ({uses})" if step_id else uses
    return StepError(
        f"{who} failed: {text} (polars {type(exc).__name__})",
        step_id=step_id,
        exception_type=type(exc).__name__,
    )


def spec_of(fn: Callable[..., Any]) -> BuiltinSpec | None:
    """The built-in declaration of a step function, or None for any other step."""
    spec = getattr(fn, "builtin", None)
    return spec if isinstance(spec, BuiltinSpec) else None
