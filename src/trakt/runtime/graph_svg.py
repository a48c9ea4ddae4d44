"""A pipeline graph as a self-contained SVG, laid out without Graphviz.

Layered layout: inputs in the first column, each step in the column of its DAG depth, outputs
in the last; within a column nodes follow the mean row of what feeds them (fewer crossings).
Every text is escaped; nothing external is referenced (no fonts, images, scripts or links), so
the SVG can be written to a file or inlined into an HTML report (``trakt report`` draws a run's
DAG with it). Per-node statuses become CSS classes (``status-<status>``), coloured by the
embedded style sheet, and a ``<kind> · <status>`` line in the node; all rules are scoped to
the root's ``trakt-graph`` class so that an inlined SVG does not restyle its page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trakt.runtime.graph import INPUT, OUTPUT, STEP, GraphNode, PipelineGraph, mode_label

NAME_PX, DETAIL_PX = 13, 10  # font sizes
CHAR_EM = 0.62  # the width of an average character, in font sizes (no font metrics here)
MIN_W, MAX_W, PAD = 120, 280, 14
ROW_GAP, COL_GAP, MARGIN, CAPTION_H, LEGEND_H, LANE = 22, 90, 20, 30, 34, 18
HEIGHT = {INPUT: 46, STEP: 62, OUTPUT: 46}  # with LINES[kind] lines of text
LINES, LINE_H = {INPUT: 2, STEP: 3, OUTPUT: 2}, 13  # LINE_H: each further line (a status)

# The statuses a run records (manifest steps: pending, running, success, failed, aborted; a
# run: cancelled, invalid), skipped, and the report's for inputs and outputs (read, written)
# and for what a run never reached (not run, not read, not written: also dashed); any other
# status gets its class but no colour.
_IDLE = ("not-run", "not-read", "not-written")
_STATUS_FILL = {
    "pending": "#eceff1",
    "running": "#bbdefb",
    "success": "#c8e6c9",
    "failed": "#ffcdd2",
    "aborted": "#ffe0b2",
    "cancelled": "#ffe0b2",
    "invalid": "#ffcdd2",
    "skipped": "#f5f5f5",
    "read": "#c8e6c9",
    "written": "#c8e6c9",
    **dict.fromkeys(_IDLE, "#f5f5f5"),
}

_STYLE = """
.trakt-graph { font-family: Helvetica, Arial, sans-serif; }
.trakt-graph .caption { font-size: 14px; font-weight: bold; fill: #263238; }
.trakt-graph .node rect { stroke-width: 1.5; }
.trakt-graph .node .name { font-size: 13px; font-weight: bold; fill: #212121; }
.trakt-graph .node .detail, .trakt-graph .node .mode, .trakt-graph .node .status {
  font-size: 10px; fill: #455a64; }
.trakt-graph .node.status-failed .status { fill: #c62828; font-weight: bold; }
.trakt-graph .input rect { fill: #e3f2fd; stroke: #1565c0; }
.trakt-graph .step rect { fill: #fff3e0; stroke: #e65100; }
.trakt-graph .step.stream rect { fill: #e8f5e9; stroke: #2e7d32; stroke-dasharray: 6 3; }
.trakt-graph .output rect { fill: #f3e5f5; stroke: #6a1b9a; }
.trakt-graph .edge path { fill: none; stroke: #78909c; stroke-width: 1.4; }
.trakt-graph .edge text { font-size: 10px; fill: #37474f; stroke: #ffffff; stroke-width: 3;
  paint-order: stroke; }
.trakt-graph .legend text { font-size: 10px; fill: #455a64; }
.trakt-graph .node.status-running rect { stroke-width: 3; }
.trakt-graph .node.status-failed rect { stroke: #c62828; stroke-width: 3; }
"""

# Characters XML 1.0 cannot hold even escaped (C0 controls but tab and line breaks, FFFE/FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` escaped for XML content and double-quoted attributes."""
    text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def css_name(text: Any) -> str:
    """``text`` (a status, a name: data) as a CSS class or id fragment: ASCII letters, digits,
    ``-`` and ``_`` only, any other character a ``-`` (``not run``: ``not-run``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(text)) or "_"


@dataclass(frozen=True)
class _Box:
    node: GraphNode
    column: int
    x: float
    y: float
    w: float
    h: float
    texts: list[tuple[str, int, str]]  # text, font size, class


@dataclass(frozen=True)
class Layout:
    """Where everything is: node boxes by key, each column's extent, the drawing's size."""

    boxes: dict[str, _Box]
    columns: list[tuple[float, float, float, float]]  # left, right, top, bottom
    width: float
    height: float


def _width(texts: list[tuple[str, int, str]]) -> float:
    widest = max(len(text) * px * CHAR_EM for text, px, _ in texts)
    return min(MAX_W, max(MIN_W, widest + 2 * PAD))


def _fit(text: str, px: int, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` (the whole text is in the tooltip)."""
    room = int((width - 2 * PAD) / (px * CHAR_EM))
    return text if len(text) <= room else text[: max(room - 1, 1)] + "…"


def _columns(graph: PipelineGraph) -> list[list[GraphNode]]:
    """The nodes by column, each column ordered by the mean row of its sources."""
    depth = graph.depths()
    columns: list[list[GraphNode]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in graph.nodes:
        columns[depth[node.key]].append(node)
    row: dict[str, float] = {}
    for column in columns:
        order = {n.key: i for i, n in enumerate(column)}

        def place(node: GraphNode, order: dict[str, int] = order) -> tuple[float, int]:
            rows = [row[e.source] for e in graph.edges if e.target == node.key and e.source in row]
            return (sum(rows) / len(rows) if rows else float(order[node.key]), order[node.key])

        column.sort(key=place)
        row.update({n.key: float(i) for i, n in enumerate(column)})
    return columns


def layout(graph: PipelineGraph, statuses: Mapping[str, str] | None = None) -> Layout:
    """Every node's box, each column's extent, and the drawing's size (a node with a status
    has a line more)."""
    statuses = statuses or {}
    texts = {n.key: _texts(n, statuses.get(n.key)) for n in graph.nodes}
    high = {
        n.key: HEIGHT[n.kind] + LINE_H * (len(texts[n.key]) - LINES[n.kind]) for n in graph.nodes
    }
    columns = _columns(graph)
    heights = [sum(high[n.key] for n in c) + ROW_GAP * max(len(c) - 1, 0) for c in columns]
    tallest = max(heights, default=0)
    top = MARGIN + CAPTION_H + LANE  # a lane above the tallest column for edges that skip it
    boxes: dict[str, _Box] = {}
    extents = []
    x = float(MARGIN)
    for index, (column, height) in enumerate(zip(columns, heights, strict=True)):
        width = max(_width(texts[n.key]) for n in column)
        y = first = top + (tallest - height) / 2
        for node in column:
            boxes[node.key] = _Box(node, index, x, y, width, high[node.key], texts[node.key])
            y += high[node.key] + ROW_GAP
        extents.append((x, x + width, first, first + height))
        x += width + COL_GAP
    width = max(x - COL_GAP + MARGIN, 2 * MARGIN + 420)  # room for the legend
    return Layout(boxes, extents, width, top + tallest + LANE + LEGEND_H + MARGIN)


def _texts(node: GraphNode, status: str | None) -> list[tuple[str, int, str]]:
    """A node's lines: its name, its status (if any), its detail, a step's mode (if known)."""
    texts = [(node.name, NAME_PX, "name")]
    if status:
        texts.append((f"{node.kind} · {status}", DETAIL_PX, "status"))
    texts.append((node.detail, DETAIL_PX, "detail"))
    if node.kind == STEP and mode_label(node):
        texts.append((mode_label(node), DETAIL_PX, "mode"))
    return texts


def to_svg(
    graph: PipelineGraph, statuses: Mapping[str, str] | None = None, *, id_prefix: str = "trakt"
) -> str:
    """The graph as an SVG document.

    ``statuses`` maps node keys (``input:<artifact>``, ``step:<id>``, ``output:<name>``) to a
    status (``success``, ``failed``...): the node gets the class ``status-<status>`` (coloured
    for the statuses a run records), a ``<kind> · <status>`` line and the status in its
    tooltip. ``id_prefix`` starts every
    ``id`` in the SVG, so several SVGs can be inlined into one HTML page.
    """
    statuses = statuses or {}
    prefix = css_name(id_prefix)
    drawn = layout(graph, statuses)
    width, height = drawn.width, drawn.height
    title = f"pipeline {graph.name} ({graph.mode})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trakt-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{xml_text(title)}">',
        f"<title>{xml_text(title)}</title>",
        f"<style>{_STYLE}{_status_style()}</style>",
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#78909c"/></marker></defs>',
        f'<text class="caption" x="{MARGIN}" y="{MARGIN + 14}">{xml_text(title)}</text>',
    ]
    for edge in graph.edges:
        parts.append(_edge(drawn, edge.source, edge.target, edge.artifact, prefix))
    ids: set[str] = set()
    for box in drawn.boxes.values():
        parts.append(_node(box, statuses.get(box.node.key), _unique_id(box.node, prefix, ids)))
    parts.append(_legend(height - MARGIN - LEGEND_H + 12))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _status_style() -> str:
    idle = ", ".join(f".trakt-graph .node.status-{status} rect" for status in _IDLE)
    return (
        "".join(
            f".trakt-graph .node.status-{status} rect {{ fill: {fill}; }}\n"
            for status, fill in _STATUS_FILL.items()
        )
        + f"{idle} {{ stroke-dasharray: 4 3; }}\n"
    )


def _unique_id(node: GraphNode, prefix: str, taken: set[str]) -> str:
    base = candidate = f"{prefix}-{node.kind}-{css_name(node.name)}"
    n = 1
    while candidate in taken:  # names differing only in characters css_name replaces
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def _node(box: _Box, status: str | None, element_id: str) -> str:
    node = box.node
    classes = ["node", node.kind]
    if node.mode:
        classes.append(node.mode)
    classes.append(f"node-{node.kind}")
    tooltip = f"{node.kind} {node.name}: {node.detail}"
    if node.kind == STEP and mode_label(node):
        tooltip += f" ({mode_label(node)})"
    if status:
        classes.append(f"status-{css_name(status)}")
        tooltip += f" - {status}"
    radius = {INPUT: box.h / 2, STEP: 8, OUTPUT: 2}[node.kind]
    cx = box.x + box.w / 2
    lines = [
        f'<g id="{element_id}" class="{" ".join(classes)}" data-key="{xml_text(node.key)}" '
        f'data-kind="{node.kind}" data-name="{xml_text(node.name)}"'
        + (f' data-status="{xml_text(status)}">' if status else ">"),
        f"<title>{xml_text(tooltip)}</title>",
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="{radius:.1f}"/>',
    ]
    y = box.y + 18
    for text, px, cls in box.texts:
        lines.append(
            f'<text class="{cls}" x="{cx:.1f}" y="{y:.1f}" text-anchor="middle">'
            f"{xml_text(_fit(text, px, box.w))}</text>"
        )
        y += px + 4 if cls == "name" else px + 3
    lines.append("</g>")
    return "\n".join(lines)


def _edge(drawn: Layout, source_key: str, target_key: str, artifact: str, prefix: str) -> str:
    source, target = drawn.boxes[source_key], drawn.boxes[target_key]
    x1, y1 = source.x + source.w, source.y + source.h / 2
    x2, y2 = target.x, target.y + target.h / 2
    between = drawn.columns[source.column + 1 : target.column]
    if between:  # past the columns it skips: along a lane above or below them
        above = min(c[2] for c in between) - LANE / 2
        below = max(c[3] for c in between) + LANE / 2
        lane = above if abs(above - (y1 + y2) / 2) <= abs(below - (y1 + y2) / 2) else below
        left, right = between[0][0], between[-1][1]
        path = (
            f"M {x1:.1f} {y1:.1f} {_curve(x1, y1, left, lane)} L {right:.1f} {lane:.1f} "
            f"{_curve(right, lane, x2, y2)}"
        )
        mx, my = (left + right) / 2, lane - 4
    else:
        path = f"M {x1:.1f} {y1:.1f} {_curve(x1, y1, x2, y2)}"
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 4
    # An edge out of an input carries the input's own name: no label needed.
    label = ""
    if source.node.kind != INPUT:
        label = (
            f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle">'
            f"{xml_text(_fit(artifact, DETAIL_PX, COL_GAP + 2 * PAD + 40))}</text>"
        )
    return (
        f'<g class="edge" data-source="{xml_text(source_key)}" '
        f'data-target="{xml_text(target_key)}" data-artifact="{xml_text(artifact)}">'
        f"<title>{xml_text(artifact)}</title>"
        f'<path d="{path}" marker-end="url(#{prefix}-arrow)"/>{label}</g>'
    )


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    """A horizontal S-curve from the current point (x1, y1) to (x2, y2)."""
    bend = max((x2 - x1) / 2, 20)
    return f"C {x1 + bend:.1f} {y1:.1f}, {x2 - bend:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"


def _legend(y: float) -> str:
    items = [("input", INPUT, ""), ("step (batch)", STEP, ""), ("step (stream)", STEP, " stream")]
    items.append(("output", OUTPUT, ""))
    parts = ['<g class="legend">']
    x = float(MARGIN)
    for label, kind, extra in items:
        parts.append(
            f'<g class="{kind}{extra}"><rect x="{x:.1f}" y="{y:.1f}" width="18" height="12" '
            f'rx="3"/></g><text x="{x + 24:.1f}" y="{y + 10:.1f}">{label}</text>'
        )
        x += 30 + len(label) * 10 * CHAR_EM + 16
    parts.append("</g>")
    return "".join(parts)
