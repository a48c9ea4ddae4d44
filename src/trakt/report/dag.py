"""The run's DAG for the report: the manifest's graph as a ``PipelineGraph``, each node's
status, drawn by :func:`trakt.runtime.graph_svg.to_svg` (the layout ``trakt graph`` draws).

Edges come from the manifest's ``graph`` (recorded since the run planned); a manifest without
one (older runs) gets them from its pipeline file when that file is unchanged (same sha256),
else the nodes are drawn without edges. Every text is escaped by ``to_svg``: names are user data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trakt.runtime.graph import INPUT, OUTPUT, STEP, GraphEdge, GraphNode, PipelineGraph
from trakt.runtime.graph_svg import to_svg

ID_PREFIX = "dag"  # starts every id of the report's SVG


def graph_of(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The manifest's ``graph``, or one re-derived from its unchanged pipeline file, or None."""
    graph = manifest.get("graph")
    if isinstance(graph, Mapping):
        return dict(graph)
    pipeline = manifest.get("pipeline") or {}
    file, sha = pipeline.get("file"), pipeline.get("sha256")
    if not file or not sha:
        return None
    try:
        if hashlib.sha256(Path(file).read_bytes()).hexdigest() != sha:
            return None  # edited since the run: its edges could lie
        # Light on purpose: only an old manifest needs this, and it imports the step modules.
        from trakt.api import load_pipeline_from_yaml
        from trakt.runtime.planning import plan_pipeline

        return plan_pipeline(load_pipeline_from_yaml(file)).graph()
    except Exception:  # a report must render whatever the pipeline file has become
        return None


def _rows(value: Any) -> str:
    if isinstance(value, Mapping):
        numbers = [v for v in value.values() if isinstance(v, int)]
        return f"{sum(numbers):,}" if numbers else ""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else ""


def build(manifest: Mapping[str, Any]) -> tuple[PipelineGraph, dict[str, str]]:
    """The run's DAG (each node's detail: its rows, else a step's ``uses``) and each node's
    status: ``read`` / ``not read``, a step's recorded status or ``not run``, ``written`` /
    ``not written``, ``failed`` for the input or output the run's error names."""
    graph = graph_of(manifest) or {}
    error = manifest.get("error") or {}
    failed = manifest.get("status") == "failed"
    inputs: Mapping[str, Any] = manifest.get("inputs") or {}
    records = {str(s.get("id")): s for s in manifest.get("steps") or [] if isinstance(s, Mapping)}
    written = {str(o.get("name")): o for o in manifest.get("outputs") or []}
    nodes: dict[str, GraphNode] = {}
    statuses: dict[str, str] = {}

    def add(kind: str, name: str, status: str, detail: str) -> None:
        key = f"{kind}:{name}"
        if key not in nodes:
            nodes[key] = GraphNode(key, kind, name, detail)
            statuses[key] = status

    for name in map(str, [*graph.get("inputs", []), *inputs]):
        record = inputs.get(name)
        if failed and error.get("artifact") == name and not error.get("step_id"):
            status = "failed"
        else:
            status = "read" if record else "not read"
        rows = _rows(record.get("rows")) if isinstance(record, Mapping) else ""
        add(INPUT, name, status, rows and f"{rows} rows")
    planned = [s for s in graph.get("steps", []) if isinstance(s, Mapping)]
    for step in [*planned, *records.values()]:
        sid = str(step.get("id"))
        record = records.get(sid) or {}
        rows = _rows(record.get("rows_out"))
        detail = f"{rows} rows out" if rows else str(step.get("uses") or "")
        add(STEP, sid, str(record.get("status") or "not run"), detail)
    outputs = [o for o in graph.get("outputs", []) if isinstance(o, Mapping)]
    for out in [*outputs, *written.values()]:
        name = str(out.get("name"))
        record = written.get(name)
        if failed and error.get("output") == name:
            status = "failed"
        else:
            status = "written" if record else "not written"
        rows = _rows(record.get("rows")) if record else ""
        add(OUTPUT, name, status, rows and f"{rows} rows")

    producer = {str(n): f"input:{n}" for n in [*inputs, *graph.get("inputs", [])]}
    edges: dict[GraphEdge, None] = {}  # in order, each once
    for step in planned:
        for artifact in map(str, (step.get("inputs") or {}).values()):
            if producer.get(artifact) in nodes:
                edges[GraphEdge(producer[artifact], f"step:{step.get('id')}", artifact)] = None
        for artifact in (step.get("outputs") or {}).values():
            producer[str(artifact)] = f"step:{step.get('id')}"
    for out in [*outputs, *written.values()]:
        artifact = str(out.get("from"))
        if producer.get(artifact) in nodes:
            edges[GraphEdge(producer[artifact], f"output:{out.get('name')}", artifact)] = None
    pipeline = manifest.get("pipeline") or {}
    name = str(pipeline.get("name") or "pipeline")
    # A manifest records its execution mode; batch is the default of one that does not.
    drawn = PipelineGraph(
        name, str(manifest.get("mode") or "batch"), tuple(nodes.values()), tuple(edges)
    )
    return drawn, statuses


def svg(manifest: Mapping[str, Any]) -> str:
    """The run's DAG as an inline SVG element, or a note when the manifest records no node."""
    graph, statuses = build(manifest)
    if not graph.nodes:
        return '<p class="muted">No steps, inputs or outputs recorded.</p>'
    return to_svg(graph, statuses, id_prefix=ID_PREFIX)
