"""The step alias registry: ``trakt.register_step`` and the ``trakt.steps`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar, overload

from trakt.errors import RegistryError

ENTRY_POINT_GROUP = "trakt.steps"

F = TypeVar("F", bound=Callable[..., Any])

_aliases: dict[str, Callable[..., Any]] = {}
_origins: dict[str, str] = {}
_entry_points_loaded = False


def _origin(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _add(alias: str, fn: Callable[..., Any], origin: str) -> None:
    if not alias or not isinstance(alias, str):
        raise RegistryError(f"step alias must be a non-empty string, got {alias!r}")
    if not callable(fn):
        raise RegistryError(f"step alias '{alias}': expected a callable, got {type(fn).__name__}")
    existing = _aliases.get(alias)
    if existing is not None and existing is not fn:
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
    raises :class:`~trakt.errors.RegistryError`.
    """
    if fn is None:

        def decorator(func: F) -> F:
            _add(alias, func, _origin(func))
            return func

        return decorator
    _add(alias, fn, _origin(fn))
    return fn


def unregister_step(alias: str) -> None:
    """Remove an alias (mainly for tests)."""
    _aliases.pop(alias, None)
    _origins.pop(alias, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            fn = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            raise RegistryError(
                f"entry point '{ep.name} = {ep.value}' in group '{ENTRY_POINT_GROUP}' "
                f"failed to load: {type(exc).__name__}: {exc}",
                alias=ep.name,
            ) from exc
        dist = getattr(ep, "dist", None)
        _add(ep.name, fn, f"entry point of {getattr(dist, 'name', '?')} ({ep.value})")


def lookup_alias(alias: str) -> Callable[..., Any] | None:
    _load_entry_points()
    return _aliases.get(alias)


def registered_aliases() -> list[str]:
    _load_entry_points()
    return sorted(_aliases)
