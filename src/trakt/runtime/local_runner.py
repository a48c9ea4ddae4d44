"""Run a pipeline on this machine: whole pandas DataFrames (batch mode)."""

from __future__ import annotations

import logging
import os
import secrets
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from trakt._version import __version__
from trakt.errors import (
    OutputError,
    PipelineValidationError,
    StepError,
    TraktError,
    UsageError,
    did_you_mean,
)
from trakt.io import get_format
from trakt.io.csv import preload_writer
from trakt.io.frames import to_pandas
from trakt.io.sources import read_combined, resolve_files
from trakt.runtime.context import make_context
from trakt.runtime.manifest import Manifest, StepRecord, write_json_atomic
from trakt.runtime.planning import ExecutionPlan, StepPlan, plan_pipeline
from trakt.spec.model import Pipeline

log = logging.getLogger("trakt.runner")

TEMP_PREFIX = ".trakt-tmp-"
DEFAULT_CHUNK_SIZE = 100_000


def new_run_id() -> str:
    """A sortable, timestamp-based run id such as ``20261126T181902Z-3fa9c1``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class LocalRunner:
    """Executes validated pipelines locally.

    ``input_dir`` anchors relative input uris; outputs go to ``output_dir`` (created if absent)
    as ``<name>.csv``; the manifest goes to ``manifest_path`` (default
    ``<output_dir>/manifest.json``). ``input_overrides`` maps an input artifact to a file or
    glob that replaces its uri (relative paths are taken from the current directory).
    """

    def __init__(
        self,
        input_dir: str | os.PathLike[str] = ".",
        output_dir: str | os.PathLike[str] = "output",
        *,
        manifest_path: str | os.PathLike[str] | None = None,
        input_overrides: Mapping[str, str] | None = None,
        stream_chunk_size: int | None = None,
    ) -> None:
        if stream_chunk_size is not None and stream_chunk_size < 1:
            raise UsageError(f"stream_chunk_size must be at least 1, got {stream_chunk_size}")
        self.input_dir = Path(input_dir)
        self.output_dir = Path(output_dir)
        self.manifest_path = (
            Path(manifest_path) if manifest_path else self.output_dir / "manifest.json"
        )
        self.input_overrides = dict(input_overrides or {})
        self.stream_chunk_size = stream_chunk_size or DEFAULT_CHUNK_SIZE

    def run(
        self, pipeline: Pipeline, run_id: str | None = None, otel_enabled: bool = False
    ) -> dict[str, Any]:
        """Run ``pipeline``; return ``status``, ``run_id``, ``manifest_path``, ``outputs``...

        An invalid pipeline raises :class:`PipelineValidationError` (after writing a manifest
        with status ``invalid``); a run that fails returns ``status: failed`` and ``error``.
        """
        if otel_enabled:
            raise UsageError("otel_enabled=True: OpenTelemetry support is not built yet")
        run_id = run_id or new_run_id()
        manifest = Manifest(
            run_id=run_id,
            pipeline={
                "name": pipeline.name,
                "file": pipeline.source.file,
                "sha256": pipeline.source.sha256,
            },
            mode=pipeline.mode,
            trakt_version=__version__,
        )
        self._prepare_output_dir()
        try:
            plan = plan_pipeline(pipeline)
            self._check_overrides(plan)
        except (PipelineValidationError, UsageError) as exc:
            manifest.finish("invalid", exc.to_dict())
            write_json_atomic(self.manifest_path, manifest.to_dict())
            raise
        if plan.mode == "stream":
            not_yet = UsageError("execution.mode: stream is validated but not executable yet")
            manifest.finish("invalid", not_yet.to_dict())
            write_json_atomic(self.manifest_path, manifest.to_dict())
            raise not_yet
        return _BatchRun(self, plan, manifest).execute()

    def _prepare_output_dir(self) -> None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create output dir {self.output_dir}: {exc.strerror or exc}",
                file=str(self.output_dir),
            ) from None

    def _check_overrides(self, plan: ExecutionPlan) -> None:
        for name in self.input_overrides:
            if name not in plan.inputs:
                raise UsageError(
                    f"--input {name}=...: the pipeline has no input '{name}'"
                    f"{did_you_mean(name, plan.inputs)}; inputs: {', '.join(plan.inputs)}"
                )


class _BatchRun:
    """One execution of a plan: artifacts in memory, outputs to temporary files until success."""

    def __init__(self, runner: LocalRunner, plan: ExecutionPlan, manifest: Manifest) -> None:
        self.runner = runner
        self.plan = plan
        self.manifest = manifest
        self.artifacts: dict[str, pd.DataFrame] = {}
        self.pending: dict[str, Path] = {}  # dataset name -> temporary file
        self.written: set[str] = set()

    def execute(self) -> dict[str, Any]:
        runner, manifest = self.runner, self.manifest
        if self.plan.outputs:
            preload_writer()
        try:
            self._write_ready_outputs()
            for position, step in enumerate(self.plan.steps):
                self._run_step(step)
                self._write_ready_outputs()
                for artifact in self.plan.release_after.get(position, ()):
                    self.artifacts.pop(artifact, None)
            self._publish()
            manifest.finish("success")
        except TraktError as exc:
            manifest.finish("failed", _error_dict(exc))
        except Exception as exc:  # a bug in Trakt itself: still leave a manifest
            manifest.finish("failed", {**_error_dict(exc), "internal": True})
        finally:
            self._discard_pending()
            self.artifacts.clear()
        write_json_atomic(runner.manifest_path, manifest.to_dict())
        return {
            "status": manifest.status,
            "run_id": manifest.run_id,
            "manifest_path": str(runner.manifest_path),
            "outputs": {o["name"]: o["path"] for o in manifest.outputs}
            if manifest.status == "success"
            else {},
            "error": manifest.error,
            "duration_s": manifest.duration_s,
        }

    # --- inputs -------------------------------------------------------------------------

    def _artifact(self, artifact: str) -> pd.DataFrame:
        if artifact not in self.artifacts and artifact in self.plan.inputs:
            self.artifacts[artifact] = self._load_input(artifact)
        return self.artifacts[artifact]

    def _load_input(self, artifact: str) -> pd.DataFrame:
        spec = self.plan.inputs[artifact].spec
        override = self.runner.input_overrides.get(artifact)
        uri, base = (override, Path.cwd()) if override else (spec.uri, self.runner.input_dir)
        fmt = get_format(self.plan.inputs[artifact].format)
        files = resolve_files(artifact, uri, base)
        options = dict(spec.options)
        if spec.source_column:
            options["source_column"] = spec.source_column
        table = read_combined(artifact, fmt, files, spec.combine_strategy, options, spec.sheet)
        frame = to_pandas(table)
        self.manifest.inputs[artifact] = {
            "uri": uri,
            "format": fmt.name,
            "combine_strategy": spec.combine_strategy,
            "files": [{"path": f.shown, "bytes": f.size} for f in files],
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
        }
        return frame

    # --- steps --------------------------------------------------------------------------

    def _run_step(self, step: StepPlan) -> None:
        record = StepRecord(step.id, step.uses)
        self.manifest.steps.append(record)
        record.start()
        ctx = make_context(self.manifest.run_id, self.plan.pipeline.name, step.id)
        try:
            frames = {b: self._artifact(a).copy(deep=False) for b, a in step.inputs.items()}
            record.rows_in = {b: len(f) for b, f in frames.items()}
            try:
                result = step.function.fn(ctx, **frames, **step.outputs, **step.params)
            except Exception as exc:
                raise StepError(
                    f"step '{step.id}' raised {type(exc).__name__}: {exc}",
                    step_id=step.id,
                    exception_type=type(exc).__name__,
                ) from exc
            produced = _check_result(step, result)
        except BaseException as exc:
            if isinstance(exc, TraktError):
                exc.fields.setdefault("step_id", step.id)
            record.finish("failed")
            record.events = [e.to_dict() for e in ctx.events]
            raise
        for binding, frame in produced.items():
            self.artifacts[step.outputs[binding]] = frame
        record.rows_out = {b: len(f) for b, f in produced.items()}
        record.events = [e.to_dict() for e in ctx.events]
        record.finish("success")

    # --- outputs ------------------------------------------------------------------------

    def _write_ready_outputs(self) -> None:
        """Write each output as soon as its artifact exists, so memory can be released."""
        for dataset in self.plan.outputs:
            if dataset.name in self.written:
                continue
            if dataset.from_ in self.plan.inputs or dataset.from_ in self.artifacts:
                frame = self._artifact(dataset.from_)
                path = (
                    self.runner.output_dir
                    / f"{TEMP_PREFIX}{self.manifest.run_id}-{dataset.name}.csv"
                )
                self.pending[dataset.name] = path
                get_format("csv").write(frame, path)
                self.written.add(dataset.name)
                self.manifest.outputs.append(
                    {
                        "name": dataset.name,
                        "from": dataset.from_,
                        "path": str(self.runner.output_dir / f"{dataset.name}.csv"),
                        "rows": len(frame),
                        "bytes": path.stat().st_size,
                    }
                )

    def _publish(self) -> None:
        for name, tmp in list(self.pending.items()):
            os.replace(tmp, self.runner.output_dir / f"{name}.csv")
            del self.pending[name]

    def _discard_pending(self) -> None:
        for tmp in self.pending.values():
            tmp.unlink(missing_ok=True)
        self.pending.clear()


def _check_result(step: StepPlan, result: Any) -> dict[str, pd.DataFrame]:
    expected = set(step.outputs)
    if not isinstance(result, Mapping):
        raise StepError(
            f"step '{step.id}' must return a dict of {sorted(expected)} -> DataFrame, "
            f"but returned {type(result).__name__}",
            step_id=step.id,
        )
    missing = sorted(expected - set(result))
    extra = sorted(set(map(str, result)) - expected)
    if missing or extra:
        raise StepError(
            f"step '{step.id}' returned keys {sorted(map(str, result))}; expected "
            f"{sorted(expected)} (missing {missing}, unexpected {extra})",
            step_id=step.id,
        )
    for key, value in result.items():
        if not isinstance(value, pd.DataFrame):
            raise StepError(
                f"step '{step.id}' returned {type(value).__name__} for output '{key}'; "
                "expected a pandas DataFrame",
                step_id=step.id,
            )
    return dict(result)


def _error_dict(exc: BaseException) -> dict[str, Any]:
    cause = exc.__cause__ if isinstance(exc, StepError) and exc.__cause__ else exc
    data: dict[str, Any] = {
        "step_id": None,
        "type": type(cause).__name__,
        "message": exc.message if cause is exc and isinstance(exc, TraktError) else str(cause),
        "traceback": "".join(traceback.format_exception(cause)),
    }
    if isinstance(exc, TraktError):
        data.update({k: v for k, v in exc.fields.items() if k != "exception_type"})
    return data
