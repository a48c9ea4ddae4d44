"""OpenTelemetry traces of a run (the ``otel`` extra).

A run becomes one trace: a root span ``trakt.run``, a child ``trakt.step`` per step, and
``trakt.read`` / ``trakt.write`` children for each input read and output written. Step events
(``ctx.emit_event``) become span events; a failure is recorded as an exception on the span
that raised, with status ERROR, and on the run span.

The spans are built when the run ends, from the manifest's timings (every span gets its real
start and end time). That costs nothing while data flows — stream steps interleave chunk by
chunk, which live spans would have to follow — and the trace and the manifest always agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from trakt._version import __version__
from trakt.errors import UsageError
from trakt.runtime.messages import describe

EXTRA_HINT = "install the otel extra: python -m pip install 'trakt-etl[otel]'"

_owned_provider: Any = None  # the provider Trakt configured itself (flushed after each run)


def _ns(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1e9)


def _end(item: Mapping[str, Any]) -> int | None:
    start = _ns(item.get("started_at"))
    duration = item.get("duration_s")
    return None if start is None or duration is None else start + int(duration * 1e9)


def require_otel() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise UsageError(f"otel_enabled=True needs OpenTelemetry: {EXTRA_HINT}") from None


def _provider() -> Any:
    """The application's tracer provider if it set one; otherwise one from OTEL_* variables."""
    global _owned_provider
    from opentelemetry import trace

    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return current
    if _owned_provider is None:
        _owned_provider = _configure()
        trace.set_tracer_provider(_owned_provider)
    return _owned_provider


def _configure() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "trakt")})
    provider = TracerProvider(resource=resource)
    kinds = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")
    for kind in (k.strip() for k in kinds):
        if kind == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif kind == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif kind != "none":
            raise UsageError(
                f"OTEL_TRACES_EXPORTER={kind!r} is not supported; use otlp, console or none"
            )
    return provider


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """OpenTelemetry takes str, bool, int, float (and lists of them); stringify the rest."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        ok = isinstance(value, str | bool | int | float)
        out[key] = value if ok else str(value)
    return out


def run_trace(
    manifest: Any, failures: Mapping[str, BaseException], parent_context: Any = None
) -> dict[str, str]:
    """The manifest's ``trace``: the ids of the spans emitted, or the error that stopped them
    (tracing must never turn a run into a failure)."""
    try:
        return emit_trace(manifest.to_dict(), failures, parent_context)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {describe(exc)}"}


def emit_trace(
    manifest: Mapping[str, Any],
    failures: Mapping[str, BaseException],
    parent_context: Any = None,
) -> dict[str, str]:
    """Turn a finished run's manifest into spans; return the trace and run span ids.

    ``failures`` maps a step id (or ``""`` for the run itself) to the exception it raised.
    """
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    provider = _provider()
    tracer = provider.get_tracer("trakt", __version__)
    status = manifest["status"]
    error = manifest.get("error") or {}
    run = tracer.start_span(
        "trakt.run",
        context=parent_context,
        start_time=_ns(manifest["started_at"]),
        attributes=_attributes(
            {
                "trakt.run_id": manifest["run_id"],
                "trakt.pipeline": manifest["pipeline"]["name"],
                "trakt.mode": manifest["mode"],
                "trakt.status": status,
            }
        ),
    )
    inside = trace.set_span_in_context(run)
    for artifact, info in manifest["inputs"].items():
        _io_span(tracer, inside, "trakt.read", artifact, info, failures.get(f"input:{artifact}"))
    for key, failure in failures.items():  # a read that failed before anything was recorded
        if key.startswith("input:") and key[6:] not in manifest["inputs"]:
            _io_span(tracer, inside, "trakt.read", key[6:], {}, failure)
    for step in manifest["steps"]:
        _step_span(tracer, inside, step, failures.get(step["id"]))
    for output in manifest["outputs"]:
        _io_span(tracer, inside, "trakt.write", output["name"], output, None)
    if status != "success":
        exc = failures.get("")
        if exc is not None:
            _record_exception(run, exc)
        run.set_status(Status(StatusCode.ERROR, str(error.get("message") or status)))
    else:
        run.set_status(Status(StatusCode.OK))
    run.end(end_time=_end(manifest))
    context = run.get_span_context()
    if provider is _owned_provider:
        provider.force_flush()
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def _step_span(
    tracer: Any, parent: Any, step: Mapping[str, Any], exc: BaseException | None
) -> None:
    from opentelemetry.trace import Status, StatusCode

    attributes: dict[str, Any] = {
        "trakt.step_id": step["id"],
        "trakt.uses": step["uses"],
        "trakt.status": step["status"],
        "trakt.rows_in": sum(step.get("rows_in", {}).values()),
        "trakt.rows_out": sum(step.get("rows_out", {}).values()),
    }
    for binding, rows in step.get("rows_in", {}).items():
        attributes[f"trakt.rows_in.{binding}"] = rows
    for binding, rows in step.get("rows_out", {}).items():
        attributes[f"trakt.rows_out.{binding}"] = rows
    if step.get("chunks_in") is not None:
        attributes["trakt.chunks_in"] = sum(step["chunks_in"].values())
        attributes["trakt.chunks_out"] = sum((step.get("chunks_out") or {}).values())
    span = tracer.start_span(
        "trakt.step", context=parent, start_time=_ns(step["started_at"]), attributes=attributes
    )
    _events(span, step.get("events", []))
    if exc is not None:
        _record_exception(span, exc)
    if step["status"] in ("failed", "aborted"):
        span.set_status(Status(StatusCode.ERROR, step["status"]))
    span.end(end_time=_end(step))


def _io_span(
    tracer: Any,
    parent: Any,
    name: str,
    subject: str,
    info: Mapping[str, Any],
    exc: BaseException | None,
) -> None:
    from opentelemetry.trace import Status, StatusCode

    files = info.get("files")
    attributes = {
        "trakt.artifact" if name == "trakt.read" else "trakt.output": subject,
        "trakt.rows": info.get("rows"),
        "trakt.bytes": sum(f["bytes"] for f in files) if files else info.get("bytes"),
        "trakt.files": ",".join(f["path"] for f in files) if files else info.get("path"),
    }
    span = tracer.start_span(
        name,
        context=parent,
        start_time=_ns(info.get("started_at")),
        attributes=_attributes(attributes),
    )
    _events(span, info.get("events", []))
    if exc is not None:
        _record_exception(span, exc)
        span.set_status(Status(StatusCode.ERROR, describe(exc)))
    span.end(end_time=_end(info))


def _record_exception(span: Any, exc: BaseException) -> None:
    """``span.record_exception``; when the exception's ``str()`` fails, the same event with
    its message rendered safely."""
    import traceback

    try:
        span.record_exception(exc)
    except Exception:
        kind = type(exc)
        span.add_event(
            "exception",
            {
                "exception.type": f"{kind.__module__}.{kind.__qualname__}",
                "exception.message": describe(exc),
                "exception.stacktrace": "".join(traceback.format_exception(exc)),
                "exception.escaped": "False",
            },
        )


def _events(span: Any, events: list[dict[str, Any]]) -> None:
    for event in events:
        extra = {k: v for k, v in event.items() if k not in ("kind", "message", "at")}
        span.add_event(
            event["kind"],
            attributes=_attributes({"message": event["message"], **extra}),
            timestamp=_ns(event.get("at")),
        )
