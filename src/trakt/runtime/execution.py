"""What every local execution shares: the manifest, input lookup, step calls, and outputs
written to temporary files that are published (renamed) only when the whole run succeeded."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trakt.errors import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    Cancelled,
    OutputConflict,
    OutputError,
    StepError,
    TraktError,
)
from trakt.io import ChunkWriter, Format, get_format
from trakt.io.badlines import BadLine, write_rejected
from trakt.io.csv_inputs import (
    FileCounts,
    locate_rows,
    set_aside_bad_lines,
    to_utf8_where_needed,
)
from trakt.io.frames import to_pandas
from trakt.io.sources import SourceFile, read_combined, resolve_files
from trakt.model.model import SchemaSpec
from trakt.runtime import cancel
from trakt.runtime.context import StepContext, make_context
from trakt.runtime.contracts import ContractState
from trakt.runtime.manifest import Manifest, StepRecord, Timing, utc_now, write_json_atomic
from trakt.runtime.messages import describe, one_line
from trakt.runtime.outdir import LOCK_NAME, TEMP_PREFIX
from trakt.runtime.planning import ExecutionPlan, StepPlan, override_format
from trakt.runtime.publish import publish
from trakt.runtime.safefs import create_new, distinct_places, ensure_dir, places
from trakt.runtime.stepcalls import passes_through, step_failure
from trakt.runtime.summary import ColumnSummaries
from trakt.runtime.timeouts import Overtime, deadline, disarm, set_last_resort


@dataclass(frozen=True)
class RunSettings:
    input_dir: Path
    output_dir: Path
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


@dataclass(frozen=True)
class ResolvedInput:
    artifact: str
    uri: str
    format: Format
    files: list[SourceFile]
    combine_strategy: str
    options: dict[str, Any]
    sheet: str | int | None


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    On Linux from VmHWM, which starts afresh at exec; ``ru_maxrss`` would also count the
    pages of the parent process this one was forked from."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class Execution:
    """One run of a plan. Subclasses implement :meth:`run_body` for their mode."""

    def __init__(self, settings: RunSettings, plan: ExecutionPlan, manifest: Manifest) -> None:
        self.settings = settings
        self.plan = plan
        self.manifest = manifest
        self.pending: dict[str, Path] = {}  # dataset name -> temporary file
        self.resolved: dict[str, ResolvedInput] = {}
        self.rejected: dict[str, list[BadLine]] = {}
        self.file_counts: dict[str, dict[str, FileCounts]] = {}  # artifact -> shown -> counts
        self.file_rows: dict[str, dict[str, int]] = {}  # artifact -> shown -> rows read
        self.scanned: dict[str, list[SourceFile]] = {}  # files before their clean copies
        self.current_step: str | None = None
        self.summaries: dict[str, ColumnSummaries] = {}
        self.contracts: dict[str, ContractState] = {}
        self.scratch = settings.output_dir / f"{TEMP_PREFIX}{manifest.run_id}-work"

    def run_body(self) -> None:
        raise NotImplementedError

    def execute(self) -> dict[str, Any]:
        manifest = self.manifest
        self.exit_code = EXIT_OK
        failures: dict[str, BaseException] = {}
        set_last_resort(self._abandon)
        try:
            self._resolve_all_inputs()
            self.run_body()
            self._write_rejected()
            cancel.check()  # a step that swallowed the signal's exception publishes nothing
            self._publish()
            manifest.finish("success")
        except BaseException as exc:
            stop = _cancellation(exc)
            if stop is not None:
                name = stop.signal_name if isinstance(stop, Cancelled) else "SIGINT"
                manifest.finish(
                    "cancelled",
                    {"type": name, "message": f"cancelled by {name}", "step_id": self.current_step},
                )
                manifest.outputs.clear()
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
                manifest.finish("failed", {**error_dict(exc), "internal": True})
                manifest.outputs.clear()
                failures[""] = exc
        finally:
            set_last_resort(None)
            self._discard_pending()
            manifest.extra["peak_rss_bytes"] = peak_rss_bytes()
            self._attach_summaries()
            if self.settings.otel:
                self._trace(failures)
            write_json_atomic(self.settings.manifest_path, manifest.to_dict())
        ok = manifest.status == "success"
        return {
            "status": manifest.status,
            "run_id": manifest.run_id,
            "manifest_path": self.settings.shown_manifest_path or str(self.settings.manifest_path),
            "outputs": {o["name"]: o["path"] for o in manifest.outputs} if ok else {},
            "error": manifest.error,
            "duration_s": manifest.duration_s,
            "exit_code": self.exit_code,
        }

    def _failed(self, exc: TraktError, failures: dict[str, BaseException]) -> None:
        self.exit_code = exc.exit_code
        self.manifest.finish("failed", error_dict(exc))
        self.manifest.outputs.clear()  # nothing of this run was published
        failures.update(_failure_map(exc))

    def _abandon(self, error: StepError) -> None:
        """Last resort for a step that keeps swallowing its timeout: record the run as failed
        with the StepTimeout, say so on stderr, and end the process (exit 1)."""
        try:
            step_id = error.fields.get("step_id")
            for record in self.manifest.steps:
                if record.status == "running":
                    record.finish("failed" if record.id == step_id else "aborted")
            self.manifest.finish("failed", error_dict(error))
            self.manifest.outputs.clear()
            self._discard_pending()
            self.manifest.extra["peak_rss_bytes"] = peak_rss_bytes()
            write_json_atomic(self.settings.manifest_path, self.manifest.to_dict())
            shown = self.settings.shown_manifest_path or str(self.settings.manifest_path)
            line = describe_failure(self.manifest.run_id, self.manifest.error, shown)
            print(f"trakt: {line}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(EXIT_RUN_FAILED)

    def _trace(self, failures: Mapping[str, BaseException]) -> None:
        from trakt.runtime.tracing import emit_trace

        try:
            ids = emit_trace(self.manifest.to_dict(), failures, self.settings.otel_context)
        except Exception as exc:  # tracing must never turn a run into a failure
            self.manifest.extra["trace"] = {"error": f"{type(exc).__name__}: {describe(exc)}"}
        else:
            self.manifest.extra["trace"] = ids

    # --- inputs -------------------------------------------------------------------------

    def resolve_input(self, artifact: str) -> ResolvedInput:
        return self.resolved[artifact]

    def _resolve_all_inputs(self) -> None:
        """Find every input file before any data is read; refuse outputs that would land on
        an input; set malformed rows aside for inputs that ask for it."""
        for artifact in self.plan.inputs:
            self.resolved[artifact] = self._resolve(artifact)
        self._refuse_overwriting_inputs()
        for artifact, planned in self.plan.inputs.items():
            if self.resolved[artifact].format.name == "csv":  # an override's own format
                index = list(self.plan.inputs).index(artifact)
                self.resolved[artifact] = to_utf8_where_needed(
                    self.resolved[artifact],
                    self._scratch_file,
                    f"input{index}",
                    keep_bad=planned.spec.on_bad_lines != "error",
                )
                if planned.spec.on_bad_lines != "error":
                    self._set_aside_bad_lines(artifact)
            if planned.spec.schema_ is not None:
                source = self.resolved[artifact]
                shown = ", ".join(f.shown for f in source.files)
                self.contracts[artifact] = ContractState(
                    artifact,
                    planned.spec.schema_,
                    shown,
                    source_column=source.options.get("source_column"),
                )
        for dataset in self.plan.outputs:
            if dataset.schema_ is not None:
                name = f"output:{dataset.name}"
                self.contracts[name] = ContractState(
                    dataset.name, dataset.schema_, dataset.name, kind="output"
                )

    # --- data contracts -------------------------------------------------------------------

    def check_contract(self, key: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Coerce and check a frame (or chunk) against its input's or output's schema."""
        state = self.contracts.get(key)
        if state is None:
            return frame
        checked = state.apply(frame)
        try:
            state.check_errors()
        except TraktError:
            if not key.startswith("output:"):  # what was found so far, for the manifest
                self.contract_events(key, self.manifest.inputs.setdefault(key, {}))
            raise
        return checked

    def contract_events(self, key: str, entry: dict[str, Any]) -> None:
        """Once an input has been read (or an output written): its contract's events."""
        state = self.contracts.get(key)
        if state is None:
            return
        entry["events"] = [
            {"kind": kind, "message": message, "at": utc_now(), **attributes}
            for kind, message, attributes in state.events()
        ]

    def _resolve(self, artifact: str) -> ResolvedInput:
        planned = self.plan.inputs[artifact]
        spec = planned.spec
        override = self.settings.input_overrides.get(artifact)
        start = self.settings.start_dir or Path.cwd()
        uri, base = (override, start) if override else (spec.uri, self.settings.input_dir)
        fmt = get_format(override_format(planned, uri) if override else planned.format)
        options = fmt.options_for(uri, spec.options)  # e.g. a .tsv file's tab separator
        if spec.source_column:
            options["source_column"] = spec.source_column
        if spec.schema_ is not None:
            options = _read_as_text(options, spec.schema_, fmt.name)
        return ResolvedInput(
            artifact,
            uri,
            fmt,
            resolve_files(artifact, uri, base),
            spec.combine_strategy,
            options,
            spec.sheet,
        )

    def refuse_overwrites_early(self) -> None:
        """Before the manifest is first written: no output, quarantine file or manifest may
        land on an input file. Inputs that cannot be found yet are reported by the run."""
        for artifact in self.plan.inputs:
            try:
                self.resolved[artifact] = self._resolve(artifact)
            except (TraktError, OSError):
                continue
        try:
            self._refuse_overwriting_inputs()
        except OSError:  # a path that cannot be looked up: the run reports it, with a manifest
            pass
        finally:
            self.resolved.clear()

    def _targets(self) -> dict[Path, str]:
        """Every file the run writes, by each place it may really be (see :func:`places`);
        two of them at one place would overwrite each other: refused."""
        out = self.settings.output_dir
        targets = [(out / f"{d.name}.csv", f"output '{d.name}'") for d in self.plan.outputs]
        targets.append((self.settings.manifest_path, "the manifest"))
        targets.append((out / LOCK_NAME, "the lock file"))  # replacing it would void the lock
        for name, kind in self._quarantine_owners():
            targets.append((out / "_rejected" / f"{name}.csv", f"quarantine of {kind} '{name}'"))
        return distinct_places(targets)

    def _quarantined(self) -> set[str]:
        """Names that get a ``_rejected/<name>.csv``: malformed rows or contract breaches."""
        return {name for name, _ in self._quarantine_owners()}

    def _quarantine_owners(self) -> list[tuple[str, str]]:
        """(name, 'input' or 'output') for every quarantine file."""
        found = []
        for artifact, planned in self.plan.inputs.items():
            schema = planned.spec.schema_
            if planned.spec.on_bad_lines == "quarantine" or (
                schema is not None and schema.on_violation == "quarantine"
            ):
                found.append((artifact, "input"))
        for d in self.plan.outputs:
            if d.schema_ is not None and d.schema_.on_violation == "quarantine":
                found.append((d.name, "output"))
        return found

    def _refuse_overwriting_inputs(self) -> None:
        targets = self._targets()
        for source in self.resolved.values():
            for f in source.files:
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

    def _set_aside_bad_lines(self, artifact: str) -> None:
        source = self.resolved[artifact]
        spec = self.plan.inputs[artifact].spec
        index = list(self.plan.inputs).index(artifact)  # not the name: it need not fit a path
        clean, bad, counts = set_aside_bad_lines(
            source, self._scratch_file, spec.max_bad_lines, f"input{index}"
        )
        self.scanned[artifact] = source.files
        self.resolved[artifact] = replace(source, files=clean)
        self.rejected[artifact] = bad
        self.file_counts[artifact] = counts

    def _write_rejected(self) -> None:
        """Counts in the manifest; quarantined rows (malformed, or breaking the schema) go to
        ``_rejected/<name>.csv``, published with the outputs."""
        for artifact, bad in self.rejected.items():
            policy = self.plan.inputs[artifact].spec.on_bad_lines
            entry: dict[str, Any] = {"policy": policy, "count": len(bad)}
            if policy == "quarantine":
                entry["path"] = str(self.settings.output_dir / "_rejected" / f"{artifact}.csv")
            self.manifest.inputs.setdefault(artifact, {})["bad_lines"] = entry
        for name in sorted(self._quarantined()):
            rows = self.rejected.get(name, []) + self._contract_rows(name)
            final = self.settings.output_dir / "_rejected" / f"{name}.csv"
            ensure_dir(final.parent, "the quarantine directory")
            tmp = final.parent / f"{TEMP_PREFIX}{self.manifest.run_id}-{name}.csv"
            self.pending[f"_rejected/{name}"] = create_new(tmp, "temporary quarantine file")
            source = self.resolved.get(name)
            encoding = str(source.options.get("encoding") or "utf-8") if source else "utf-8"
            write_rejected(tmp, sorted(rows, key=lambda r: (r.file, r.line)), encoding)

    def _contract_rows(self, name: str) -> list[BadLine]:
        """Rows a contract quarantined; an input's carry their own file and line in it, and
        count as set aside in its manifest's file entries."""
        output = self.contracts.get(f"output:{name}")
        rows = list(output.rejected) if output is not None else []
        state = self.contracts.get(name)
        if state is None:
            return rows
        located = state.rejected
        source = self.resolved.get(name)
        if source is not None:
            files = self.scanned.get(name, source.files)
            if source.combine_strategy == "latest":
                files = files[-1:]
            counts = self.file_rows.get(name, {})
            if source.format.name == "csv":
                located = locate_rows(located, files, counts, source.options)
            elif len(files) > 1:  # rows are numbered across the files: name each one's own
                placed = []
                for row in located:
                    start = 0
                    for f in files:
                        count = counts.get(f.shown, 0)
                        if start <= row.line - 2 < start + count:
                            row = replace(row, file=f.shown, line=row.line - start)
                            break
                        start += count
                    placed.append(row)
                located = placed
        per_file: dict[str, int] = {}
        for row in located:
            per_file[row.file] = per_file.get(row.file, 0) + 1
        for entry in self.manifest.inputs.get(name, {}).get("files", []):
            count = per_file.get(entry["path"], 0)
            if count and "kept" in entry:  # kept + set_aside = records, as for bad lines
                entry["kept"] -= count
                entry["set_aside"] += count
        return rows + located

    def take_input(
        self, source: ResolvedInput, table: pa.Table, timing: Timing, first: bool = True
    ) -> pd.DataFrame:
        """A table (or chunk) just read: to pandas, its contract checked, recorded."""
        frame = to_pandas(table)
        if source.artifact in self.contracts:
            frame = self.check_contract(source.artifact, frame)
            table = None
        if self.settings.column_summaries:
            summary = self.summaries.setdefault(f"input:{source.artifact}", ColumnSummaries())
            if table is not None and table.num_columns == len(frame.columns):
                summary.add_arrow(table, frame)
            else:
                summary.add(frame)
        self.record_input(source, frame, timing, first)
        return frame

    def read_whole(self, artifact: str) -> pd.DataFrame:
        """An input read whole (files combined), its contract checked, recorded."""
        timing = Timing.start()
        source = self.resolve_input(artifact)
        table = read_combined(
            artifact,
            source.format,
            source.files,
            source.combine_strategy,
            source.options,
            source.sheet,
            self.file_rows.setdefault(artifact, {}),
        )
        frame = self.take_input(source, table, timing)
        self.input_done(artifact)
        return frame

    def input_done(self, artifact: str) -> None:
        self.contract_events(artifact, self.manifest.inputs[artifact])

    def give_output(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame (or chunk) about to be written: check the output's contract, summarize."""
        frame = self.check_contract(f"output:{name}", frame)
        self.summarize_output(name, frame)
        return frame

    def output_done(self, name: str) -> None:
        entry = next(o for o in self.manifest.outputs if o["name"] == name)
        self.contract_events(f"output:{name}", entry)

    def record_input(
        self, source: ResolvedInput, frame: pd.DataFrame, timing: Timing, first: bool = True
    ) -> None:
        """Record what was read; in stream mode once per chunk (``first`` for the first)."""
        entry = self.manifest.inputs.get(source.artifact)
        rows = len(frame) + (0 if first or entry is None else entry["rows"])
        columns = list(frame.columns)
        self.manifest.inputs[source.artifact] = {
            **timing.fields(),
            "uri": source.uri,
            "format": source.format.name,
            "combine_strategy": source.combine_strategy,
            "files": [self._file_entry(source.artifact, f) for f in source.files],
            "rows": rows,
            "columns": [str(c) for c in columns],
        }

    def _file_entry(self, artifact: str, f: SourceFile) -> dict[str, Any]:
        """One input file in the manifest: its records, how many were kept and set aside."""
        entry: dict[str, Any] = {"path": f.shown, "bytes": f.size}
        rows = self.file_rows.get(artifact, {}).get(f.shown)
        counted = self.file_counts.get(artifact, {}).get(f.shown)
        if counted is not None:
            kept = counted.records - counted.set_aside if rows is None else rows
            entry.update(records=counted.records, kept=kept, set_aside=counted.set_aside)
        elif rows is not None:
            entry.update(records=rows, kept=rows, set_aside=0)
        return entry

    # --- steps --------------------------------------------------------------------------

    def start_step(self, step: StepPlan) -> tuple[StepRecord, StepContext]:
        self.current_step = step.id
        record = StepRecord(step.id, step.uses)
        self.manifest.steps.append(record)
        record.start()
        return record, make_context(self.manifest.run_id, self.plan.pipeline.name, step.id)

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

    def temp_path(self, name: str) -> Path:
        path = self.settings.output_dir / f"{TEMP_PREFIX}{self.manifest.run_id}-{name}.csv"
        self.pending[name] = create_new(path, "temporary output")
        return path

    def open_output(self, name: str) -> ChunkWriter:
        try:
            return get_format("csv").open_writer(self.temp_path(name))
        except OutputError as exc:
            exc.fields.setdefault("output", name)
            raise
        except OSError as exc:  # e.g. ENAMETOOLONG: the name is the output's
            raise OutputError(
                f"cannot write output '{name}' in {self.settings.output_dir}: "
                f"{exc.strerror or exc}; choose a shorter output name or output dir",
                output=name,
                file=str(self.settings.output_dir),
            ) from None

    def summarize_output(self, name: str, frame: pd.DataFrame) -> None:
        if self.settings.column_summaries:
            self.summaries.setdefault(f"output:{name}", ColumnSummaries()).add(frame)

    def _attach_summaries(self) -> None:
        for artifact, entry in self.manifest.inputs.items():
            summary = self.summaries.get(f"input:{artifact}")
            if summary is not None:
                entry["column_summaries"] = summary.to_dict()
        for entry in self.manifest.outputs:
            summary = self.summaries.get(f"output:{entry['name']}")
            if summary is not None:
                entry["column_summaries"] = summary.to_dict()

    def record_output(self, name: str, artifact: str, rows: int, timing: Timing) -> None:
        out = self.settings.output_dir
        self.manifest.outputs.append(
            {
                **timing.fields(),
                "name": name,
                "from": artifact,
                "path": str(Path(self.settings.shown_output_dir or out) / f"{name}.csv"),
                "rows": rows,
                "bytes": self.pending[name].stat().st_size,
            }
        )

    def _publish(self) -> None:
        """Rename every temporary output into place: only now does any output appear, all of
        them or (after a failure, or a crash and the next run's recovery) none."""
        publish(self.settings.output_dir, self.manifest.run_id, self.pending)
        self.pending.clear()

    def _discard_pending(self) -> None:
        """Best effort, never raising: the manifest must still be written after this (what
        is left, e.g. a name the file system refused, the next run removes)."""
        for tmp in self.pending.values():
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self.pending.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def check_outputs(step: StepPlan, result: Any, kind: str = "a pandas DataFrame") -> dict[str, Any]:
    """The step's result must map exactly its output bindings to values."""
    expected = set(step.outputs)
    if not isinstance(result, Mapping):
        raise StepError(
            f"step '{step.id}' must return a dict of {sorted(expected)} -> {kind}, "
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
    return dict(result)


def check_frame(step: StepPlan, binding: str, value: Any, what: str = "") -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise StepError(
            f"step '{step.id}' returned {type(value).__name__} for output '{binding}'{what}; "
            "expected a pandas DataFrame",
            step_id=step.id,
        )
    return value


def check_chunks(step: StepPlan, binding: str, value: Any) -> Iterator[Any]:
    if isinstance(value, pd.DataFrame) or not isinstance(value, Iterable):
        raise StepError(
            f"step '{step.id}' is stream-capable but returned {type(value).__name__} for output "
            f"'{binding}'; return an iterator (or generator) of DataFrames",
            step_id=step.id,
        )
    return iter(value)


def _read_as_text(options: dict[str, Any], schema: SchemaSpec, fmt: str) -> dict[str, Any]:
    """Columns with a declared type are read as text, so the contract can see (and report)
    every value that does not parse."""
    if fmt != "csv":
        return options
    declared = options.get("dtype")
    if isinstance(declared, str):
        return options
    pinned = {**(declared or {}), **dict.fromkeys(schema.columns, "str")}
    return {**options, "dtype": pinned}


def _failure_map(exc: TraktError) -> dict[str, BaseException]:
    """Which span each exception belongs on: its step (or input read), and the run."""
    cause = exc.__cause__ or exc
    found: dict[str, BaseException] = {"": cause}
    if exc.fields.get("step_id"):
        found[exc.fields["step_id"]] = cause
    elif exc.fields.get("artifact"):
        found[f"input:{exc.fields['artifact']}"] = cause
    return found


def describe_failure(run_id: str, error: Mapping[str, Any] | None, manifest_path: str) -> str:
    """The one stderr line for a failed run: where, what, and where the manifest is (control
    characters escaped: a step's message can neither break nor forge the line)."""
    error = error or {}
    if error.get("step_id"):
        where = f"step '{error['step_id']}'"
    elif error.get("artifact"):
        where = f"input '{error['artifact']}'"
    elif error.get("output"):
        where = f"writing output '{error['output']}'"
    else:
        where = "writing outputs"
    chunk = f" (chunk {error['chunk_index']})" if error.get("chunk_index") is not None else ""
    line = (
        f"run {run_id} failed at {where}{chunk}: {error.get('type')}: {error.get('message')} "
        f"(manifest: {manifest_path})"
    )
    return one_line(line)


def _cancellation(exc: BaseException) -> BaseException | None:
    """Whether the run ends cancelled: a signal asked for it (whatever the step then raised),
    or Ctrl-C reached a library caller's run."""
    pending = cancel.requested()
    if pending is not None:
        return exc if isinstance(exc, Cancelled) else pending
    if isinstance(exc, Cancelled):
        return exc
    if isinstance(exc, KeyboardInterrupt) and not cancel.handlers_installed():
        return exc
    return None


def error_dict(exc: BaseException) -> dict[str, Any]:
    cause = exc.__cause__ if isinstance(exc, StepError) and exc.__cause__ else exc
    kind = exc.fields.get("exception_type") if isinstance(exc, TraktError) else None
    data: dict[str, Any] = {
        "step_id": None,
        "type": kind if kind and cause is exc else type(cause).__name__,
        "message": exc.message if cause is exc and isinstance(exc, TraktError) else describe(cause),
        "traceback": "".join(traceback.format_exception(cause)),
    }
    if isinstance(exc, TraktError):
        data.update({k: v for k, v in exc.fields.items() if k != "exception_type"})
    return data


def claim(exc: TraktError, step_id: str) -> None:
    """Attribute an error to the step it surfaced in, unless it belongs to an input (a read
    that failed while the step pulled from it) or to another step."""
    if "artifact" not in exc.fields:
        exc.fields.setdefault("step_id", step_id)


def finish_failed(record: StepRecord, ctx: StepContext, exc: BaseException, step_id: str) -> None:
    if isinstance(exc, TraktError):
        claim(exc, step_id)
    record.events = [e.to_dict() for e in ctx.events]
    record.finish("failed")


def concat_chunks(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunks as one frame; a named index (e.g. from groupby) is data and is kept."""
    if not chunks:
        return pd.DataFrame()
    if any(name is not None for name in chunks[0].index.names):
        return pd.concat(chunks)
    return pd.concat(chunks, ignore_index=True)
