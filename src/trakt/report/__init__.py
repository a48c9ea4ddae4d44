"""``trakt report``: one self-contained HTML page per run, rendered from its manifest.

The page loads nothing: CSS and SVG are inline, there is no script, and a Content Security
Policy forbids every fetch, so a value that escaped escaping still could not run or call out.
Every manifest string is escaped (step names, messages and summary values are user data).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from trakt.report import dag, sections
from trakt.report.style import STYLE
from trakt.runtime.graph_svg import css_name

__all__ = ["REPORT_NAME", "read_manifest", "render_report", "write_report"]

REPORT_NAME = "report.html"

# No default source at all: no script, font, image, frame or connection; inline styles only.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A manifest file as a dict (``OSError`` / ``ValueError`` when unreadable or not one)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "run_id" not in data or "status" not in data:
        raise ValueError("not a Trakt manifest (no run_id and status)")
    return data


def render_report(manifest: Mapping[str, Any]) -> str:
    """The HTML page of one run (self-contained, every manifest string escaped)."""
    graph = dag.graph_of(manifest)  # derived once (an old manifest's from its pipeline file)
    pipeline = manifest.get("pipeline") or {}
    title = f"{pipeline.get('name') or 'pipeline'} — {manifest.get('status')} — trakt report"
    body = [
        sections.header(manifest),
        sections.error_box(manifest),
        '<h2 id="graph">Graph</h2><div class="dag-wrap">',
        dag.svg({**manifest, "graph": graph} if graph else manifest),
        "</div>",
        '<h2 id="timeline">Timeline</h2>',
        sections.timeline(manifest),
        '<h2 id="steps">Steps</h2>',
        sections.steps_table(manifest, graph),
        '<h2 id="datasets">Inputs and outputs</h2>',
        sections.datasets(manifest),
        '<h2 id="columns">Column summaries</h2>',
        sections.summaries(manifest),
        '<h2 id="events">Events</h2>',
        sections.events(manifest),
    ]
    more = sections.housekeeping(manifest)
    if more:
        body += ['<h2 id="details">Run details</h2>', more]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f'<body class="run-{css_name(manifest.get("status"))}">'
        + "".join(body)
        + "</body></html>\n"
    )


def write_report(manifest: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Render and write atomically (a reader never sees half a page); the path written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".trakt-r-", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render_report(manifest))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
