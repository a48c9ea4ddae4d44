"""OpenTelemetry traces: the span tree in memory, and a real OTLP/HTTP export on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from tests.conftest import Project
from trakt import load_pipeline_from_yaml
from trakt.model.model import Pipeline
from trakt.runtime.local_runner import LocalRunner

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The application's own provider (set once per process): Trakt must use it."""
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    elif _EXPORTER not in [getattr(p, "span_exporter", None) for p in _processors(current)]:
        current.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    yield _EXPORTER


def _processors(provider: TracerProvider) -> list[Any]:
    return list(getattr(provider._active_span_processor, "_span_processors", ()))


COERCE = """
def run(ctx, input, output):
    ctx.emit_event("coercion", "2 values of amount set to null", column="amount", count=2)
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

BOOM = """
def run(ctx, input, output):
    raise ValueError("amount column is corrupt")
run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

PIPELINE = """
name: traced
inputs:
  records: {{uri: records.csv}}
steps:
  - id: double
    uses: {uses}
    with: {{input: records, output: doubled}}
outputs:
  datasets:
    - {{name: final, from: doubled}}
execution:
  mode: {mode}
"""


def _by_name(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _traced(
    project: Project, code: str, mode: str = "batch", records: str | None = "id,amount\n1,10\n"
) -> Pipeline:
    """The one-step PIPELINE running ``code``; ``records.csv`` holds ``records`` (None: absent)."""
    if records is not None:
        project.csv("records.csv", records)
    uses = project.step("traced_step", code)
    return load_pipeline_from_yaml(project.pipeline(PIPELINE.format(uses=uses, mode=mode)))


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_span_tree_attributes_and_events(
    project: Project, spans: InMemorySpanExporter, mode: str
) -> None:
    spans.clear()
    code = COERCE if mode == "batch" else _streamed(COERCE)
    pipeline = _traced(project, code, mode, "id,amount\n1,10\n2,20\n3,30\n")
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2)
    result = runner.run(pipeline, run_id=f"t-{mode}", otel_enabled=True)
    assert result["status"] == "success"

    finished = list(spans.get_finished_spans())
    (run,) = _by_name(finished, "trakt.run")
    (step,) = _by_name(finished, "trakt.step")
    (read,) = _by_name(finished, "trakt.read")
    (write,) = _by_name(finished, "trakt.write")
    assert run.parent is None
    for child in (step, read, write):
        assert child.parent is not None and child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
    assert run.attributes is not None and dict(run.attributes) == {
        "trakt.run_id": f"t-{mode}",
        "trakt.pipeline": "traced",
        "trakt.mode": mode,
        "trakt.status": "success",
    }
    assert step.attributes is not None
    assert step.attributes["trakt.step_id"] == "double"
    assert step.attributes["trakt.rows_in"] == 3 and step.attributes["trakt.rows_out"] == 3
    if mode == "stream":
        assert step.attributes["trakt.chunks_in"] == 2
    assert read.attributes is not None and read.attributes["trakt.rows"] == 3
    assert read.attributes["trakt.files"] == "records.csv"
    assert write.attributes is not None and write.attributes["trakt.output"] == "final"
    assert write.attributes["trakt.bytes"] == (project.output_dir / "final.csv").stat().st_size
    (event,) = step.events
    assert event.name == "coercion"
    assert event.attributes is not None and event.attributes["column"] == "amount"
    assert event.attributes["count"] == 2
    assert run.start_time is not None and step.start_time is not None
    assert run.start_time <= step.start_time

    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["trace"] == {
        "trace_id": f"{run.context.trace_id:032x}",
        "span_id": f"{run.context.span_id:016x}",
    }


def _streamed(code: str) -> str:
    return code.replace(
        """    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}""",
        """    def chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame
    return {"output": chunks()}""",
    ).replace("run.declared_outputs", "run.supports_stream = True\nrun.declared_outputs")


