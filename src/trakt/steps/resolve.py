"""Turning ``uses:`` into a step function.

Order: (0) a built-in step, ``trakt.<name>`` (:mod:`trakt.steps.builtins`); (1) an alias
from the registry; (2) a module whose ``run`` is the step
(``steps.normalize.double_amount`` -> ``steps/normalize/double_amount.py``); (3)
``package.module.function`` where the function's first parameter is ``ctx``. Nothing else is
a step: ``uses: os.system`` is refused, and so is a library's ``run`` that does not take
``ctx`` (``uses: subprocess``). Modules are searched on ``sys.path``, then in the extra
directories given (the pipeline file's directory, then the current directory); a module that
an earlier pipeline loaded from another directory is loaded afresh (see ``fresh_modules``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from trakt.errors import StepResolutionError, did_you_mean
from trakt.model.model import FRAME_LIBRARIES
from trakt.steps.builtins import builtin_names, is_builtin_name, lookup_builtin
from trakt.steps.freshness import fresh_modules, is_library
from trakt.steps.registry import lookup_alias


@dataclass(frozen=True)
class StepFunction:
    """A resolved step callable and what it declares about itself."""

    fn: Callable[..., Any]
    reference: str
    declared_inputs: tuple[str, ...] | None
    declared_outputs: tuple[str, ...] | None
    supports_stream: bool
    stream_inputs: tuple[str, ...] | None
    parameters: frozenset[str]
    accepts_any_keyword: bool
    # The frame library its inputs arrive in (``run.frame``): pandas, polars or arrow.
    frame: str = "pandas"
    # ``run.lazy``: a polars step that takes LazyFrames (an input may arrive as a file scan).
    lazy: bool = False

    @property
    def is_declared(self) -> bool:
        return self.declared_inputs is not None or self.declared_outputs is not None


def _names(value: Any, attr: str, ref: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise StepResolutionError(
            f"{ref}: {attr} must be a list of binding names, found {value!r}", uses=ref
        )
    return tuple(value)


def _frame(value: Any, ref: str) -> str:
    """``run.frame``: one of the frame libraries (None: pandas)."""
    if value is None:
        return "pandas"
    if value not in FRAME_LIBRARIES:
        allowed = ", ".join(repr(f) for f in FRAME_LIBRARIES)
        raise StepResolutionError(
            f"{ref}: run.frame must be one of {allowed}, found {value!r}", uses=ref
        )
    return str(value)


def describe(fn: Callable[..., Any], reference: str) -> StepFunction:
    """Read a callable's declarations and signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        params: list[inspect.Parameter] = []
        any_kw = True
    else:
        params = list(sig.parameters.values())[1:]  # the first parameter is ctx
        any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    named = frozenset(
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )
    return StepFunction(
        fn=fn,
        reference=reference,
        declared_inputs=_names(getattr(fn, "declared_inputs", None), "declared_inputs", reference),
        declared_outputs=_names(
            getattr(fn, "declared_outputs", None), "declared_outputs", reference
        ),
        supports_stream=bool(getattr(fn, "supports_stream", False)),
        stream_inputs=_names(getattr(fn, "stream_inputs", None), "stream_inputs", reference),
        parameters=named,
        accepts_any_keyword=any_kw,
        frame=_frame(getattr(fn, "frame", None), reference),
        lazy=getattr(fn, "lazy", False) is True,
    )


@contextmanager
def _search_path(extra_dirs: Sequence[str | Path]) -> Iterator[None]:
    """Append extra directories to the end of sys.path, so sys.path itself wins."""
    added = []
    for d in extra_dirs:
        text = str(Path(d).resolve())
        if text not in sys.path and text not in added:
            added.append(text)
    sys.path.extend(added)
    try:
        yield
    finally:
        for text in added:
            if text in sys.path:
                sys.path.remove(text)


