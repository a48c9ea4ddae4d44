"""What a long run shows on a terminal: live step lines, then a summary table (rich).

Everything user-supplied (step ids, paths, statuses, messages) goes in as rich ``Text``, never
as markup: a ``[`` in a name is shown as it is.

The display only reads the run's live manifest (which the runner updates as it goes) from a
refresh thread, so the runner knows nothing about terminals. Shown only when stderr is a
terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import IO, Any

from trakt.runtime.manifest import Manifest, StepRecord, json_safe

REFRESH_S = 0.25


def _rate(rows: int, seconds: float) -> str:
    if seconds <= 0 or rows <= 0:
        return "-"
    per_s = rows / seconds
    return f"{per_s / 1e6:.1f}M rows/s" if per_s >= 1e6 else f"{per_s / 1e3:.1f}k rows/s"


def _elapsed(record: StepRecord) -> float:
    if record.duration_s is not None:
        return record.duration_s
    return time.perf_counter() - record._t0 if record.started_at else 0.0


class LiveProgress:
    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console

        self.console = Console(file=stream, force_terminal=True)
        self.manifest: Manifest | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, manifest: Manifest) -> None:
        """Called by the runner with the run's live manifest once the run starts."""
        self.manifest = manifest
        self._thread = threading.Thread(target=self._loop, name="trakt-progress", daemon=True)
        self._thread.start()

    def _lines(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        manifest = self.manifest
        if manifest is None:
            return table
        for record in list(manifest.steps):
            rows_in = sum(dict(record.rows_in).values())
            rows_out = sum(dict(record.rows_out).values())
            chunks = sum(dict(record.chunks_in or {}).values())
            seconds = _elapsed(record)
            table.add_row(
                Text(str(record.id), style="bold"),
                *map(
                    Text,
                    (
                        str(record.status),
                        f"{rows_in:,} rows in",
                        f"{rows_out:,} out",
                        f"{chunks} chunks" if record.chunks_in is not None else "",
                        _rate(max(rows_in, rows_out), seconds),
                        f"{seconds:.1f}s",
                    ),
                ),
            )
        return table

    def _loop(self) -> None:
        from rich.live import Live

        with Live(self._lines(), console=self.console, transient=True, auto_refresh=False) as live:
            while not self._stop.wait(REFRESH_S):
                try:
                    live.update(self._lines(), refresh=True)
                except RuntimeError:  # a dict changed size mid-read: next frame
                    continue

    def finish(self) -> None:
        """Stop the live lines and print the summary table."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.manifest is not None:
            self.console.print(summary_table(self.manifest))


def summary_table(manifest: Manifest) -> Any:
    from rich.table import Table
    from rich.text import Text

    title = Text(f"trakt run {manifest.run_id}: {manifest.status}")
    table = Table(title=title, title_justify="left")
    for column in ("step", "status", "rows in", "rows out", "duration", "events"):
        table.add_column(column, justify="right" if column.startswith(("rows", "dur")) else "left")
    for record in manifest.steps:
        events = ", ".join(sorted({str(e["kind"]) for e in record.events})) or "-"
        cells = (
            str(record.id),
            str(record.status),
            f"{sum(record.rows_in.values()):,}",
            f"{sum(record.rows_out.values()):,}",
            f"{record.duration_s or 0:.2f}s",
            f"{len(record.events)} ({events})" if record.events else "-",
        )
        table.add_row(*map(Text, cells))
    for output in manifest.outputs:
        cells = (f"→ {output.name}", "written", "", f"{output.rows:,}", "", output.path)
        table.add_row(*(Text(str(c)) for c in cells))
    return table


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any extra fields."""

    _skip = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(json_safe(data), allow_nan=False)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # The CLI prints its own line for a stale run; the library's record would repeat it.
    handler.addFilter(lambda record: not getattr(record, "stale_run", False))
    root = logging.getLogger("trakt")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
