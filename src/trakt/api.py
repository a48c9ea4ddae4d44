"""The Python entry points: load (and fully validate) a pipeline file; run one for a look."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from trakt.errors import PipelineValidationError
from trakt.model.loader import parse_spec, read_pipeline_file
from trakt.model.model import Pipeline
from trakt.model.overrides import Override, note_sets, param_overrides, parse_set
from trakt.runtime.planning import check_pipeline


def load_pipeline_from_yaml(path: str | os.PathLike[str]) -> Pipeline:
    """Load a pipeline file and check all of it before any data is read.

    Every problem — YAML structure, unknown keys, unresolvable steps, bindings, artifacts,
    cycles — is collected and raised at once as :class:`PipelineValidationError`, each with
    ``file:line:column`` and the YAML path. ``${env:VAR}`` and ``${params.x}`` references in
    string values are expanded first (:mod:`trakt.model.interpolate`).
    """
    return load_pipeline(path)


def load_pipeline(
    path: str | os.PathLike[str],
    sets: Sequence[str | Override] = (),
    params: dict[str, Any] | None = None,
) -> Pipeline:
    """:func:`load_pipeline_from_yaml` with ``--set PATH=VALUE`` overrides (``sets``) and
    Python param values (``params``) applied before anything is checked."""
    overrides = [parse_set(s) if isinstance(s, str) else s for s in sets]
    overrides += param_overrides(params or {})
    data, source, problems = read_pipeline_file(path, overrides=overrides)
    parsed = parse_spec(data, source)
    problems = [*problems, *parsed.problems]
    pipeline = Pipeline(spec=parsed.spec, source=source) if parsed.spec is not None else None
    if pipeline is not None:
        _, semantic = check_pipeline(pipeline, parsed)  # the plan is kept for its run
        problems += semantic
    if problems or pipeline is None:
        # A value from ${env:X} may be a secret: messages show the reference instead.
        shown = note_sets(source.conceal(problems), source.overridden)
        raise PipelineValidationError(shown, file=source.file)
    return pipeline


def validate_pipeline_file(path: str | os.PathLike[str]) -> Pipeline:
    """Alias of :func:`load_pipeline_from_yaml`, named for what ``trakt validate`` does."""
    return load_pipeline_from_yaml(path)


def run(
    pipeline_file: str | os.PathLike[str],
    /,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    input_dir: str | os.PathLike[str] | None = None,
    keep: Sequence[str] = (),
    **params: Any,
) -> dict[str, Any]:
    """Run a pipeline file for a quick look (a notebook): ``params`` override its ``params:``.

    Inputs come from ``input_dir`` (default: the file's ``execution.input_dir``, else ``.``);
    outputs go to ``output_dir`` (default: a new temporary directory, named in the result's
    ``output_dir``). ``keep`` names artifacts returned as pandas DataFrames in
    ``result["artifacts"]``. Returns the runner's result dict."""
    import tempfile

    from trakt.runtime.local_runner import LocalRunner
    from trakt.runtime.run_dirs import pipeline_dirs

    pipeline = load_pipeline(pipeline_file, params=params)
    dirs = pipeline_dirs(pipeline, input_dir, output_dir, environ={})
    # Never the file's output_dir: a quick look must not replace a real run's outputs.
    out = dirs.output_dir if output_dir is not None else tempfile.mkdtemp(prefix="trakt-run-")
    runner = LocalRunner(input_dir=dirs.input_dir, output_dir=out)
    result = runner.run(pipeline, keep=keep)
    result["output_dir"] = str(out)
    return result
