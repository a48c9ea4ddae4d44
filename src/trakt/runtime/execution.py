"""What every local run shares, whatever schedules its steps: the sources and targets of the
plan, step calls, quarantine files, publishing on success, and how the run ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from trakt.errors import EXIT_OK, EXIT_RUN_FAILED, Cancelled, OutputConflict, StepError, TraktError
from trakt.io.badlines import rejected_file_name, write_rejected
from trakt.io.sql_urls import is_database
from trakt.runtime import cancel
from trakt.runtime.adapter import Data, preload_pandas
from trakt.runtime.context import StepContext, make_context
from trakt.runtime.database_io import DatabaseSessions, DatabaseSource, TableTarget
from trakt.runtime.datasets import REJECTED_DIR, InputPlan, quarantine_owners
from trakt.runtime.endings import cancellation, describe_failure, error_dict, failure_map
from trakt.runtime.environment import add_imported_libraries
from trakt.runtime.input_hashes import InputHasher
from trakt.runtime.inputs import InputSource
from trakt.runtime.keep import Keeper, kept_result
from trakt.runtime.manifest import Manifest, StepRecord, Timing
from trakt.runtime.outdir import LOCK_NAME
from trakt.runtime.output_location import OutputLocation
from trakt.runtime.planning import ExecutionPlan, StepPlan
from trakt.runtime.recorder import RunRecorder
from trakt.runtime.safefs import create_new, distinct_places, ensure_dir, places
from trakt.runtime.stepcalls import passes_through, step_failure
from trakt.runtime.storage import placed
from trakt.runtime.targets import OutputTarget
from trakt.runtime.timeouts import Overtime, deadline, disarm, set_last_resort


@dataclass(frozen=True)
class RunSettings:
    """Where a run reads and writes, and how (fixed when the run starts)."""

    input_dir: Path
    output: OutputLocation  # where outputs, quarantine files (and the manifest) are published
    manifest_path: Path
    input_overrides: Mapping[str, str]
    chunk_rows: int
    otel_context: Any = None  # set when tracing: the OpenTelemetry context to trace under
    otel: bool = False
    column_summaries: bool = True
    # The paths as the caller gave them, for messages and the manifest; the fields above are
    # absolute (fixed when the run starts), so a step that calls os.chdir changes nothing.
    shown_output_dir: str = ""
    shown_manifest_path: str = ""
    start_dir: Path | None = None  # the working directory when the run started
    # A store --input-dir (s3://bucket/in): relative input uris go under it.
    input_store: str | None = None
    # A manifest on a store: uploaded after every local (atomic) write of it.
    manifest_upload: Callable[[Path], None] | None = None
    # Called with what ended the run in failure (``--pdb`` opens the debugger on it later).
    on_failure: Callable[[BaseException], None] | None = None
    input_hashes: bool = True  # a sha256 per input file in the manifest
    # CSV inputs of runs of built-in and lazy steps read by polars (runtime/scans.py).
    scan_inputs: bool = True
    # Artifacts handed back in memory in the result's ``artifacts`` (runtime/keep.py).
    keep: tuple[str, ...] = ()

    @property
    def output_dir(self) -> Path:
        """The output location's directory (absolute)."""
        return self.output.path


