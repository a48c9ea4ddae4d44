"""``trakt steps``: the registered step aliases and ``trakt.steps`` entry points, described."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from trakt.errors import EXIT_OK, TraktError, UsageError
from trakt.steps.builtins import builtin_names, lookup_builtin
from trakt.steps.builtins.spec import spec_of
from trakt.steps.registry import ENTRY_POINT_GROUP, lookup_alias, registered_aliases
from trakt.steps.resolve import describe

EXAMPLES = f"""\
examples:
  trakt steps                          # aliases from installed packages' {ENTRY_POINT_GROUP}
  trakt steps --json | jq '.[].alias'
  trakt steps --import steps.aliases   # import a module that calls trakt.register_step first

A module step needs no alias: `uses: steps.clean_orders` runs steps/clean_orders.py's run().
An alias comes from trakt.register_step("name") in an imported module, or from a package's
entry point:  [project.entry-points."{ENTRY_POINT_GROUP}"]  name = "package.module:function"
"""


def register(sub: Any) -> None:
    """Add ``steps`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "steps",
        help="list step aliases (trakt.register_step, trakt.steps entry points)",
        description="List the step aliases `uses:` can name, with their bindings and parameters.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="a JSON list, one object per alias")
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (searched on sys.path, then the current dir); repeatable",
    )
    parser.set_defaults(handler=handle)


@contextlib.contextmanager
def _cwd_on_path() -> Iterator[None]:
    """The current dir at the end of sys.path while importing, as step resolution does."""
    here = str(Path.cwd())
    added = here not in sys.path
    if added:
        sys.path.append(here)
    try:
        yield
    finally:
        if added and here in sys.path:
            sys.path.remove(here)


def _import(name: str) -> None:
    with _cwd_on_path():
        try:
            importlib.import_module(name)
        except Exception as exc:  # the user's module: whatever it raised is the message
            raise UsageError(
                f"trakt steps --import {name}: cannot import it: {type(exc).__name__}: {exc}; "
                "check the module name, or run from the directory that holds it",
                module=name,
            ) from exc


def _json_value(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _parameters(fn: Callable[..., Any], bindings: set[str]) -> list[dict[str, Any]]:
    """The step's parameters: named parameters after ``ctx`` that are not bindings."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        {"name": p.name}
        if p.default is inspect.Parameter.empty
        else {"name": p.name, "default": _json_value(p.default)}
        for p in params
        if p.kind in named and p.name not in bindings
    ]


def _bindings(fn: Callable[..., Any], declared: tuple[str, ...] | None, prefix: str) -> set[str]:
    if declared is not None:
        return set(declared)
    try:
        names = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    return {n for n in names if n == prefix or n.startswith(prefix + "_")}


def describe_alias(alias: str, sources: dict[str, str]) -> dict[str, Any]:
    """One alias as a JSON-ready dict; a plugin that fails to load gives its ``error``."""
    entry: dict[str, Any] = {"alias": alias, "source": sources.get(alias, "register_step")}
    try:
        fn = lookup_alias(alias)
        if fn is None:
            raise UsageError(f"alias '{alias}' is not registered")
        step = describe(fn, f"alias '{alias}'")
    except TraktError as exc:
        return {**entry, "error": exc.message}
    if alias not in sources:
        entry["source"] = (
            f"register_step: {getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
        )
    ins = _bindings(fn, step.declared_inputs, "input")
    outs = _bindings(fn, step.declared_outputs, "output")
    doc = inspect.getdoc(fn) or ""
    return {
        **entry,
        "inputs": sorted(ins) if step.declared_inputs is None else list(step.declared_inputs),
        "outputs": sorted(outs) if step.declared_outputs is None else list(step.declared_outputs),
        "declared": step.is_declared,
        "supports_stream": step.supports_stream,
        "parameters": _parameters(fn, ins | outs),
        "accepts_any_keyword": step.accepts_any_keyword,
        "doc": doc.strip().splitlines()[0] if doc.strip() else "",
    }


def describe_builtin(name: str) -> dict[str, Any]:
    """A built-in step (``trakt.select``...) as a JSON-ready dict, like an alias."""
    fn = lookup_builtin(name)
    spec = spec_of(fn) if fn else None
    assert fn is not None and spec is not None, name
    step = describe(fn, f"built-in '{name}'")
    doc = inspect.getdoc(fn) or ""
    return {
        "alias": name,
        "source": "built-in",
        "inputs": list(step.declared_inputs or ["input", "input_<name>"]),
        "outputs": list(step.declared_outputs or ["output"]),
        "declared": step.is_declared,
        "supports_stream": step.supports_stream,
        "parameters": [
            {"name": p.name, "required": p.required, "expects": p.kind.text, "doc": p.doc}
            for p in spec.params
        ],
        "accepts_any_keyword": False,
        "doc": doc.strip().splitlines()[0] if doc.strip() else "",
    }


def list_steps() -> list[dict[str, Any]]:
    """The built-in steps, then every registered alias and ``trakt.steps`` entry point,
    sorted by alias."""
    sources = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        sources[ep.name] = f"entry point of {getattr(dist, 'name', '?')} ({ep.value})"
    aliases = sorted({*registered_aliases(), *sources})
    builtins = [describe_builtin(name) for name in builtin_names()]
    return builtins + [describe_alias(alias, sources) for alias in aliases]


def _param_text(param: dict[str, Any]) -> str:
    return f"{param['name']}={param['default']!r}" if "default" in param else param["name"]


_NONE_REGISTERED = (
    "no step aliases registered (none from trakt.register_step in an imported module, "
    f"no '{ENTRY_POINT_GROUP}' entry point installed). Module steps need none: "
    "`uses: steps.clean_orders` runs steps/clean_orders.py's run(ctx, ...).\n"
)


def render_text(steps: list[dict[str, Any]]) -> str:
    """The human listing: one block per step (built-ins first)."""
    lines = []
    for step in steps:
        lines.append(f"{step['alias']}  ({step['source']})")
        if "error" in step:
            lines.append(f"    error: {step['error']}")
            continue
        if step["doc"]:
            lines.append(f"    {step['doc']}")
        kind = "declared" if step["declared"] else "by name"
        lines.append(
            f"    inputs: {', '.join(step['inputs']) or '-'}   "
            f"outputs: {', '.join(step['outputs']) or '-'}   ({kind})   "
            f"stream: {'yes' if step['supports_stream'] else 'no'}"
        )
        if step["source"] == "built-in":
            for p in step["parameters"]:
                need = "required" if p["required"] else "optional"
                lines.append(f"    with.{p['name']} ({need}): {p['expects']}; {p['doc']}")
            continue
        params = [_param_text(p) for p in step["parameters"]]
        if step["accepts_any_keyword"]:
            params.append("**kwargs")
        lines.append(f"    parameters: {', '.join(params) or '-'}")
    text = "\n".join(lines) + "\n" if lines else ""
    if not any(step["source"] != "built-in" for step in steps):
        text += _NONE_REGISTERED
    return text


def handle(args: argparse.Namespace) -> int:
    """``trakt steps``: print the listing; the exit code."""
    try:
        for name in args.imports:
            _import(name)
    except UsageError as exc:
        print(f"trakt: {exc.message}", file=sys.stderr)
        return exc.exit_code
    steps = list_steps()
    if args.json:
        print(json.dumps(steps, indent=2))
    else:
        sys.stdout.write(render_text(steps))
    return EXIT_OK
