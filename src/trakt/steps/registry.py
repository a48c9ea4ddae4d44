"""The step alias registry: ``trakt.register_step`` and the ``trakt.steps`` entry-point group."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar, overload

from trakt.errors import RegistryError

ENTRY_POINT_GROUP = "trakt.steps"

F = TypeVar("F", bound=Callable[..., Any])

_aliases: dict[str, Callable[..., Any]] = {}
_origins: dict[str, str] = {}
_entry_points_loaded = False
_broken: dict[str, str] = {}  # entry-point alias -> why it failed to load


def _origin(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _add(alias: str, fn: Callable[..., Any], origin: str, replace: bool = False) -> None:
    if not alias or not isinstance(alias, str):
        raise RegistryError(f"step alias must be a non-empty string, got {alias!r}")
    if not callable(fn):
        raise RegistryError(f"step alias '{alias}': expected a callable, got {type(fn).__name__}")
    existing = _aliases.get(alias)
    if existing is not None and existing is not fn and replace:
        # Re-running a notebook cell or re-importing a module registers a new function object.
        warnings.warn(
            f"step alias '{alias}' (registered by {_origins[alias]}) is replaced by {origin}",
            RuntimeWarning,
            stacklevel=3,
        )
    elif existing is not None and existing is not fn:
        raise RegistryError(
            f"step alias '{alias}' is already registered by {_origins[alias]}; "
            f"{origin} tried to register it again. Pick another alias.",
            alias=alias,
        )
    _aliases[alias] = fn
    _origins[alias] = origin


@overload
def register_step(alias: str) -> Callable[[F], F]: ...
@overload
def register_step(alias: str, fn: F) -> F: ...
def register_step(alias: str, fn: Any = None) -> Any:
    """Register ``fn`` under ``alias`` for use in ``uses:``; also usable as ``@register_step("x")``.

    Registering the same function twice is harmless; a different function under a taken alias
    replaces it with a :class:`RuntimeWarning` (re-running a notebook cell redefines the
    function). An installed entry point that clashes with an alias is an error on lookup.
    """
    if fn is None:

        def decorator(func: F) -> F:
            _add(alias, func, _origin(func), replace=True)
            return func

        return decorator
    _add(alias, fn, _origin(fn), replace=True)
    return fn


def unregister_step(alias: str) -> None:
    """Remove an alias (mainly for tests)."""
    _aliases.pop(alias, None)
    _origins.pop(alias, None)
    _broken.pop(alias, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        origin = f"entry point of {getattr(dist, 'name', '?')} ({ep.value})"
        try:
            fn = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            _broken[ep.name] = (
                f"entry point '{ep.name} = {ep.value}' in group '{ENTRY_POINT_GROUP}' "
                f"failed to load: {type(exc).__name__}: {exc}"
            )
            continue
        try:
            _add(ep.name, fn, origin)
        except RegistryError as exc:
            _broken[ep.name] = exc.message


def lookup_alias(alias: str) -> Callable[..., Any] | None:
    """The function registered under ``alias``; a plugin that failed to load raises here."""
    _load_entry_points()
    if alias in _broken:
        raise RegistryError(_broken[alias], alias=alias)
    return _aliases.get(alias)


def registered_aliases() -> list[str]:
    _load_entry_points()
    return sorted(_aliases)
