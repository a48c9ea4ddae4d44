"""The run's DAG for the report: inputs → steps → outputs, laid out in layers, drawn as SVG.

Edges come from the manifest's ``graph`` (recorded since the run planned); a manifest without
one (older runs) gets them from its pipeline file when that file is unchanged (same sha256),
else the nodes are drawn without edges. Every text is escaped: names are user data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from trakt.report.sections import css_name

NODE_W, NODE_H = 176, 58
COL_GAP, ROW_GAP, PAD = 64, 22, 16
LABEL_CHARS = 22


@dataclass
class Node:
    """One box of the DAG: an input, a step or an output."""

    key: str  # "input:<name>", "step:<id>", "output:<name>"
    kind: str
    name: str
    status: str
    detail: str
    layer: int = 0
    row: int = 0
    preds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    """An artifact flowing from one node to another."""

    source: str
    target: str
    artifact: str


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


def build(manifest: Mapping[str, Any]) -> tuple[list[Node], list[Edge]]:
    """The nodes (with their status) and edges of the run's DAG."""
    graph = graph_of(manifest) or {}
    error = manifest.get("error") or {}
    failed = manifest.get("status") == "failed"
    inputs: Mapping[str, Any] = manifest.get("inputs") or {}
    records = {str(s.get("id")): s for s in manifest.get("steps") or [] if isinstance(s, Mapping)}
    written = {str(o.get("name")): o for o in manifest.get("outputs") or []}
    nodes: dict[str, Node] = {}

    for name in [*graph.get("inputs", []), *inputs]:
        name = str(name)
        record = inputs.get(name)
        if failed and error.get("artifact") == name and not error.get("step_id"):
            status = "failed"
        else:
            status = "read" if record else "not read"
        rows = _rows(record.get("rows")) if isinstance(record, Mapping) else ""
        nodes.setdefault(
            f"input:{name}", Node(f"input:{name}", "input", name, status, rows and f"{rows} rows")
        )
    planned = [s for s in graph.get("steps", []) if isinstance(s, Mapping)]
    for step in [*planned, *records.values()]:
        sid = str(step.get("id"))
        record = records.get(sid) or {}
        status = str(record.get("status") or "not run")
        rows = _rows(record.get("rows_out"))
        detail = str(step.get("uses") or "") if not rows else f"{rows} rows out"
        nodes.setdefault(f"step:{sid}", Node(f"step:{sid}", "step", sid, status, detail))
    outputs = [o for o in graph.get("outputs", []) if isinstance(o, Mapping)]
    for out in [*outputs, *written.values()]:
        name = str(out.get("name"))
        record = written.get(name)
        if failed and error.get("output") == name:
            status = "failed"
        else:
            status = "written" if record else "not written"
        rows = _rows(record.get("rows")) if record else ""
        nodes.setdefault(
            f"output:{name}",
            Node(f"output:{name}", "output", name, status, rows and f"{rows} rows"),
        )

    producer = {name: f"input:{name}" for name in inputs}
    producer.update({str(n): f"input:{n}" for n in graph.get("inputs", [])})
    for step in planned:
        for artifact in (step.get("outputs") or {}).values():
            producer[str(artifact)] = f"step:{step.get('id')}"
    edges: list[Edge] = []
    for step in planned:
        for artifact in (step.get("inputs") or {}).values():
            source = producer.get(str(artifact))
            if source in nodes:
                edges.append(Edge(source, f"step:{step.get('id')}", str(artifact)))
    for out in [*outputs, *written.values()]:
        source = producer.get(str(out.get("from")))
        edge = Edge(source or "", f"output:{out.get('name')}", str(out.get("from")))
        if source in nodes and edge not in edges:
            edges.append(edge)
    _layout(nodes, edges)
    return list(nodes.values()), edges


def _layout(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Layers by longest path from the inputs (an output one past its source), then rows
    within a layer ordered by their predecessors' mean row (fewer crossings)."""
    for edge in edges:
        nodes[edge.target].preds.append(edge.source)
    for _ in range(len(nodes)):  # longest path; bounded, so even a cycle ends
        changed = False
        for node in nodes.values():
            if node.kind == "input":
                continue
            layer = max((nodes[p].layer + 1 for p in node.preds), default=1)
            if layer != node.layer:
                node.layer, changed = layer, True
        if not changed:
            break
    layers: dict[int, list[Node]] = {}
    for node in nodes.values():
        layers.setdefault(node.layer, []).append(node)
    for index in sorted(layers):
        column = layers[index]
        if index > 0:
            column.sort(key=lambda n: _mean([nodes[p].row for p in n.preds], n.row))
        for row, node in enumerate(column):
            node.row = row


def _mean(values: list[int], default: int) -> float:
    return sum(values) / len(values) if values else float(default)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _xy(node: Node) -> tuple[int, int]:
    return PAD + node.layer * (NODE_W + COL_GAP), PAD + node.row * (NODE_H + ROW_GAP)


def svg(nodes: list[Node], edges: list[Edge]) -> str:
    """The DAG as an inline SVG element (classes ``node node-<kind> status-<status>``)."""
    if not nodes:
        return '<p class="muted">No steps, inputs or outputs recorded.</p>'
    width = PAD * 2 + (max(n.layer for n in nodes) + 1) * (NODE_W + COL_GAP) - COL_GAP
    height = PAD * 2 + (max(n.row for n in nodes) + 1) * (NODE_H + ROW_GAP) - ROW_GAP
    by_key = {n.key: n for n in nodes}
    parts = [
        f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="pipeline graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'class="arrowhead"/></marker></defs>',
    ]
    for edge in edges:
        (x1, y1), (x2, y2) = _xy(by_key[edge.source]), _xy(by_key[edge.target])
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="edge" d="M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}" '
            f'marker-end="url(#arrow)"><title>{escape(edge.artifact)}</title></path>'
        )
    for node in nodes:
        x, y = _xy(node)
        status = css_name(node.status)
        parts.append(
            f'<g class="node node-{node.kind} status-{status}" data-status="{escape(node.status)}"'
            f' data-name="{escape(node.name)}" transform="translate({x},{y})">'
            f"<title>{escape(node.kind)} {escape(node.name)}: {escape(node.status)}</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="{4 if node.kind == "step" else 14}"/>'
            f'<text class="name" x="10" y="20">{escape(_short(node.name))}</text>'
            f'<text class="status" x="10" y="37">{escape(node.kind)} · '
            f"{escape(node.status)}</text>"
            f'<text class="detail" x="10" y="51">{escape(_short(node.detail))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
