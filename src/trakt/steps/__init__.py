"""Step resolution: aliases, module paths, entry points, and the binding contract."""

from trakt.steps.binding import Bindings, bind
from trakt.steps.registry import register_step, registered_aliases, unregister_step
from trakt.steps.resolve import StepFunction, describe, resolve_step

__all__ = [
    "Bindings",
    "StepFunction",
    "bind",
    "describe",
    "register_step",
    "registered_aliases",
    "resolve_step",
    "unregister_step",
]
