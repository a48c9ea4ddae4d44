"""Run a pipeline on this machine, in batch mode (whole DataFrames) or stream mode (chunks)."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trakt._version import __version__
from trakt.errors import (
    OutputConflict,
    PipelineValidationError,
    UsageError,
    did_you_mean,
)
from trakt.io.locations import is_store, local_path, redacted
from trakt.model.model import Pipeline
from trakt.runtime.batch import BatchExecution
from trakt.runtime.datasets import override_format
from trakt.runtime.execution import RunSettings
from trakt.runtime.manifest import Manifest, write_json_atomic
from trakt.runtime.outdir import (
    TEMP_PREFIX,
    foreign_file,
    stale_run,
    unusable_manifest_path,
)
from trakt.runtime.output_location import LocalOutputDir
from trakt.runtime.planning import ExecutionPlan, plan_pipeline
from trakt.runtime.stream import StreamExecution

# Rows per chunk in stream mode; see benchmarks/stream_memory.py for the measurement.
DEFAULT_CHUNK_SIZE = 50_000

log = logging.getLogger("trakt.runner")
RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")

__all__ = ["DEFAULT_CHUNK_SIZE", "TEMP_PREFIX", "LocalRunner", "new_run_id"]


def new_run_id() -> str:
    """A sortable, timestamp-based run id such as ``20261126T181902Z-3fa9c1``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class LocalRunner:
    """Executes validated pipelines locally.

    ``input_dir`` anchors relative input uris; outputs go to ``output_dir`` (created if absent)
    as ``<name>.csv``; the manifest goes to ``manifest_path`` (default
    ``<output_dir>/manifest.json``). ``input_overrides`` maps an input artifact to a file or
    glob that replaces its uri (relative paths are taken from the current directory).
    ``stream_chunk_size`` is the number of rows per chunk in stream mode.
    """

    def __init__(
        self,
        input_dir: str | os.PathLike[str] = ".",
        output_dir: str | os.PathLike[str] = "output",
        *,
        manifest_path: str | os.PathLike[str] | None = None,
        input_overrides: Mapping[str, str] | None = None,
        stream_chunk_size: int | None = None,
        on_start: Callable[[Manifest], None] | None = None,
        column_summaries: bool = True,
    ) -> None:
        if stream_chunk_size is not None and stream_chunk_size < 1:
            raise UsageError(f"stream_chunk_size must be at least 1, got {stream_chunk_size}")
        self.input_dir = _local_dir(
            input_dir,
            "input dir",
            "give the input's uri in full instead (e.g. uri: s3://bucket/data/*)",
        )
        self.output_dir = _local_dir(output_dir, "output dir", "write to a local directory")
        self.manifest_path = (
            _local_dir(manifest_path, "manifest path", "write it to a local file")
            if manifest_path
            else self.output_dir / "manifest.json"
        )
        self.input_overrides = dict(input_overrides or {})
        self.stream_chunk_size = stream_chunk_size or DEFAULT_CHUNK_SIZE
        # Called with the live manifest when a run starts (progress displays read it).
        self.on_start = on_start
        self.column_summaries = column_summaries

    def run(
        self, pipeline: Pipeline, run_id: str | None = None, otel_enabled: bool = False
    ) -> dict[str, Any]:
        """Run ``pipeline``; return ``status``, ``run_id``, ``manifest_path``, ``outputs``...

        An invalid pipeline raises :class:`PipelineValidationError` (after writing a manifest
        with status ``invalid``); a run that fails returns ``status: failed`` and ``error``.
        """
        if run_id is not None and not RUN_ID.fullmatch(run_id):
            raise UsageError(
                f"run id {run_id!r}: use letters, digits, '.', '_' and '-' (at most 128, not "
                "starting with '.' or '-'); it becomes part of file names in the output dir"
            )
        otel_context = None
        if otel_enabled:
            from trakt.runtime.tracing import require_otel

            require_otel()
            from opentelemetry import context

            otel_context = context.get_current()  # a span the caller has open is the parent
        manifest = Manifest(
            run_id=run_id or new_run_id(),
            pipeline={
                "name": pipeline.name,
                "file": pipeline.source.file,
                "sha256": pipeline.source.sha256,
            },
            mode=pipeline.mode,
            trakt_version=__version__,
        )
        # Absolute from here on: a step that calls os.chdir moves nothing of this run.
        settings = RunSettings(
            self.input_dir.absolute(),
            LocalOutputDir(self.output_dir.absolute()),
            self.manifest_path.absolute(),
            self.input_overrides,
            self.stream_chunk_size,
            otel_context,
            otel_enabled,
            self.column_summaries,
            shown_output_dir=str(self.output_dir),
            shown_manifest_path=str(self.manifest_path),
            start_dir=Path.cwd(),
        )
        settings.output.create()
        with settings.output.locked(manifest.run_id):
            return self._run_locked(pipeline, manifest, settings)

    def _run_locked(
        self, pipeline: Pipeline, manifest: Manifest, settings: RunSettings
    ) -> dict[str, Any]:
        unusable = unusable_manifest_path(settings.manifest_path, settings.output_dir)
        if unusable:
            raise UsageError(
                f"--manifest-path {self.manifest_path}: {unusable}; choose another manifest path",
                file=str(self.manifest_path),
            )
        recovered = settings.output.recover()
        if recovered:
            manifest.publish_recovery = recovered
        stale = stale_run(settings.manifest_path)
        if stale:
            manifest.stale_run = stale
            log.warning(
                "the previous run %s in %s never finished (killed?); its leftovers are removed",
                stale["run_id"],
                self.output_dir,
                extra={"stale_run": True},
            )
        removed = settings.output.remove_leftovers()
        if removed:
            manifest.removed_leftovers = removed
        try:
            plan = plan_pipeline(pipeline)
            self._check_overrides(plan)
        except (PipelineValidationError, UsageError) as exc:
            manifest.finish("invalid", exc.to_dict())
            # never over an output, a step module or the pipeline file named by mistake
            if not (foreign_file(settings.manifest_path) or self._is_pipeline_file(pipeline)):
                write_json_atomic(settings.manifest_path, manifest.to_dict())
            raise
        execution = (StreamExecution if plan.mode == "stream" else BatchExecution)(
            settings, plan, manifest
        )
        try:
            execution.refuse_overwrites_early()
        except OutputConflict as exc:
            if exc.fields.get("target") != "manifest":  # never write over the input itself
                manifest.finish("invalid", exc.to_dict())
                write_json_atomic(settings.manifest_path, manifest.to_dict())
            raise
        self._refuse_replacing_other_files(pipeline)
        # Written first as `running`: a run killed outright leaves this for the next to report.
        write_json_atomic(settings.manifest_path, manifest.to_dict())
        if self.on_start is not None:
            self.on_start(manifest)
        result = execution.execute()
        if stale:
            result["stale_run"] = stale
        if recovered:
            result["publish_recovery"] = recovered
        return result

    def record_invalid(
        self, error: PipelineValidationError, pipeline_file: str | None, run_id: str | None
    ) -> str:
        """Write an ``invalid`` manifest for a pipeline that failed to load; return its path
        (or why it was not written: the path holds a file that is not a manifest)."""
        manifest = Manifest(
            run_id=run_id or new_run_id(),
            pipeline={"name": None, "file": pipeline_file, "sha256": None},
            mode=None,
            trakt_version=__version__,
        )
        manifest.finish("invalid", error.to_dict())
        output = LocalOutputDir(self.output_dir.absolute())
        output.create()
        with output.locked(manifest.run_id):
            recovered = output.recover()
            if recovered:  # a killed publish is settled whatever this run turns out to be
                manifest.publish_recovery = recovered
            unusable = unusable_manifest_path(self.manifest_path, self.output_dir)
            if unusable:
                return f"not written: {self.manifest_path}: {unusable}"
            if foreign_file(self.manifest_path):
                return f"not written: {self.manifest_path} holds a file that is not a manifest"
            write_json_atomic(self.manifest_path, manifest.to_dict())
        return str(self.manifest_path)

    def _refuse_replacing_other_files(self, pipeline: Pipeline) -> None:
        """The manifest replaces only an earlier manifest: never the pipeline file, a step
        module or any other file that is there (before anything runs: exit 2)."""
        path = self.manifest_path
        is_pipeline = self._is_pipeline_file(pipeline)
        # a link there is replaced by the rename, its target kept: only a file of its own counts
        if is_pipeline or (not path.is_symlink() and foreign_file(path)):
            what = "the pipeline file itself" if is_pipeline else "a file that is not a manifest"
            raise OutputConflict(
                f"--manifest-path {path} is {what}; the manifest would replace it: choose "
                "another --manifest-path (or remove that file if it is not needed)",
                file=str(path),
                target="manifest",
            )

    def _is_pipeline_file(self, pipeline: Pipeline) -> bool:
        source = pipeline.source.file
        try:  # lstat: a link at the manifest path is replaced, never written through
            mine, theirs = os.lstat(self.manifest_path), os.stat(source) if source else None
        except OSError:  # not there (yet): not the pipeline file
            return False
        return theirs is not None and (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)

    def _check_overrides(self, plan: ExecutionPlan) -> None:
        for name in self.input_overrides:
            if name not in plan.inputs:
                raise UsageError(
                    f"--input {name}=...: the pipeline has no input '{name}'"
                    f"{did_you_mean(name, plan.inputs)}; inputs: {', '.join(plan.inputs)}"
                )
            override_format(plan.inputs[name], self.input_overrides[name])


def _local_dir(value: str | os.PathLike[str], what: str, fix: str) -> Path:
    """A local path (a ``file://`` URI made one); a store URI is refused: the local runner's
    outputs and manifest are published by rename under a lock, which stores do not offer."""
    text = os.fspath(value)
    if is_store(text):
        raise UsageError(
            f"{what} {redacted(text)}: a store location is not supported here yet (only input "
            f"uris may name a store); {fix}"
        )
    return Path(local_path(text))