def _import(name: str) -> tuple[ModuleType | None, str]:
    """Import a module; return it, or None and why it could not be imported."""
    try:
        return importlib.import_module(name), ""
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == name or name.startswith(missing + "."):
            return None, f"no module named '{missing}'"
        return None, f"module '{name}' failed to import: {type(exc).__name__}: {exc}"
    except Exception as exc:  # the user's module raised while importing
        return None, f"module '{name}' failed to import: {type(exc).__name__}: {exc}"


def _takes_ctx(obj: Any) -> bool:
    """Whether ``obj`` is a step function: its first parameter is named ``ctx``."""
    if inspect.isclass(obj):  # calling a class runs its constructor, not a step
        return False
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return bool(params) and params[0].name == "ctx" and params[0].kind in positional


def _standard_library(
    uses: str, top: str, search_dirs: Sequence[str | Path]
) -> StepResolutionError:
    """``uses`` in the standard library: refused without importing it (importing ``this`` or
    ``antigravity`` runs their code), naming a step module it would shadow."""
    shadowed = [
        str(Path(d).resolve() / name)
        for d in search_dirs
        for name in (f"{top}.py", top)
        if (Path(d) / name).exists()
    ]
    hint = (
        f" Your {shadowed[0]} is hidden by the standard library's '{top}'; rename it"
        if shadowed
        else f" Name step modules so they do not clash with the standard library's '{top}'"
    )
    return StepResolutionError(
        f"cannot resolve uses '{uses}': '{top}' is a Python standard-library module, and the "
        f"standard library holds no steps.{hint} (e.g. steps/{top}_step.py), or register an "
        "alias with trakt.register_step.",
        uses=uses,
    )


def resolve_step(uses: str, search_dirs: Sequence[str | Path] = ()) -> StepFunction:
    """Resolve ``uses`` or raise :class:`StepResolutionError` listing every attempt."""
    tried: list[str] = []
    builtin = lookup_builtin(uses)  # built-ins first: `trakt.<name>` never reaches a module
    if builtin is not None:
        return describe(builtin, f"built-in '{uses}'")
    if is_builtin_name(uses):
        tried.append(
            f"built-in '{uses}': no such built-in{did_you_mean(uses, builtin_names())} "
            f"(built-ins: {', '.join(builtin_names())})"
        )
    fn = lookup_alias(uses)
    if fn is not None:
        return describe(fn, f"alias '{uses}'")
    tried.append(f"alias '{uses}': not registered")

    top = uses.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        raise _standard_library(uses, top, search_dirs)
    with _search_path(search_dirs):
        fresh_modules(top, search_dirs)
        module, why = _import(uses)
        if module is not None:
            run = getattr(module, "run", None)
            if callable(run) and (_takes_ctx(run) or not is_library(module)):
                return describe(run, f"{uses}.run")
            why = (
                f"module '{uses}' is a library, not a step module: its 'run' does not take "
                "'ctx' first"
                if callable(run)
                else f"module '{uses}' has no callable 'run'"
            )
        tried.append(f"module '{uses}' exporting run(): {why}")

        if "." in uses:
            mod_name, _, attr = uses.rpartition(".")
            module, why = _import(mod_name)
            if module is not None:
                obj = getattr(module, attr, None)
                if callable(obj) and _takes_ctx(obj):
                    return describe(obj, uses)
                if obj is None:
                    why = f"module '{mod_name}' has no attribute '{attr}'"
                elif callable(obj):
                    why = (
                        f"'{uses}' is not a step: a step function's first parameter is named 'ctx'"
                    )
                else:
                    why = f"'{uses}' is not callable"
            tried.append(f"function '{attr}' in module '{mod_name}': {why}")

    where = ", ".join(dict.fromkeys(str(Path(d).resolve()) for d in search_dirs))
    raise StepResolutionError(
        f"cannot resolve uses '{uses}'. Tried: "
        + "; ".join(tried)
        + f". Searched sys.path{' and ' + where if where else ''}. `uses:` names only steps: "
        "a registered alias, a module exporting run(ctx, ...), or module.function where the "
        "function is def function(ctx, ...). Fix the name, register an alias with "
        "trakt.register_step, or set PYTHONPATH.",
        uses=uses,
    )
