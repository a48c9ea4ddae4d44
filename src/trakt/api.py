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
    ``file:line:column`` and the YAML path. ``${env:VAR}`` references in string values are
    expanded from the environment first (:mod:`trakt.model.interpolate`).
    """
    data, source, problems = read_pipeline_file(path)
    parsed = parse_spec(data, source)
    problems = [*problems, *parsed.problems]
    pipeline = Pipeline(spec=parsed.spec, source=source) if parsed.spec is not None else None
    if pipeline is not None:
        _, semantic = check_pipeline(pipeline, parsed)  # the plan is kept for its run
        problems += semantic
    if problems or pipeline is None:
        # A value from ${env:X} may be a secret: messages show the reference instead.
        raise PipelineValidationError(source.conceal(problems), file=source.file)
    return pipeline


def validate_pipeline_file(path: str | os.PathLike[str]) -> Pipeline:
    """Alias of :func:`load_pipeline_from_yaml`, named for what ``trakt validate`` does."""
    return load_pipeline_from_yaml(path)
