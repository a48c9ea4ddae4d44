"""The Python entry points: load (and fully validate) a pipeline file."""

from __future__ import annotations

import os

from trakt.errors import PipelineValidationError
from trakt.model.loader import parse_spec, read_pipeline_file
from trakt.model.model import Pipeline
from trakt.runtime.planning import check_pipeline


def load_pipeline_from_yaml(path: str | os.PathLike[str]) -> Pipeline:
    """Load a pipeline file and check all of it before any data is read.

    Every problem — YAML structure, unknown keys, unresolvable steps, bindings, artifacts,
    cycles — is collected and raised at once as :class:`PipelineValidationError`, each with
    ``file:line:column`` and the YAML path.
    """
    data, source, problems = read_pipeline_file(path)
    parsed = parse_spec(data, source)
    problems = [*problems, *parsed.problems]
    if parsed.spec is not None:
        _, semantic = check_pipeline(Pipeline(spec=parsed.spec, source=source), parsed)
        problems += semantic
    if problems or parsed.spec is None:
        raise PipelineValidationError(problems, file=source.file)
    return Pipeline(spec=parsed.spec, source=source)


def validate_pipeline_file(path: str | os.PathLike[str]) -> Pipeline:
    """Alias of :func:`load_pipeline_from_yaml`, named for what ``trakt validate`` does."""
    return load_pipeline_from_yaml(path)
