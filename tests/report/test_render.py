"""The report page's content for real runs (success and failure), read as HTML text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import Project
from tests.report.runs import FAILING_STEP, HOSTILE, MESSAGE, run
from trakt.report import CSP, render_report
from trakt.report.dag import ID_PREFIX, build
from trakt.runtime.graph_svg import layout


def _node(html: str, kind: str, name: str) -> str:
    """The class attribute of the DAG node ``kind`` named ``name``."""
    escaped = name.replace("<", "&lt;").replace(">", "&gt;")
    found = re.search(
        rf'<g [^>]*class="([^"]*node-{kind}[^"]*)"[^>]*data-name="{re.escape(escaped)}"', html
    )
    assert found, f"no {kind} node {name!r} in the page"
    return found.group(1)


def _no_external_reference(html: str) -> None:
    """Nothing in the page could make the browser fetch: no src, href, url() but #fragments,
    no @import; and the CSP forbids it anyway."""
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html
    assert "default-src 'none'" in CSP
    assert not re.search(r"\b(src|href|srcset|action|poster)\s*=", html, re.IGNORECASE)
    assert re.findall(r"url\(([^)]*)\)", html) == [f"#{ID_PREFIX}-arrow"] * html.count("url(")
    assert f'<marker id="{ID_PREFIX}-arrow"' in html
    assert "@import" not in html and "<script" not in html.lower()
    assert "<link" not in html.lower() and "<iframe" not in html.lower()


def test_success_page(project: Project) -> None:
    _, manifest = run(project, [10, 20, 30])
    assert manifest["status"] == "success"
    html = render_report(manifest)

    _no_external_reference(html)
    assert "report_demo" in html and 'class="badge status-success">success<' in html
    # The DAG: every node, coloured by status, with the edges the manifest's graph records.
    assert "status-read" in _node(html, "input", "records")
    for step in ("clean", FAILING_STEP, "publish"):
        assert "status-success" in _node(html, "step", step)
    assert "status-written" in _node(html, "output", "final")
    assert "status-written" in _node(html, "output", "raw_copy")
    assert html.count('<g class="edge"') == 5  # records→clean→check→publish→final, →raw_copy
    # Timeline (1 read, 3 steps, 2 writes), rows per step, column summaries as tables.
    assert html.count('<div class="bar status-') == 6
    assert "<td>input: 3</td><td>output: 3</td>" in html
    summary = html[html.index('id="columns"') :]
    assert "<td>amount</td><td>Int64</td><td>0</td><td>10</td><td>30</td>" in summary
    assert '<section class="error"' not in html


def test_failure_page_escapes_user_data(project: Project) -> None:
    _, manifest = run(project, [10, -3])
    assert manifest["status"] == "failed"
    assert manifest["error"]["message"] == MESSAGE
    html = render_report(manifest)

    _no_external_reference(html)  # the message's <script> stayed text
    assert HOSTILE not in html and "<b>bold</b>" not in html
    shown = (
        "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; "
        "&quot;quoted&quot;"
    )
    assert f'<span class="error-message">amount must be positive, found -3 {shown}</span>' in html
    assert "<strong>ValueError</strong>" in html
    assert "step <code>check&lt;amounts&gt;</code>" in html
    assert 'class="traceback">Traceback (most recent call last)' in html
    # The failing step red, the one before it green, the one after never ran; nothing written.
    assert "status-failed" in _node(html, "step", FAILING_STEP)
    assert "step · failed" in html
    assert "status-success" in _node(html, "step", "clean")
    assert "status-not-run" in _node(html, "step", "publish")
    assert "status-not-written" in _node(html, "output", "final")
    assert "None published (a failed run publishes nothing)" in html
    # The step's event, escaped, with its attributes.
    assert "<td>warning</td><td>negative amounts &lt;i&gt;found&lt;/i&gt;</td>" in html
    assert "{&quot;rows&quot;: 1}" in html


def test_error_location_and_any_manifest_string_escaped() -> None:
    manifest: dict[str, Any] = {
        "run_id": "r1",
        "status": "failed",
        "pipeline": {"name": "<p>", "file": None, "sha256": None},
        "started_at": "2026-01-01T00:00:00Z",
        "steps": [{"id": "s<1>", "uses": "m.<f>", "status": "failed", "events": []}],
        "inputs": {"in<x>": {"rows": 1, "column_summaries": {"c<1>": {"min": "<img>"}}}},
        "outputs": [],
        "error": {
            "step_id": "s<1>",
            "type": "Boom<T>",
            "message": "</pre><script>x()</script>",
            "location": {"file": "/p/steps/<odd>.py", "line": 12},
            "traceback": "</pre><script>y()</script>",
            "extra_field": "<i>",
        },
    }
    html = render_report(manifest)
    _no_external_reference(html)
    assert "at <code>/p/steps/&lt;odd&gt;.py:12</code>" in html
    assert "<strong>Boom&lt;T&gt;</strong>" in html
    assert "&lt;/pre&gt;&lt;script&gt;y()&lt;/script&gt;</pre>" in html
    assert "<td>extra_field</td><td>&lt;i&gt;</td>" in html
    assert "<td>c&lt;1&gt;</td><td>&lt;img&gt;</td>" in html
    assert "<title>&lt;p&gt; — failed — trakt report</title>" in html
    assert "<h1>&lt;p&gt; <span" in html
    for raw in ("<img>", "<i>", "s<1>", "in<x>", "m.<f>", "<T>", "<odd>", "<script>"):
        assert raw not in html


def test_old_manifest_without_graph(project: Project) -> None:
    """A manifest from before ``graph`` was recorded: edges from its unchanged pipeline file;
    once the file changed, the nodes alone (an edited file's edges could lie)."""
    _, manifest = run(project, [10, -3])
    del manifest["graph"]
    graph, _ = build(manifest)
    assert {(e.source, e.target) for e in graph.edges} == {
        ("input:records", "step:clean"),
        ("step:clean", f"step:{FAILING_STEP}"),
        (f"step:{FAILING_STEP}", "step:publish"),
        ("step:publish", "output:final"),
        ("input:records", "output:raw_copy"),
    }
    Path(manifest["pipeline"]["file"]).write_text("# edited\n")
    graph, statuses = build(manifest)
    assert graph.edges == ()
    # What the manifest itself records: the input, the two steps that ran, no output.
    assert sorted(n.key for n in graph.nodes) == [
        "input:records",
        "step:check<amounts>",
        "step:clean",
    ]
    assert statuses["step:check<amounts>"] == "failed"
    assert 'class="badge status-failed"' in render_report(manifest)


def test_layers_follow_the_data() -> None:
    """Inputs first, each step one column past its latest source, outputs last (the layout of
    ``trakt graph``); within a column, rows follow the predecessors (a diamond stays
    untangled)."""
    graph = {
        "inputs": ["a", "b"],
        "steps": [
            {"id": "left", "inputs": {"x": "a"}, "outputs": {"y": "l"}},
            {"id": "right", "inputs": {"x": "b"}, "outputs": {"y": "r"}},
            {"id": "join", "inputs": {"p": "l", "q": "r"}, "outputs": {"y": "j"}},
        ],
        "outputs": [{"name": "out", "from": "j"}, {"name": "copy", "from": "a"}],
    }
    drawn, statuses = build({"run_id": "r", "status": "running", "graph": graph})
    boxes = layout(drawn, statuses).boxes
    column = {key: box.column for key, box in boxes.items()}
    assert column["input:a"] == column["input:b"] == 0
    assert column["step:left"] == column["step:right"] == 1
    assert column["step:join"] == 2
    assert column["output:out"] == column["output:copy"] == 3
    # left above right, as a above b; the join between them
    assert boxes["input:a"].y < boxes["input:b"].y
    assert boxes["step:left"].y < boxes["step:right"].y
    assert len(drawn.edges) == 6
    assert {statuses[n.key] for n in drawn.nodes if n.kind == "step"} == {"not run"}
    assert set(statuses.values()) == {"not read", "not run", "not written"}
