"""The report's sections as HTML fragments, from a manifest dict; every value escaped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from trakt.runtime.graph_svg import css_name

MAX_EVENTS = 200  # per place: a contract can warn once per row
MAX_CELL = 400  # characters of one value in a table cell (the full text in its title)

# Error keys shown by the error box itself; every other key goes to its table.
_ERROR_SHOWN = frozenset(
    {"type", "message", "traceback", "location", "step_id", "artifact", "output", "chunk_index"}
)


def text(value: Any) -> str:
    """One value as escaped text: None a dash, containers as JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, int | float):
        shown = f"{value:,}" if isinstance(value, int) else str(value)  # exact, as recorded
    elif isinstance(value, str):
        shown = value
    else:
        shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > MAX_CELL:
        return f'<span title="{escape(shown)}">{escape(shown[:MAX_CELL])}…</span>'
    return escape(shown)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; cells are values (escaped here) unless wrapped by :class:`Raw`."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table class="{escape(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


class Raw(str):
    """HTML built here (already escaped): put in a cell as is."""


def _cell(value: Any) -> str:
    return str(value) if isinstance(value, Raw) else text(value)


def badge(status: Any) -> Raw:
    """A status as a coloured label."""
    word = str(status or "unknown")
    return Raw(f'<span class="badge status-{css_name(word)}">{escape(word)}</span>')


def counts(mapping: Any) -> str:
    """``{binding: rows}`` as ``binding: n, ...``."""
    if not isinstance(mapping, Mapping) or not mapping:
        return "—"
    return ", ".join(
        f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in mapping.items()
    )


def header(m: Mapping[str, Any]) -> str:
    """Pipeline, run id, status and times."""
    pipeline = m.get("pipeline") or {}
    facts = [
        ("pipeline file", pipeline.get("file")),
        ("run id", m.get("run_id")),
        ("mode", m.get("mode")),
        ("started", m.get("started_at")),
        ("finished", m.get("finished_at")),
        ("duration", _seconds(m.get("duration_s"))),
        ("peak memory", _mib(m.get("peak_rss_bytes"))),
        ("trakt", m.get("trakt_version")),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{text(v)}</dd>" for k, v in facts if v is not None)
    return (
        f"<header><h1>{text(pipeline.get('name') or 'pipeline')} {badge(m.get('status'))}</h1>"
        f'<dl class="facts">{items}</dl></header>'
    )


def _seconds(value: Any) -> str | None:
    return f"{value:.3f} s" if isinstance(value, int | float) else None


def _mib(value: Any) -> str | None:
    return f"{value / 2**20:.1f} MiB" if isinstance(value, int) else None


def error_box(m: Mapping[str, Any]) -> str:
    """The error: type, message, where (step, file:line), the traceback, other fields."""
    error = m.get("error")
    if not isinstance(error, Mapping):
        return ""
    where = []
    for key, label in (("step_id", "step"), ("artifact", "input"), ("output", "output")):
        if error.get(key):
            where.append(f"{label} <code>{text(error[key])}</code>")
    if error.get("chunk_index") is not None:
        where.append(f"chunk {text(error['chunk_index'])}")
    location = error.get("location")
    loc = ""
    if isinstance(location, Mapping) and location.get("file"):
        spot = str(location["file"])
        if location.get("line") is not None:
            spot += f":{location['line']}"
        loc = f'<p class="location">at <code>{escape(spot)}</code></p>'
    elif isinstance(location, str) and location:
        loc = f'<p class="location">at <code>{escape(location)}</code></p>'
    trace = error.get("traceback")
    tb = (
        f'<details open><summary>traceback</summary><pre class="traceback">{escape(str(trace))}'
        "</pre></details>"
        if trace
        else ""
    )
    rest = [(k, v) for k, v in error.items() if k not in _ERROR_SHOWN and v not in (None, "")]
    extra = table(["field", "value"], rest, "kv") if rest else ""
    title = "Run failed" if m.get("status") == "failed" else f"Run {m.get('status') or 'ended'}"
    return (
        f'<section class="error" id="error"><h2>{escape(title)}</h2>'
        f"<p>{' · '.join(where)}</p>"
        f'<p class="message"><strong>{text(error.get("type"))}</strong>: '
        f'<span class="error-message">{escape(str(error.get("message", "")))}</span></p>'
        f"{loc}{tb}{extra}</section>"
    )


def _parse(when: Any) -> datetime | None:
    if not isinstance(when, str):
        return None
    try:
        return datetime.fromisoformat(when)
    except ValueError:
        return None


def timeline(m: Mapping[str, Any]) -> str:
    """Reads, steps and writes as bars on the run's time axis (started_at + duration_s)."""
    items: list[tuple[str, str, str, Any, Any]] = []
    for name, record in (m.get("inputs") or {}).items():
        if isinstance(record, Mapping):
            items.append(
                ("read", str(name), "read", record.get("started_at"), record.get("duration_s"))
            )
    for step in m.get("steps") or []:
        items.append(
            (
                "step",
                str(step.get("id")),
                str(step.get("status")),
                step.get("started_at"),
                step.get("duration_s"),
            )
        )
    for out in m.get("outputs") or []:
        items.append(
            ("write", str(out.get("name")), "written", out.get("started_at"), out.get("duration_s"))
        )
    start = _parse(m.get("started_at"))
    spans = []
    for kind, name, status, when, took in items:
        at = _parse(when)
        if at is None or start is None:
            continue
        offset = max((at - start).total_seconds(), 0.0)
        spans.append(
            (kind, name, status, offset, float(took) if isinstance(took, int | float) else 0.0)
        )
    if not spans:
        return '<p class="muted">Nothing timed yet.</p>'
    total = max([m.get("duration_s") or 0.0, *(o + d for _, _, _, o, d in spans)]) or 1.0
    rows = []
    for kind, name, status, offset, took in sorted(spans, key=lambda s: s[3]):
        left, width = 100 * offset / total, max(100 * took / total, 0.4)
        css = css_name(status)
        rows.append(
            f'<tr><td class="kind">{escape(kind)}</td><td>{escape(name)}</td>'
            f'<td class="lane"><div class="bar status-{css}" style="margin-left:{left:.3f}%;'
            f'width:{min(width, 100 - left):.3f}%" title="{escape(name)}: {took:.3f} s from '
            f'{offset:.3f} s"></div></td><td class="num">{took:.3f} s</td></tr>'
        )
    return (
        f'<table class="timeline"><thead><tr><th></th><th></th><th>0 – {total:.3f} s</th>'
        f"<th>took</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def steps_table(m: Mapping[str, Any], graph: Mapping[str, Any] | None) -> str:
    """One row per step: uses, status, start, duration, rows in and out, chunks, events."""
    records = {str(s.get("id")): s for s in m.get("steps") or []}
    planned = [str(s.get("id")) for s in (graph or {}).get("steps", [])]
    order = planned + [sid for sid in records if sid not in planned]
    rows = []
    for sid in order:
        step = records.get(sid) or {}
        uses = step.get("uses") or next(
            (s.get("uses") for s in (graph or {}).get("steps", []) if str(s.get("id")) == sid), None
        )
        rows.append(
            [
                sid,
                uses,
                badge(step.get("status") or "not run"),
                step.get("started_at"),
                _seconds(step.get("duration_s")),
                counts(step.get("rows_in")),
                counts(step.get("rows_out")),
                counts(step.get("chunks_in")) if step.get("chunks_in") else "—",
                len(step.get("events") or []),
            ]
        )
    if not rows:
        return '<p class="muted">No steps.</p>'
    headers = [
        "step",
        "uses",
        "status",
        "started",
        "took",
        "rows in",
        "rows out",
        "chunks in",
        "events",
    ]
    return table(headers, rows, "steps")


def datasets(m: Mapping[str, Any]) -> str:
    """Inputs and outputs: where, format, rows, files, bytes."""
    inputs = [
        [name, r.get("uri"), r.get("format"), r.get("rows"), len(r.get("files") or []), _bad(r)]
        for name, r in (m.get("inputs") or {}).items()
        if isinstance(r, Mapping)
    ]
    outputs = [
        [o.get("name"), o.get("from"), o.get("uri"), o.get("format"), o.get("rows"), o.get("bytes")]
        for o in m.get("outputs") or []
    ]
    parts = ["<h3>Inputs</h3>"]
    parts.append(
        table(["input", "uri", "format", "rows", "files", "bad lines"], inputs)
        if inputs
        else '<p class="muted">None read.</p>'
    )
    parts.append("<h3>Outputs</h3>")
    parts.append(
        table(["output", "from", "uri", "format", "rows", "bytes"], outputs)
        if outputs
        else '<p class="muted">None published'
        + (" (a failed run publishes nothing)" if m.get("status") == "failed" else "")
        + ".</p>"
    )
    return "".join(parts)


def _bad(record: Mapping[str, Any]) -> Any:
    bad = record.get("bad_lines")
    return f"{bad.get('count')} ({bad.get('policy')})" if isinstance(bad, Mapping) else None


def summaries(m: Mapping[str, Any]) -> str:
    """Per-column summaries of each input and output, one small table each."""
    places = [("input", n, r) for n, r in (m.get("inputs") or {}).items() if isinstance(r, Mapping)]
    places += [("output", str(o.get("name")), o) for o in m.get("outputs") or []]
    parts = []
    for kind, name, record in places:
        columns = record.get("column_summaries")
        if not isinstance(columns, Mapping) or not columns:
            continue
        keys: list[str] = []
        for entry in columns.values():
            for key in entry if isinstance(entry, Mapping) else ():
                if key not in keys:
                    keys.append(key)
        rows = [
            [col, *((e.get(k) if isinstance(e, Mapping) else None) for k in keys)]
            for col, e in columns.items()
        ]
        parts.append(
            f"<details open><summary>{escape(kind)} <code>{escape(str(name))}</code> "
            f"({len(rows)} columns)</summary>{table(['column', *keys], rows, 'summary')}</details>"
        )
    return "".join(parts) or '<p class="muted">No column summaries recorded.</p>'


def events(m: Mapping[str, Any]) -> str:
    """Contract and step events, by where they were recorded."""
    places: list[tuple[str, Any]] = []
    places += [
        (f"input {n}", r.get("events"))
        for n, r in (m.get("inputs") or {}).items()
        if isinstance(r, Mapping)
    ]
    places += [(f"step {s.get('id')}", s.get("events")) for s in m.get("steps") or []]
    places += [(f"output {o.get('name')}", o.get("events")) for o in m.get("outputs") or []]
    rows, dropped = [], 0
    for where, found in places:
        listed = [e for e in found or [] if isinstance(e, Mapping)]
        dropped += max(len(listed) - MAX_EVENTS, 0)
        for event in listed[:MAX_EVENTS]:
            rest = {k: v for k, v in event.items() if k not in ("kind", "message", "at")}
            rows.append(
                [where, event.get("kind"), event.get("message"), rest or None, event.get("at")]
            )
    if not rows:
        return '<p class="muted">No events.</p>'
    more = f'<p class="muted">{dropped:,} more events are in the manifest.</p>' if dropped else ""
    return table(["where", "kind", "message", "details", "at"], rows, "events") + more


def housekeeping(m: Mapping[str, Any]) -> str:
    """Run details: a stale earlier run, a recovered publish, leftovers removed, chunk size."""
    rows = [
        (key, m.get(key))
        for key in ("stale_run", "publish_recovery", "removed_leftovers", "stream_chunk_size")
        if m.get(key)
    ]
    return table(["field", "value"], rows, "kv") if rows else ""
