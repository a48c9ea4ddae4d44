"""Built-in steps: ``uses: trakt.<name>``, polars transformations needing no Python.

The registry maps each name to the module and function that implement it; a module is
imported only when a pipeline names one of its steps, so ``import trakt`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from trakt.steps.builtins.spec import PREFIX

# name -> (module under trakt.steps.builtins, function)
REGISTRY: dict[str, tuple[str, str]] = {
    "select": ("columns", "select"),
    "rename": ("columns", "rename"),
    "cast": ("columns", "cast"),
    "derive": ("columns", "derive"),
    "filter": ("rows", "filter_rows"),
    "dedupe": ("rows", "dedupe"),
    "sort": ("rows", "sort"),
    "join": ("join", "join"),
    "aggregate": ("aggregate", "aggregate"),
    "sql": ("sql", "sql"),
}


def builtin_names() -> list[str]:
    """Every built-in's ``uses:`` name (``trakt.select``, ...), in the registry's order."""
    return [PREFIX + name for name in REGISTRY]


def is_builtin_name(uses: str) -> bool:
    """Whether ``uses`` is in the built-ins' namespace (``trakt.<name>``)."""
    return uses.startswith(PREFIX) and "." not in uses[len(PREFIX) :]


def lookup_builtin(uses: str) -> Callable[..., Any] | None:
    """The step function of built-in ``uses`` (``trakt.select``), or None."""
    if not uses.startswith(PREFIX) or uses[len(PREFIX) :] not in REGISTRY:
        return None
    module_name, attr = REGISTRY[uses[len(PREFIX) :]]
    module = importlib.import_module(f"{__name__}.{module_name}")
    fn: Callable[..., Any] = getattr(module, attr)
    return fn