class Execution:
    """One run of a plan. Schedulers (batch, stream) implement :meth:`run_body`."""

    def __init__(self, settings: RunSettings, plan: ExecutionPlan, manifest: Manifest) -> None:
        self.settings = settings
        self.plan = plan
        self.manifest = manifest
        manifest.graph = plan.graph()
        self.recorder = RunRecorder(
            manifest, settings.manifest_path, settings.shown_manifest_path, settings.manifest_upload
        )
        self.sources: dict[str, InputSource] = {}
        # The run's database transactions: committed only when everything else succeeded.
        self.databases = DatabaseSessions(settings.start_dir or Path.cwd())
        self.targets: dict[str, OutputTarget] = self.new_targets()
        self.quarantine: dict[str, Path] = {}  # final name -> temporary file
        self.current_step: str | None = None
        self.scratch = settings.output.temporary(manifest.run_id, "work")
        self.exit_code = EXIT_OK
        self.hasher = InputHasher() if settings.input_hashes else None
        self.keeper = Keeper(settings.keep)

    def new_targets(self) -> dict[str, OutputTarget]:
        """An output target per output dataset, nothing written yet."""
        settings, run_id = self.settings, self.manifest.run_id
        return {
            d.name: (
                TableTarget(d, self.databases)
                if d.table is not None
                else OutputTarget(d, settings.output, settings.shown_output_dir, run_id)
            )
            for d in self.plan.outputs
        }

    def run_body(self) -> None:
        raise NotImplementedError

    def execute(self) -> dict[str, Any]:
        """Run, publish on success, and record how it ended (the manifest, every ending)."""
        failures: dict[str, BaseException] = {}
        importing = None
        set_last_resort(self._abandon)
        try:
            self._open_sources(strict=True)
            self._refuse_overwriting_inputs()
            importing = preload_pandas(step.frame for step in self.plan.steps)
            for target in self.targets.values():
                # Import a writer's library while inputs are read; connect to a database and
                # check its table before any data moves.
                target.preload()
            for source in self.sources.values():
                source.prepare(self._scratch_file)
                if self.hasher is not None:
                    self.hasher.add(getattr(source, "originals", ()))
            self.run_body()
            self._write_rejected()
            cancel.check()  # a step that swallowed the signal's exception publishes nothing
            self._publish()
            self.manifest.finish("success")
        except BaseException as exc:
            stop = cancellation(exc)
            if stop is not None:
                if self.hasher is not None:
                    self.hasher.finish(stop=True)
                name = stop.signal_name if isinstance(stop, Cancelled) else "SIGINT"
                self.recorder.cancelled(name, self.current_step)
                if stop is exc:
                    raise
                raise stop from None
            if isinstance(exc, Overtime):  # the alarm landed just outside the step's own code
                disarm()
                self._failed(exc.error, failures)
            elif isinstance(exc, TraktError):
                self._failed(exc, failures)
            else:  # a bug in Trakt, SystemExit deep in a library: recorded
                self.exit_code = EXIT_RUN_FAILED
                self.recorder.failed({**error_dict(exc), "internal": True})
                failures[""] = exc
            if self.settings.on_failure is not None:
                self.settings.on_failure(exc)
        finally:
            set_last_resort(None)
            if importing is not None:  # no thread outlives the run
                importing.join()
            self._discard_pending()
            self._attach_summaries()
            self._attach_hashes()
            if self.settings.otel:
                from trakt.runtime.tracing import run_trace

                context = self.settings.otel_context
                self.manifest.trace = run_trace(self.manifest, failures, context)
            self.recorder.write()
        result = self.recorder.result(self.exit_code)
        return kept_result(self.keeper, result) if self.settings.keep else result

    def _failed(self, exc: TraktError, failures: dict[str, BaseException]) -> None:
        self.exit_code = exc.exit_code
        self.recorder.failed(error_dict(exc))
        failures.update(failure_map(exc))

    def _abandon(self, error: StepError) -> None:
        """Last resort for a step that keeps swallowing its timeout: record the run as failed
        with the StepTimeout, say so on stderr, and end the process (exit 1)."""
        try:
            step_id = error.fields.get("step_id")
            for record in self.manifest.steps:
                if record.status == "running":
                    record.finish("failed" if record.id == step_id else "aborted")
            self.recorder.failed(error_dict(error))
            self._discard_pending()
            self.recorder.write()
            shown = self.recorder.shown_path
            line = describe_failure(self.manifest.run_id, self.manifest.error, shown)
            print(f"trakt: {line}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(EXIT_RUN_FAILED)

    # --- inputs -------------------------------------------------------------------------

    def _open_sources(self, strict: bool) -> None:
        """Find every input's files (once per run), before any data is read; ``strict`` raises
        what cannot be found, otherwise it is left for the run to report."""
        for index, (artifact, planned) in enumerate(self.plan.inputs.items()):
            if artifact in self.sources:
                continue
            override = self.settings.input_overrides.get(artifact)
            start = self.settings.start_dir or Path.cwd()
            try:
                if is_database(override or planned.spec.uri):
                    uri = override or planned.spec.uri
                    self.sources[artifact] = DatabaseSource(planned, index, uri, start)
                    continue
                self.sources[artifact] = InputSource.open(
                    self._placed(planned), index, self.settings.input_dir, override, start
                )
            except (TraktError, OSError):
                if strict:
                    raise

    def _placed(self, planned: InputPlan) -> InputPlan:
        """An input as this run reads it (:func:`trakt.runtime.storage.placed`)."""
        options = self.plan.pipeline.spec.storage_options
        return placed(planned, options, self.settings.input_store)

    def refuse_overwrites_early(self) -> None:
        """Before the manifest is first written: no output, quarantine file or manifest may
        land on an input file. Inputs that cannot be found yet are reported by the run."""
        self._open_sources(strict=False)
        with contextlib.suppress(OSError):  # a path that cannot be looked up: the run says
            self._refuse_overwriting_inputs()

    def _targets(self) -> dict[Path, str]:
        """Every file the run writes, by each place it may really be (see :func:`places`);
        two of them at one place would overwrite each other: refused."""
        out = self.settings.output_dir
        targets = [(t.final, f"output '{t.name}'") for t in self._file_targets()]
        targets.append((self.settings.manifest_path, "the manifest"))
        targets.append((out / LOCK_NAME, "the lock file"))  # replacing it would void the lock
        for name, kind in quarantine_owners(self.plan.inputs, self.plan.outputs):
            path = out / REJECTED_DIR / rejected_file_name(name)
            targets.append((path, f"quarantine of {kind} '{name}'"))
        return distinct_places(targets)

    def _file_targets(self) -> list[OutputTarget]:
        """The targets that write files (not database tables)."""
        return [t for t in self.targets.values() if t.plan.table is None]

    def _refuse_overwriting_inputs(self) -> None:
        targets = self._targets()
        for source in self.sources.values():
            for f in source.files:
                if f.store is not None:  # a store's file: outputs are local, never it
                    continue
                what = next((targets[p] for p in places(f.path) if p in targets), None)
                if what:
                    raise OutputConflict(
                        f"{what} would overwrite input file {f.path} of '{source.artifact}'; "
                        "choose another --output-dir, --manifest-path or output name (inputs "
                        "are never written)",
                        artifact=source.artifact,
                        file=str(f.path),
                        target="manifest" if what == "the manifest" else "output",
                    )

    def _scratch_file(self, name: str) -> Path:
        ensure_dir(self.scratch, "the scratch directory")
        return create_new(self.scratch / name, "scratch file")

    def take_input(
        self, source: InputSource, table: pa.Table, timing: Timing, first: bool = True
    ) -> Data:
        """A table (or chunk) just read: its contract checked, summarized, recorded."""
        self.manifest.inputs.setdefault(source.artifact, source.record)
        return source.take(table, timing, self.settings.column_summaries, first)

    def read_whole(self, artifact: str) -> Data:
        """An input read whole (files combined), its contract checked, recorded."""
        timing = Timing.start()
        source = self.sources[artifact]
        data = self.take_input(source, source.read(), timing)
        source.finish()
        return data

    # --- steps --------------------------------------------------------------------------

    def start_step(self, step: StepPlan) -> tuple[StepRecord, StepContext]:
        self.current_step = step.id
        record = StepRecord(step.id, step.uses, frame=step.frame)
        self.manifest.steps.append(record)
        record.start()
        context = make_context(
            self.manifest.run_id, self.plan.pipeline.name, step.id, dict(step.inputs)
        )
        return record, context

    def call(self, step: StepPlan, ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
        try:
            with deadline(step):
                return step.function.fn(ctx, **inputs, **step.outputs, **step.params)
        except TraktError:
            raise
        except BaseException as exc:  # sys.exit() in a step fails the step, ...
            if passes_through(exc):
                raise
            raise step_failure(step, exc) from exc

    # --- outputs ------------------------------------------------------------------------

    def output_done(self, name: str) -> None:
        """An output completely written: closed, and its entry in the manifest."""
        target = self.targets[name]
        target.close()
        record = target.record()
        uri_of = getattr(self.settings.output, "uri_of", None)
        if uri_of is not None:  # a store: named by its URI, not the local staging file
            record.uri = record.path = uri_of(target.plan.path)
        self.manifest.outputs.append(record)

    def _write_rejected(self) -> None:
        """Counts in the manifest; quarantined rows (malformed, or breaking the schema) go to
        ``_rejected/<name>.csv``, published with the outputs."""
        out = self.settings.output_dir
        for artifact, source in self.sources.items():
            policy = source.plan.spec.on_bad_lines
            if policy == "error":
                continue
            entry: dict[str, Any] = {"policy": policy, "count": len(source.bad)}
            if policy == "quarantine":
                name = f"{REJECTED_DIR}/{rejected_file_name(artifact)}"
                entry["path"] = self._published_name(name)
            self.manifest.inputs.setdefault(artifact, source.record).bad_lines = entry
        owners = quarantine_owners(self.plan.inputs, self.plan.outputs)
        for name in sorted({name for name, _ in owners}):
            target = self.targets.get(name)
            rows = target.quarantined() if target is not None else []
            found = self.sources.get(name)
            if found is not None:
                rows += found.bad + found.contract_rows()
            final_name = f"{REJECTED_DIR}/{rejected_file_name(name)}"
            ensure_dir(out / REJECTED_DIR, "the quarantine directory")
            tmp = create_new(
                self.settings.output.temporary(self.manifest.run_id, final_name),
                "temporary quarantine file",
            )
            self.quarantine[final_name] = tmp
            encoding = found.encoding if found is not None else "utf-8"
            write_rejected(tmp, sorted(rows, key=lambda r: (r.file, r.line)), encoding)

    def _published_name(self, name: str) -> str:
        """Where a file of the output location is published: a path, or a store's URI."""
        uri_of = getattr(self.settings.output, "uri_of", None)
        return str(uri_of(name)) if uri_of is not None else str(self.settings.output_dir / name)

    def _attach_summaries(self) -> None:
        for source in self.sources.values():
            recorded = self.manifest.inputs.get(source.artifact) is source.record
            if source.summary is not None and recorded:
                source.record.column_summaries = source.summary.to_dict()
        for record in self.manifest.outputs:
            summary = self.targets[record.name].summary
            if summary is not None:
                record.column_summaries = summary.to_dict()

    def _attach_hashes(self) -> None:
        """Each input file's sha256 (waiting for the hashing thread), and the libraries the
        run imported, into the manifest."""
        if self.manifest.environment is not None:
            add_imported_libraries(self.manifest.environment)
        if self.hasher is None:
            return
        hashes = self.hasher.finish()
        for record in self.manifest.inputs.values():
            for entry in record.files:
                entry.sha256 = hashes.get(entry.path, entry.sha256)

    def _publish(self) -> None:
        """Move every output into place: only now does any output appear, all of them or
        (after a failure, or a crash and the next run's recovery) none."""
        pending = dict(t.staged() for t in self._file_targets())
        pending.update(self.quarantine)
        # Databases first: a commit can fail (a deferred constraint, a lost connection) and
        # then no file is published; a local publish that fails after it is the one case
        # that leaves the databases ahead of the files (README: "Databases").
        self.databases.commit()
        self.settings.output.publish(self.manifest.run_id, pending)
        for target in self.targets.values():
            target.created = False  # published: no longer this run's to remove
        self.quarantine.clear()

    def _discard_pending(self) -> None:
        """Best effort, never raising: the manifest must still be written after this (what
        is left, e.g. a name the file system refused, the next run removes)."""
        for target in self.targets.values():
            target.discard()
        self.databases.close()  # what was not committed is rolled back
        for tmp in self.quarantine.values():
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self.quarantine.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)
