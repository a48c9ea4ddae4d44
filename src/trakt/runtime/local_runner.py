"""Run a pipeline on this machine, in batch mode (whole DataFrames) or stream mode (chunks)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
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
from trakt.runtime.environment import run_environment
from trakt.runtime.execution import Execution, RunSettings
from trakt.runtime.keep import check_keep
from trakt.runtime.manifest import Manifest, write_json_atomic
from trakt.runtime.outdir import (
    TEMP_PREFIX,
    foreign_file,
    stale_run,
    unusable_manifest_path,
)
from trakt.runtime.output_location import LocalOutputDir, OutputLocation
from trakt.runtime.planning import ExecutionPlan, plan_pipeline
from trakt.runtime.run_record import run_record
from trakt.runtime.selection import Selection
from trakt.runtime.storage import check_at_run, merged
from trakt.runtime.store_output import StoreFile, StoreOutputDir
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
    ``<output_dir>/manifest.json``). Each of the three may be a store URI (``s3://...``).
    ``input_overrides`` maps an input artifact to a file or glob that replaces its uri
    (relative paths are taken from the current directory). ``stream_chunk_size`` is the number
    of rows per chunk in stream mode. ``scratch_dir`` holds a store output's local files until
    they are uploaded (default: the system's temporary dir, ``TMPDIR``).
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
        scratch_dir: str | os.PathLike[str] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        input_hashes: bool = True,
        scan_inputs: bool = True,
    ) -> None:
        if stream_chunk_size is not None and stream_chunk_size < 1:
            raise UsageError(f"stream_chunk_size must be at least 1, got {stream_chunk_size}")
        self.input_uri = _store_uri(input_dir)
        self.input_dir = Path(".") if self.input_uri else Path(local_path(os.fspath(input_dir)))
        self.output_uri = _store_uri(output_dir)
        self.output_dir = Path(".") if self.output_uri else Path(local_path(os.fspath(output_dir)))
        self.manifest_uri = _store_uri(manifest_path) if manifest_path else None
        if self.output_uri and not manifest_path:
            self.manifest_uri = self.output_uri.rstrip("/") + "/manifest.json"
        self.manifest_path = (
            Path(".")
            if self.manifest_uri
            else Path(local_path(os.fspath(manifest_path)))
            if manifest_path
            else self.output_dir / "manifest.json"
        )
        self.shown_output_dir = (
            redacted(self.output_uri) if self.output_uri else str(self.output_dir)
        )
        self.shown_manifest_path = (
            redacted(self.manifest_uri) if self.manifest_uri else str(self.manifest_path)
        )
        self.scratch_dir = scratch_dir
        self.input_overrides = dict(input_overrides or {})
        self.stream_chunk_size = stream_chunk_size or DEFAULT_CHUNK_SIZE
        # Called with the live manifest when a run starts (progress displays read it).
        self.on_start = on_start
        self.column_summaries = column_summaries
        # Called with the exception that failed a run (the CLI's --pdb debugs it afterwards).
        self.on_failure = on_failure
        self.input_hashes = input_hashes  # a sha256 per input file in the manifest
        # CSV inputs of runs of built-in and lazy steps read by polars (runtime/scans.py).
        self.scan_inputs = scan_inputs

    def run(
        self,
        pipeline: Pipeline,
        run_id: str | None = None,
        otel_enabled: bool = False,
        *,
        keep: Sequence[str] = (),
        selection: Selection | None = None,
    ) -> dict[str, Any]:
        """Run ``pipeline``; return ``status``, ``run_id``, ``manifest_path``, ``outputs``...

        An invalid pipeline raises :class:`PipelineValidationError` (after writing a manifest
        with status ``invalid``); a run that fails returns ``status: failed`` and ``error``.
        ``keep`` names artifacts returned as pandas DataFrames in ``result["artifacts"]``;
        ``selection`` (:func:`trakt.runtime.selection.select`) runs a part of the graph.
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
                **run_record(pipeline, selection),
            },
            mode=pipeline.mode,
            trakt_version=__version__,
            environment=run_environment(pipeline.source.file),
        )
        with self._staging() as staging:
            output, manifest_path, manifest_file = self._locations(
                pipeline.spec.storage_options, staging
            )
            # Absolute from here on: a step that calls os.chdir moves nothing of this run.
            settings = RunSettings(
                self.input_dir.absolute(),
                output,
                manifest_path,
                self.input_overrides,
                self.stream_chunk_size,
                otel_context,
                otel_enabled,
                self.column_summaries,
                shown_output_dir=self.shown_output_dir,
                shown_manifest_path=self.shown_manifest_path,
                start_dir=Path.cwd(),
                input_store=self.input_uri,
                manifest_upload=manifest_file.upload if manifest_file else None,
                on_failure=self.on_failure,
                input_hashes=self.input_hashes,
                scan_inputs=self.scan_inputs,
            )
            settings.output.create()
            with settings.output.locked(manifest.run_id):
                if manifest_file is not None:  # the previous manifest: a killed run's, say
                    manifest_file.fetch(manifest_path)
                return self._run_locked(
                    pipeline, manifest, replace(settings, keep=tuple(keep)), selection
                )

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path | None]:
        """A local directory of this run for what goes to a store (outputs, manifest)."""
        if not (self.output_uri or self.manifest_uri):
            yield None
            return
        scratch = None if self.scratch_dir is None else os.fspath(self.scratch_dir)
        try:
            staging = Path(tempfile.mkdtemp(prefix="trakt-", dir=scratch)).absolute()
        except OSError as exc:
            raise UsageError(
                f"cannot create a scratch dir for the store's files in "
                f"{scratch or tempfile.gettempdir()}: {exc.strerror or exc}; set TMPDIR (or "
                "scratch_dir) to a writable directory"
            ) from None
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _locations(
        self, options: Mapping[str, Any], staging: Path | None
    ) -> tuple[OutputLocation, Path, StoreFile | None]:
        """The output location, the manifest's local path, and its store object if any."""
        output: OutputLocation
        if self.output_uri:
            assert staging is not None
            output = StoreOutputDir(self.output_uri, options, staging / "out")
        else:
            output = LocalOutputDir(self.output_dir.absolute())
        if not self.manifest_uri:
            return output, self.manifest_path.absolute(), None
        assert staging is not None
        under = self.output_uri.rstrip("/") + "/" if self.output_uri else None
        if isinstance(output, StoreOutputDir) and under and self.manifest_uri.startswith(under):
            name = self.manifest_uri[len(under) :]
            return output, output.path / name, output.manifest_file(name)
        local = staging / "manifest" / self.manifest_uri.rstrip("/").rsplit("/", 1)[-1]
        return output, local, StoreFile.open(self.manifest_uri, options)

    def _run_locked(
        self,
        pipeline: Pipeline,
        manifest: Manifest,
        settings: RunSettings,
        selection: Selection | None = None,
    ) -> dict[str, Any]:
        unusable = unusable_manifest_path(settings.manifest_path, settings.output_dir)
        if unusable:
            raise UsageError(
                f"--manifest-path {self.shown_manifest_path}: {unusable}; choose another "
                "manifest path",
                file=self.shown_manifest_path,
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
                self.shown_output_dir,
                extra={"stale_run": True},
            )
        removed = settings.output.remove_leftovers()
        if removed:
            manifest.removed_leftovers = removed
        try:
            plan = plan_pipeline(pipeline) if selection is None else selection.plan
            check_keep(settings.keep, plan)
            self._check_overrides(plan)
            self._use_storage_options(pipeline, plan, settings.output)
        except (PipelineValidationError, UsageError) as exc:
            manifest.finish("invalid", exc.to_dict())
            # never over an output, a step module or the pipeline file named by mistake
            if not (
                foreign_file(settings.manifest_path)
                or self._is_pipeline_file(pipeline, settings.manifest_path)
            ):
                _write_manifest(settings, manifest)
            raise
        execution = self._execution(settings, plan, manifest)
        try:
            execution.refuse_overwrites_early()
        except OutputConflict as exc:
            if exc.fields.get("target") != "manifest":  # never write over the input itself
                manifest.finish("invalid", exc.to_dict())
                _write_manifest(settings, manifest)
            raise
        self._refuse_replacing_other_files(pipeline, settings.manifest_path)
        # Written first as `running`: a run killed outright leaves this for the next to report.
        _write_manifest(settings, manifest)
        if self.on_start is not None:
            self.on_start(manifest)
        result = execution.execute()
        if stale:
            result["stale_run"] = stale
        if recovered:
            result["publish_recovery"] = recovered
        return result

    def _execution(
        self, settings: RunSettings, plan: ExecutionPlan, manifest: Manifest
    ) -> Execution:
        """The scheduler for this run (another runner, e.g. Spark's, gives its own)."""
        return (StreamExecution if plan.mode == "stream" else BatchExecution)(
            settings, plan, manifest
        )

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
        shown = self.shown_manifest_path
        with self._staging() as staging:
            # No pipeline, so no storage_options: a store is reached by the AWS variables.
            output, path, manifest_file = self._locations({}, staging)
            output.create()
            with output.locked(manifest.run_id):
                if manifest_file is not None:
                    manifest_file.fetch(path)
                recovered = output.recover()
                if recovered:  # a killed publish is settled whatever this run turns out to be
                    manifest.publish_recovery = recovered
                unusable = unusable_manifest_path(path, output.path)
                if unusable:
                    return f"not written: {shown}: {unusable}"
                if foreign_file(path):
                    return f"not written: {shown} holds a file that is not a manifest"
                write_json_atomic(path, manifest.to_dict())
                if manifest_file is not None:
                    manifest_file.upload(path)
        return shown

    def _use_storage_options(
        self, pipeline: Pipeline, plan: ExecutionPlan, output: OutputLocation
    ) -> None:
        """storage_options where they turned out local are refused; an output's own go to
        the store location's upload of its objects."""
        spec = pipeline.spec
        check_at_run(spec, self.input_uri, self.output_uri is not None, self.input_overrides)
        if not isinstance(output, StoreOutputDir):
            return
        own = {d.name: d.storage_options for d in spec.outputs.datasets}
        for planned in plan.outputs:
            if own.get(planned.name):
                output.use_options(planned.path, merged(spec.storage_options, own[planned.name]))

    def _refuse_replacing_other_files(self, pipeline: Pipeline, path: Path) -> None:
        """The manifest replaces only an earlier manifest: never the pipeline file, a step
        module or any other file that is there (before anything runs: exit 2)."""
        is_pipeline = self._is_pipeline_file(pipeline, path)
        # a link there is replaced by the rename, its target kept: only a file of its own counts
        if is_pipeline or (not path.is_symlink() and foreign_file(path)):
            what = "the pipeline file itself" if is_pipeline else "a file that is not a manifest"
            shown = self.shown_manifest_path
            raise OutputConflict(
                f"--manifest-path {shown} is {what}; the manifest would replace it: choose "
                "another --manifest-path (or remove that file if it is not needed)",
                file=shown,
                target="manifest",
            )

    def _is_pipeline_file(self, pipeline: Pipeline, path: Path) -> bool:
        source = pipeline.source.file
        try:  # lstat: a link at the manifest path is replaced, never written through
            mine, theirs = os.lstat(path), os.stat(source) if source else None
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


def _write_manifest(settings: RunSettings, manifest: Manifest) -> None:
    """The manifest written atomically where the run keeps it (uploaded too on a store)."""
    write_json_atomic(settings.manifest_path, manifest.to_dict())
    if settings.manifest_upload is not None:
        settings.manifest_upload(settings.manifest_path)


def _store_uri(value: str | os.PathLike[str]) -> str | None:
    """``value`` if it names a store (``s3://...``), else None (a local path or file:// URI)."""
    text = os.fspath(value)
    return text if is_store(text) else None
