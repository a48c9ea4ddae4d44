"""A pipeline's DAG (inputs -> steps -> outputs) from its execution plan, and its text
renderings: Mermaid and Graphviz DOT. The SVG rendering is :mod:`trakt.runtime.graph_svg`.

Built from the plan, so the graph is the validated pipeline as it runs: steps resolved (a
step's mode depends on whether its function streams), artifacts bound, no data read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trakt.io.registry import get_format
from trakt.runtime.datasets import OutputPlan
from trakt.runtime.planning import ExecutionPlan

INPUT, STEP, OUTPUT = "input", "step", "output"


@dataclass(frozen=True)
class GraphNode:
    """One node: an input artifact, a step or an output dataset."""

    key: str  # "input:<artifact>", "step:<id>", "output:<name>": unique in the graph
    kind: str  # INPUT, STEP or OUTPUT
    name: str  # the artifact, step id or dataset name
    detail: str  # an input's format, a step's `uses:`, an output's file or table
    mode: str | None = None  # steps: "stream" (chunk by chunk) or "batch" (whole tables)
    streamable: bool = False  # steps: whether the function supports streaming


@dataclass(frozen=True)
class GraphEdge:
    """An artifact flowing from one node to another."""

    source: str  # node key
    target: str  # node key
    artifact: str


@dataclass(frozen=True)
class PipelineGraph:
    """The DAG of a pipeline: nodes (inputs, steps in run order, outputs) and edges."""

    name: str
    mode: str  # the pipeline's execution.mode
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def depths(self) -> dict[str, int]:
        """Each node's column: inputs 0, a step 1 + its deepest producer's, outputs last."""
        depth = {n.key: 0 for n in self.nodes if n.kind == INPUT}
        for node in self.nodes:  # steps come in run order: producers first
            if node.kind == STEP:
                sources = [depth.get(e.source, 0) for e in self.edges if e.target == node.key]
                depth[node.key] = 1 + max(sources, default=0)
        last = 1 + max(depth.values(), default=0)
        depth.update({n.key: last for n in self.nodes if n.kind == OUTPUT})
        return depth


def step_mode(pipeline_mode: str, declared: str | None, streamable: bool) -> str:
    """How a step runs: chunk by chunk only in a stream run, for a stream-capable function,
    unless the step says ``mode: batch`` (then its inputs are materialized)."""
    if pipeline_mode == "stream" and streamable and declared != "batch":
        return "stream"
    return "batch"


def pipeline_graph(plan: ExecutionPlan) -> PipelineGraph:
    """The graph of a planned pipeline."""
    source = plan.pipeline.source
    nodes: list[GraphNode] = []
    producer: dict[str, str] = {}
    for artifact, inp in plan.inputs.items():
        spec = inp.spec
        detail = inp.format
        if spec.table is not None:
            detail = f"{inp.format} table {spec.table}"
        elif spec.query is not None:
            detail = f"{inp.format} query"
        key = f"{INPUT}:{artifact}"
        nodes.append(GraphNode(key, INPUT, artifact, source.conceal_text(detail)))
        producer[artifact] = key
    edges: list[GraphEdge] = []
    for step in plan.steps:
        key = f"{STEP}:{step.id}"
        streamable = step.function.supports_stream
        mode = step_mode(plan.mode, step.mode, streamable)
        nodes.append(GraphNode(key, STEP, step.id, step.uses, mode, streamable))
        edges += _edges_into(key, step.inputs.values(), producer)
        producer.update({artifact: key for artifact in step.outputs.values()})
    for out in plan.outputs:
        key = f"{OUTPUT}:{out.name}"
        detail = f"{out.format} table {out.table.table}" if out.table else _file(out)
        nodes.append(GraphNode(key, OUTPUT, out.name, source.conceal_text(detail)))
        edges += _edges_into(key, [out.from_], producer)
    return PipelineGraph(plan.pipeline.name, plan.mode, tuple(nodes), tuple(edges))


def _file(out: OutputPlan) -> str:
    """An output's file, with its format when the name does not show it (a directory)."""
    extensions = get_format(out.format).extensions
    shown = any(out.path.lower().endswith(e) for e in extensions)
    return out.path if shown else f"{out.path} ({out.format})"


def _edges_into(
    target: str, artifacts: Iterable[str], producer: Mapping[str, str]
) -> list[GraphEdge]:
    """One edge per artifact (a step binding one artifact twice reads it once)."""
    unique = dict.fromkeys(a for a in artifacts if a in producer)
    return [GraphEdge(producer[a], target, a) for a in unique]


def mode_label(node: GraphNode) -> str:
    """A step's mode as shown: ``stream``, ``batch``, or ``batch (stream-capable)``."""
    if node.mode == "batch" and node.streamable:
        return "batch (stream-capable)"
    return node.mode or ""


