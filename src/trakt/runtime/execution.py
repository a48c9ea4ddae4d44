"""What every local execution shares: the manifest, input lookup, step calls, and outputs
written to temporary files that are published (renamed) only when the whole run succeeded."""

from __future__ import annotations

import os
import resource
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trakt.errors import StepError, TraktError
from trakt.io import ChunkWriter, Format, get_format
from trakt.io.sources import SourceFile, resolve_files
from trakt.runtime.context import StepContext, make_context
from trakt.runtime.manifest import Manifest, StepRecord, write_json_atomic
from trakt.runtime.planning import ExecutionPlan, StepPlan

TEMP_PREFIX = ".trakt-tmp-"


@dataclass(frozen=True)
class RunSettings:
    input_dir: Path
    output_dir: Path
    manifest_path: Path
    input_overrides: Mapping[str, str]
    chunk_rows: int


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
    """This process's peak resident set size so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class Execution:
    """One run of a plan. Subclasses implement :meth:`run_body` for their mode."""

    def __init__(self, settings: RunSettings, plan: ExecutionPlan, manifest: Manifest) -> None:
        self.settings = settings
        self.plan = plan
        self.manifest = manifest
        self.pending: dict[str, Path] = {}  # dataset name -> temporary file

    def run_body(self) -> None:
        raise NotImplementedError

    def execute(self) -> dict[str, Any]:
        manifest = self.manifest
        try:
            self.run_body()
            self._publish()
            manifest.finish("success")
        except TraktError as exc:
            manifest.finish("failed", error_dict(exc))
        except Exception as exc:  # a bug in Trakt itself: still leave a manifest
            manifest.finish("failed", {**error_dict(exc), "internal": True})
        finally:
            self._discard_pending()
        manifest.extra["peak_rss_bytes"] = peak_rss_bytes()
        write_json_atomic(self.settings.manifest_path, manifest.to_dict())
        ok = manifest.status == "success"
        return {
            "status": manifest.status,
            "run_id": manifest.run_id,
            "manifest_path": str(self.settings.manifest_path),
            "outputs": {o["name"]: o["path"] for o in manifest.outputs} if ok else {},
            "error": manifest.error,
            "duration_s": manifest.duration_s,
        }

    # --- inputs -------------------------------------------------------------------------

    def resolve_input(self, artifact: str) -> ResolvedInput:
        planned = self.plan.inputs[artifact]
        spec = planned.spec
        override = self.settings.input_overrides.get(artifact)
        uri, base = (override, Path.cwd()) if override else (spec.uri, self.settings.input_dir)
        options = dict(spec.options)
        if spec.source_column:
            options["source_column"] = spec.source_column
        return ResolvedInput(
            artifact,
            uri,
            get_format(planned.format),
            resolve_files(artifact, uri, base),
            spec.combine_strategy,
            options,
            spec.sheet,
        )

    def record_input(self, source: ResolvedInput, rows: int, columns: Iterable[Any]) -> None:
        self.manifest.inputs[source.artifact] = {
            "uri": source.uri,
            "format": source.format.name,
            "combine_strategy": source.combine_strategy,
            "files": [{"path": f.shown, "bytes": f.size} for f in source.files],
            "rows": rows,
            "columns": [str(c) for c in columns],
        }

    # --- steps --------------------------------------------------------------------------

    def start_step(self, step: StepPlan) -> tuple[StepRecord, StepContext]:
        record = StepRecord(step.id, step.uses)
        self.manifest.steps.append(record)
        record.start()
        return record, make_context(self.manifest.run_id, self.plan.pipeline.name, step.id)

    def call(self, step: StepPlan, ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
        try:
            return step.function.fn(ctx, **inputs, **step.outputs, **step.params)
        except Exception as exc:
            raise step_failure(step, exc) from exc

    # --- outputs ------------------------------------------------------------------------

    def temp_path(self, name: str) -> Path:
        path = self.settings.output_dir / f"{TEMP_PREFIX}{self.manifest.run_id}-{name}.csv"
        self.pending[name] = path
        return path

    def open_output(self, name: str) -> ChunkWriter:
        return get_format("csv").open_writer(self.temp_path(name))

    def record_output(self, name: str, artifact: str, rows: int) -> None:
        self.manifest.outputs.append(
            {
                "name": name,
                "from": artifact,
                "path": str(self.settings.output_dir / f"{name}.csv"),
                "rows": rows,
                "bytes": self.pending[name].stat().st_size,
            }
        )

    def _publish(self) -> None:
        for name, tmp in list(self.pending.items()):
            os.replace(tmp, self.settings.output_dir / f"{name}.csv")
            del self.pending[name]

    def _discard_pending(self) -> None:
        for tmp in self.pending.values():
            tmp.unlink(missing_ok=True)
        self.pending.clear()


def step_failure(step: StepPlan, exc: Exception, chunk: int | None = None) -> StepError:
    at = f" at chunk {chunk}" if chunk is not None else ""
    return StepError(
        f"step '{step.id}' raised {type(exc).__name__}{at}: {exc}",
        step_id=step.id,
        chunk_index=chunk,
        exception_type=type(exc).__name__,
    )


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


def error_dict(exc: BaseException) -> dict[str, Any]:
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


def finish_failed(record: StepRecord, ctx: StepContext, exc: BaseException, step_id: str) -> None:
    if isinstance(exc, TraktError):
        exc.fields.setdefault("step_id", step_id)
    record.events = [e.to_dict() for e in ctx.events]
    record.finish("failed")
