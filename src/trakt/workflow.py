"""Define a pipeline in Python: ``workflow(name).input(...).step(...).output(...).run(runner)``.

The builder assembles the same document a YAML file holds and validates it the same way, so
``workflow(...).build()`` equals ``load_pipeline_from_yaml(...)`` for the same pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trakt.errors import PipelineValidationError, UsageError
from trakt.model.loader import parse_spec
from trakt.model.model import Pipeline, SourceInfo
from trakt.runtime.planning import check_pipeline

if TYPE_CHECKING:
    from trakt.runtime.local_runner import LocalRunner


class Workflow:
    """A pipeline under construction. Every method returns the builder, for chaining."""

    def __init__(self, name: str) -> None:
        self._doc: dict[str, Any] = {"name": name, "inputs": {}, "steps": [], "outputs": {}}
        self._datasets: list[dict[str, Any]] = []
        self._callables: dict[str, Callable[..., Any]] = {}

    def input(
        self,
        artifact: str,
        uri: str,
        *,
        combine_strategy: str | None = None,
        format: str | None = None,
        sheet: str | int | None = None,
        source_column: str | None = None,
        options: Mapping[str, Any] | None = None,
        on_bad_lines: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Workflow:
        entry: dict[str, Any] = {"uri": uri}
        for key, value in (
            ("combine_strategy", combine_strategy),
            ("format", format),
            ("sheet", sheet),
            ("source_column", source_column),
            ("options", dict(options) if options else None),
            ("on_bad_lines", on_bad_lines),
            ("schema", dict(schema) if schema else None),
        ):
            if value is not None:
                entry[key] = value
        self._doc["inputs"][artifact] = entry
        return self

    def step(
        self,
        id: str,
        *,
        run: Callable[..., Any] | None = None,
        uses: str | None = None,
        with_: Mapping[str, Any] | None = None,
        mode: str | None = None,
        timeout_s: float | None = None,
        frame: str | None = None,
    ) -> Workflow:
        if (run is None) == (uses is None):
            raise UsageError(f"step '{id}': pass exactly one of run=<function> or uses='<name>'")
        entry: dict[str, Any] = {"id": id, "with": dict(with_ or {})}
        if run is not None:
            entry["uses"] = f"{run.__module__}.{run.__qualname__}"
            self._callables[id] = run
        else:
            entry["uses"] = uses
        if mode is not None:
            entry["mode"] = mode
        if timeout_s is not None:
            entry["timeout_s"] = timeout_s
        if frame is not None:  # as YAML ``frame:`` (pandas, polars, arrow)
            entry["frame"] = frame
        self._doc["steps"].append(entry)
        return self

    def output(self, name: str, *, from_: str, schema: Mapping[str, Any] | None = None) -> Workflow:
        entry: dict[str, Any] = {"name": name, "from": from_}
        if schema:
            entry["schema"] = dict(schema)
        self._datasets.append(entry)
        return self

    def execution(self, mode: str) -> Workflow:
        self._doc["execution"] = {"mode": mode}
        return self

    def to_dict(self) -> dict[str, Any]:
        """The pipeline as the YAML document it corresponds to."""
        return {**self._doc, "outputs": {"datasets": list(self._datasets)}}

    def build(self) -> Pipeline:
        """Validate and return the pipeline (all problems raised at once)."""
        source = SourceInfo()
        parsed = parse_spec(self.to_dict(), source)
        problems = list(parsed.problems)
        if parsed.spec is not None:
            pipeline = Pipeline(spec=parsed.spec, source=source, callables=dict(self._callables))
            _, semantic = check_pipeline(pipeline, parsed)
            problems += semantic
        if problems or parsed.spec is None:
            raise PipelineValidationError(problems, file=f"workflow '{self._doc['name']}'")
        return pipeline

    def run(
        self, runner: LocalRunner, run_id: str | None = None, otel_enabled: bool = False
    ) -> dict[str, Any]:
        return runner.run(self.build(), run_id=run_id, otel_enabled=otel_enabled)


def workflow(name: str) -> Workflow:
    """Start a pipeline definition in Python."""
    return Workflow(name)
