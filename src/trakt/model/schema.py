"""The JSON Schema of a pipeline file, generated from the pydantic models of :mod:`.model`.

Editors use it to complete and check ``pipeline.yaml`` as it is typed (``# yaml-language-server:
$schema=...``). It states the structure only: keys, types, allowed values, required keys. What
needs the whole pipeline or the code (a step that does not resolve, an artifact nothing
produces, a cycle, a format's options) and the models' own validators (``max_bad_lines``' range,
``min``/``max`` on a string column) are checked by ``trakt validate`` alone.
"""

from __future__ import annotations

from typing import Any

from trakt.model.model import PipelineSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "Trakt pipeline"
DESCRIPTION = (
    "A Trakt pipeline file (pipeline.yaml): inputs read into artifacts, steps that turn "
    "artifacts into artifacts, outputs written from artifacts. Structure only: `trakt validate` "
    "also resolves steps and checks bindings, artifacts, cycles and formats."
)


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a pipeline file, keys as written in YAML."""
    generated = PipelineSpec.model_json_schema(by_alias=True, mode="validation")
    generated.pop("title", None)
    generated.pop("description", None)
    return {"$schema": DIALECT, "title": TITLE, "description": DESCRIPTION, **generated}
