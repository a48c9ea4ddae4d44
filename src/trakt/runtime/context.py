"""What a step sees as ``ctx``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str
    message: str
    at: str
    attributes: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "at": self.at, **self.attributes}


@dataclass
class StepContext:
    """Run id, pipeline name, step id, a logger, ``emit_event`` for the manifest, and the
    artifact each input binding reads (``inputs``)."""

    run_id: str
    pipeline_name: str
    step_id: str
    logger: logging.Logger
    events: list[Event] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # binding -> artifact (trakt.sql)

    def emit_event(self, kind: str, message: str, **attributes: Any) -> None:
        """Record an event under this step (``warning``, ``coercion``, ``missing_column``,
        or any kind of your own); attributes must be JSON-serialisable."""
        at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        self.events.append(Event(str(kind), str(message), at, dict(attributes)))
        self.logger.info("event %s: %s", kind, message)


def make_context(
    run_id: str, pipeline_name: str, step_id: str, inputs: dict[str, str] | None = None
) -> StepContext:
    logger = logging.getLogger(f"trakt.step.{step_id}")
    return StepContext(run_id, pipeline_name, step_id, logger, inputs=dict(inputs or {}))