def test_failure_is_recorded_on_the_step_span(
    project: Project, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    pipeline = _traced(project, BOOM)
    result = LocalRunner(project.input_dir, project.output_dir).run(pipeline, otel_enabled=True)
    assert result["status"] == "failed"

    finished = list(spans.get_finished_spans())
    (run,) = _by_name(finished, "trakt.run")
    (step,) = _by_name(finished, "trakt.step")
    assert step.status.status_code is StatusCode.ERROR
    (exc_event,) = [e for e in step.events if e.name == "exception"]
    assert exc_event.attributes is not None
    assert exc_event.attributes["exception.type"] == "ValueError"
    assert exc_event.attributes["exception.message"] == "amount column is corrupt"
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes is not None and run.attributes["trakt.status"] == "failed"


def test_span_opened_by_the_caller_is_the_parent(
    project: Project, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    pipeline = _traced(project, COERCE)
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("nightly-job") as outer:
        LocalRunner(project.input_dir, project.output_dir).run(pipeline, otel_enabled=True)
    (run,) = _by_name(list(spans.get_finished_spans()), "trakt.run")
    assert run.parent is not None and run.parent.span_id == outer.get_span_context().span_id


class _Receiver(BaseHTTPRequestHandler):
    received: list[bytes] = []  # noqa: RUF012 - one receiver per test process

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_otlp_http_export_to_a_local_receiver(project: Project) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        project.csv("records.csv", "id,amount\n1,10\n2,20\n")
        uses = project.step("coerce", COERCE)
        path = project.pipeline(PIPELINE.format(uses=uses, mode="batch"))
        env = {
            **os.environ,
            "PYTHONPATH": str(project.root),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{server.server_port}/v1/traces",
            "OTEL_SERVICE_NAME": "trakt-test",
        }
        env.pop("OTEL_TRACES_EXPORTER", None)
        proc = subprocess.run(
            [sys.executable, "-m", "trakt.run_local", "--pipeline-file", str(path),
             "--input-dir", str(project.input_dir), "--output-dir", str(project.output_dir),
             "--otel", "--run-id", "otlp-1"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    finally:
        server.shutdown()
    names: dict[str, Any] = {}
    service = None
    for body in _Receiver.received:
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for attr in resource_spans.resource.attributes:
                if attr.key == "service.name":
                    service = attr.value.string_value
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    names[span.name] = span
    assert service == "trakt-test"
    assert set(names) == {"trakt.run", "trakt.step", "trakt.read", "trakt.write"}
    run = names["trakt.run"]
    attributes = {a.key: a.value.string_value for a in run.attributes}
    assert attributes["trakt.run_id"] == "otlp-1"
    assert names["trakt.step"].parent_span_id == run.span_id
    assert [e.name for e in names["trakt.step"].events] == ["coercion"]
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["trace"]["trace_id"] == run.trace_id.hex()


def test_without_the_extra_the_message_names_it(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.modules['opentelemetry.sdk'] = None\n"
        "sys.modules['opentelemetry.sdk.trace'] = None\n"
        "from trakt.runtime.tracing import require_otel\n"
        "try:\n    require_otel()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "UsageError otel_enabled=True needs OpenTelemetry" in proc.stdout
    assert "trakt-etl[otel]" in proc.stdout


def test_contract_events_are_span_events_on_the_read_span(
    project: Project, spans: InMemorySpanExporter
) -> None:
    from tests.runtime.test_contracts import ORDERS, PIPELINE

    spans.clear()
    project.csv("orders.csv", ORDERS)
    yaml_text = PIPELINE.format(policy="warn", mode="stream")
    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text))
    runner = LocalRunner(project.input_dir, project.output_dir, stream_chunk_size=2)
    assert runner.run(pipeline, otel_enabled=True)["status"] == "success"
    (read,) = _by_name(list(spans.get_finished_spans()), "trakt.read")
    found = [
        (e.name, e.attributes["column"], e.attributes["count"])
        for e in read.events
        if e.attributes is not None
    ]
    assert found == [
        ("missing_column", "channel", 1),
        ("coercion", "amount", 2),
        ("warning", "amount", 1),
    ]


def test_a_failed_read_is_an_error_read_span(project: Project, spans: InMemorySpanExporter) -> None:
    spans.clear()
    pipeline = _traced(project, COERCE, records=None)
    result = LocalRunner(project.input_dir, project.output_dir).run(pipeline, otel_enabled=True)
    assert result["status"] == "failed"  # records.csv does not exist
    (read,) = _by_name(list(spans.get_finished_spans()), "trakt.read")
    assert read.status.status_code is StatusCode.ERROR
    assert read.attributes is not None and read.attributes["trakt.artifact"] == "records"
    (event,) = [e for e in read.events if e.name == "exception"]
    assert (
        event.attributes is not None
        and event.attributes["exception.type"] == "trakt.errors.InputError"
    )
