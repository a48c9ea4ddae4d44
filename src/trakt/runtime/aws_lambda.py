"""The AWS Lambda entry: ``trakt.runtime.aws_lambda.handler(event, context)``.

The event names the pipeline and where it reads and writes::

    {"pipeline_file": "s3://bucket/pipelines/orders.yaml",   # or a path in the package
     "input_dir": "s3://bucket/in", "output_dir": "s3://bucket/out",
     "run_id": "orders-2026-12-05", "input": {"orders": "s3://bucket/late/*.csv"}}

Optional keys: ``manifest_path``, ``mode`` (``stream`` or ``batch``), ``stream_chunk_size``.
The run is the local runner's, in stream mode (bounded memory) unless the pipeline says
``execution: {mode: batch}`` or the event does, with the system's temporary dir (``/tmp`` on
Lambda, or ``TMPDIR``) as scratch. The result is the run's result dict, also for a failed or
invalid run and for a bad event: the handler never raises for them, the ``status`` says it
(``success``, ``failed``, ``invalid``, ``cancelled``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from trakt.errors import (
    EXIT_INVALID,
    EXIT_RUN_FAILED,
    PipelineValidationError,
    TraktError,
    UsageError,
)
from trakt.io.locations import is_store, open_store, redacted
from trakt.model.loader import parse_spec, read_pipeline_file
from trakt.model.model import ExecutionSpec, Pipeline
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.messages import describe
from trakt.runtime.planning import check_pipeline

KEYS = ("pipeline_file", "input_dir", "output_dir")
OPTIONAL = ("run_id", "input", "manifest_path", "mode", "stream_chunk_size")


@dataclass(frozen=True)
class Request:
    """An event, checked."""

    pipeline_file: str
    input_dir: str
    output_dir: str
    run_id: str | None
    overrides: dict[str, str]
    manifest_path: str | None
    mode: str | None
    chunk_rows: int | None


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Run the event's pipeline (see the module docstring); the run's result dict."""
    run_id = event.get("run_id") if isinstance(event, Mapping) else None
    run_id = run_id if isinstance(run_id, str) else None
    try:
        request = parse_event(event)
        scratch = Path(tempfile.gettempdir())  # /tmp on Lambda: its only writable place
        with _local_copy(request.pipeline_file, scratch) as local:
            runner = LocalRunner(
                request.input_dir,
                request.output_dir,
                manifest_path=request.manifest_path,
                input_overrides=request.overrides,
                stream_chunk_size=request.chunk_rows,
                scratch_dir=scratch,
            )
            try:
                pipeline = _load(local, request.pipeline_file)
            except PipelineValidationError as exc:
                with contextlib.suppress(TraktError, OSError):  # the result still says it
                    runner.record_invalid(exc, request.pipeline_file, run_id)
                raise
            return runner.run(_in_mode(pipeline, request.mode), run_id=request.run_id)
    except PipelineValidationError as exc:
        return _ended("invalid", run_id, exc.to_dict(), exc.exit_code)
    except TraktError as exc:
        status = "invalid" if exc.exit_code == EXIT_INVALID else "failed"
        return _ended(status, run_id, exc.to_dict(), exc.exit_code)
    except Exception as exc:  # a bug, a library's failure: reported, never raised
        error = {"type": type(exc).__name__, "message": describe(exc), "internal": True}
        return _ended("failed", run_id, error, EXIT_RUN_FAILED)


def parse_event(event: Any) -> Request:
    """The event's keys checked: :class:`UsageError` naming a missing or wrong one."""
    if not isinstance(event, Mapping):
        raise UsageError(
            f"the event must be a JSON object with {', '.join(KEYS)}; found {type(event).__name__}"
        )
    missing = [key for key in KEYS if not isinstance(event.get(key), str) or not event[key]]
    if missing:
        raise UsageError(
            f"the event lacks {', '.join(repr(k) for k in missing)} (a string each); it needs "
            f"{', '.join(KEYS)}, and may have {', '.join(OPTIONAL)}"
        )
    unknown = sorted(set(event) - set(KEYS) - set(OPTIONAL))
    if unknown:
        raise UsageError(
            f"the event has unknown keys {unknown}; known: {', '.join(KEYS + OPTIONAL)}"
        )
    overrides = event.get("input") or {}
    if not isinstance(overrides, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in overrides.items()
    ):
        raise UsageError('the event\'s "input" maps input names to uris: {"orders": "s3://..."}')
    mode = event.get("mode")
    if mode not in (None, "stream", "batch"):
        raise UsageError(f'the event\'s "mode" is "stream" or "batch", found {mode!r}')
    rows = event.get("stream_chunk_size")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise UsageError(
            f'the event\'s "stream_chunk_size" is a count of rows >= 1, found {rows!r}'
        )
    run_id, manifest = event.get("run_id"), event.get("manifest_path")
    for key, value in (("run_id", run_id), ("manifest_path", manifest)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"the event's {key!r} is a string, found {type(value).__name__}")
    return Request(
        event["pipeline_file"],
        event["input_dir"],
        event["output_dir"],
        run_id,
        dict(overrides),
        manifest,
        mode,
        rows,
    )


@contextlib.contextmanager
def _local_copy(pipeline_file: str, scratch: Path) -> Iterator[Path]:
    """The pipeline file as a local path: itself, or a copy of a store's object."""
    if not is_store(pipeline_file):
        yield Path(pipeline_file)
        return
    folder = Path(tempfile.mkdtemp(prefix="trakt-pipeline-", dir=scratch))
    local = folder / (pipeline_file.rstrip("/").rsplit("/", 1)[-1] or "pipeline.yaml")
    try:
        try:
            fs, key = open_store(pipeline_file)
            fs.get_file(key, str(local))
        except Exception as exc:
            raise UsageError(
                f"cannot read the pipeline file {redacted(pipeline_file)}: {describe(exc)}; "
                "check the uri and that the function's role may read it",
                file=redacted(pipeline_file),
            ) from None
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load(local: Path, shown: str) -> Pipeline:
    """The pipeline, validated whole; named by the event's ``pipeline_file``."""
    data, source, problems = read_pipeline_file(local)
    parsed = parse_spec(data, source)
    problems = [*problems, *parsed.problems]
    if parsed.spec is not None and not problems:
        pipeline = Pipeline(spec=parsed.spec, source=replace(source, file=redacted(shown)))
        _, problems = check_pipeline(pipeline, parsed)
        if not problems:
            return pipeline
    problems = [replace(p, file=redacted(shown)) if p.file == str(local) else p for p in problems]
    raise PipelineValidationError(problems, file=redacted(shown))


def _in_mode(pipeline: Pipeline, mode: str | None) -> Pipeline:
    """Stream mode (bounded memory), unless the event or the pipeline itself says batch."""
    spec = pipeline.spec
    said_batch = "execution" in spec.model_fields_set and "mode" in spec.execution.model_fields_set
    wanted = mode or (spec.execution.mode if said_batch else "stream")
    if wanted == spec.execution.mode:
        return pipeline
    execution = ExecutionSpec(mode=wanted)  # type: ignore[arg-type]
    return replace(pipeline, spec=spec.model_copy(update={"execution": execution}))


def _ended(status: str, run_id: str | None, error: dict[str, Any], code: int) -> dict[str, Any]:
    """The result of a run that could not start (a bad event, an invalid pipeline)."""
    return {
        "status": status,
        "run_id": run_id,
        "manifest_path": None,
        "outputs": {},
        "error": json.loads(json.dumps(error, default=str)),  # Lambda returns it as JSON
        "duration_s": None,
        "exit_code": code,
    }
