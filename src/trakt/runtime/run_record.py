"""What the manifest's ``pipeline`` section says about how this run was configured: the
params it used (a value from ``${env:...}`` as its reference), the paths ``--set`` changed,
and how a partial run was cut."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trakt.model.model import Pipeline
from trakt.model.params import recorded
from trakt.runtime.manifest import json_safe

if TYPE_CHECKING:
    from trakt.runtime.selection import Selection


def run_record(pipeline: Pipeline, selection: Selection | None = None) -> dict[str, Any]:
    """``params``, ``set`` and ``selection`` for the manifest's ``pipeline`` (each only if any)."""
    out: dict[str, Any] = {}
    if pipeline.spec.params:
        out["params"] = json_safe(recorded(pipeline.spec.params, pipeline.source.expanded))
    if pipeline.source.overridden:
        out["set"] = sorted(set(pipeline.source.overridden.values()))
    if selection is not None and (selection.skipped or selection.kept):
        out["selection"] = selection.record()
    return out