# --- Mermaid ---------------------------------------------------------------------------------

# Characters shown as themselves in a quoted Mermaid label; any other is an entity code (#35;),
# so no name can end the label, open markup, or start a Markdown string.
_MERMAID_PLAIN = re.compile(r"[A-Za-z0-9 _.,:/()=+*@$%-]")
_MERMAID_SHAPES = {INPUT: ('[("', '")]'), STEP: ('["', '"]'), OUTPUT: ('[/"', '"/]')}
_MERMAID_STYLES = {
    INPUT: "fill:#e3f2fd,stroke:#1565c0,color:#0d47a1",
    "batch": "fill:#fff3e0,stroke:#e65100,color:#3e2723",
    "stream": "fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20,stroke-dasharray:6 3",
    OUTPUT: "fill:#f3e5f5,stroke:#6a1b9a,color:#4a148c",
}


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label (one line)."""
    return "".join(c if _MERMAID_PLAIN.fullmatch(c) else f"#{ord(c)};" for c in _one_line(text))


def _one_line(text: str) -> str:
    return " ".join(text.split()) if any(c in text for c in "\r\n\t\v\f") else text


def _node_lines(node: GraphNode) -> list[str]:
    lines = [node.name, node.detail]
    if node.kind == STEP:
        lines.append(mode_label(node))
    return [line for line in lines if line]


def to_mermaid(graph: PipelineGraph) -> str:
    """A Mermaid ``flowchart LR``: inputs (cylinders), steps (boxes, by mode), outputs."""
    ids = _short_ids(graph)
    lines = ["flowchart LR", f"  %% pipeline {mermaid_text(graph.name)}, mode {graph.mode}"]
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES[node.kind]
        label = "<br/>".join(mermaid_text(line) for line in _node_lines(node))
        lines.append(f"  {ids[node.key]}{opening}{label}{closing}")
    for edge in graph.edges:
        lines.append(
            f'  {ids[edge.source]} -->|"{mermaid_text(edge.artifact)}"| {ids[edge.target]}'
        )
    for cls, style in _MERMAID_STYLES.items():
        lines.append(f"  classDef {cls} {style}")
    groups: dict[str, list[str]] = {}
    for node in graph.nodes:
        groups.setdefault(node.mode or node.kind, []).append(ids[node.key])
    lines += [f"  class {','.join(members)} {cls}" for cls, members in groups.items()]
    return "\n".join(lines) + "\n"


def _short_ids(graph: PipelineGraph) -> dict[str, str]:
    """Identifiers that no name can break: in_0, step_0, out_0 ..."""
    prefix = {INPUT: "in", STEP: "step", OUTPUT: "out"}
    counts: dict[str, int] = {}
    ids = {}
    for node in graph.nodes:
        n = counts[node.kind] = counts.get(node.kind, -1) + 1
        ids[node.key] = f"{prefix[node.kind]}_{n}"
    return ids


# --- Graphviz DOT ----------------------------------------------------------------------------

_DOT_NODES = {
    INPUT: 'shape=cylinder, style=filled, fillcolor="#e3f2fd", color="#1565c0"',
    "batch": 'shape=box, style="rounded,filled", fillcolor="#fff3e0", color="#e65100"',
    "stream": 'shape=box, style="rounded,filled,dashed", fillcolor="#e8f5e9", color="#2e7d32"',
    OUTPUT: 'shape=note, style=filled, fillcolor="#f3e5f5", color="#6a1b9a"',
}


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string (a line break becomes ``\\n``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"\r\n|[\r\n\v\f]", r"\\n", escaped) + '"'


def to_dot(graph: PipelineGraph) -> str:
    """A Graphviz ``digraph``, left to right, inputs first and outputs last."""
    lines = [
        f"digraph {dot_string(graph.name)} {{",
        f"  graph [rankdir=LR, label={dot_string(f'{graph.name} ({graph.mode})')}, "
        'labelloc=t, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#546e7a"];',
    ]
    for node in graph.nodes:
        label = dot_string("\n".join(_node_lines(node)))
        lines.append(
            f"  {dot_string(node.key)} [label={label}, {_DOT_NODES[node.mode or node.kind]}];"
        )
    for kind, rank in ((INPUT, "min"), (OUTPUT, "max")):
        members = " ".join(f"{dot_string(n.key)};" for n in graph.nodes if n.kind == kind)
        if members:
            lines.append(f"  {{ rank={rank}; {members} }}")
    for edge in graph.edges:
        lines.append(
            f"  {dot_string(edge.source)} -> {dot_string(edge.target)} "
            f"[label={dot_string(edge.artifact)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
