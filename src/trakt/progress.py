"""What a long run shows on a terminal: live step lines, then a summary table (rich).

Everything user-supplied (step ids, paths, statuses, messages) goes in as rich ``Text``, never
as markup: a ``[`` in a name is shown as it is.

The display only reads the run's live manifest (which the runner updates as it goes) from a
refresh thread, so the runner knows nothing about terminals. Shown only when stderr is a
terminal, ``--quiet`` is not given and log lines are text; elsewhere :class:`StepLog` logs a
line per step start and finish (INFO, the default level there).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
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
            counting = record.counting > 0  # its query has not run yet: rows to come
            table.add_row(
                Text(str(record.id), style="bold"),
                *map(
                    Text,
                    (
                        str(record.status),
                        "rows counted as the query runs" if counting else f"{rows_in:,} rows in",
                        "" if counting else f"{rows_out:,} out",
                        f"{chunks} chunks" if record.chunks_in is not None else "",
                        "" if counting else _rate(max(rows_in, rows_out), seconds),
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


def default_log_level(fmt: str, quiet: bool, terminal: bool) -> str:
    """INFO where nothing else shows progress (stderr not a terminal, or JSON lines): one
    line per step start and finish; WARNING under the live display or ``--quiet``."""
    if quiet or (terminal and fmt == "text"):
        return "WARNING"
    return "INFO"


def configure_logging(level: str, fmt: str) -> Callable[[], None]:
    """The ``trakt`` loggers to stderr at ``level`` as text or JSON lines (warnings too, in
    JSON); returns what restores the loggers as they were."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # The CLI prints its own line for a stale run; the library's record would repeat it.
    handler.addFilter(lambda record: not getattr(record, "stale_run", False))
    root = logging.getLogger("trakt")
    warned = logging.getLogger("py.warnings")
    before = (root.handlers[:], root.level, root.propagate, warned.handlers[:], warned.propagate)
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    if fmt == "json":  # a library's warning would be a plain line among the JSON ones
        logging.captureWarnings(True)
        warned.handlers[:] = [handler]
        warned.propagate = False

    def restore() -> None:
        root.handlers[:], level_before, root.propagate = before[0], before[1], before[2]
        root.setLevel(level_before)
        if fmt == "json":
            logging.captureWarnings(False)
            warned.handlers[:], warned.propagate = before[3], before[4]

    return restore


def json_line(message: str, level: str = "INFO", logger: str = "trakt.cli", **fields: Any) -> str:
    """One JSON log line as :class:`JsonFormatter` writes them (the CLI's own lines)."""
    record = logging.makeLogRecord(
        {"msg": message, "levelname": level, "levelno": logging.getLevelName(level)}
    )
    record.name = logger
    record.__dict__.update(fields)
    return JsonFormatter().format(record)


_DONE = ("success", "failed", "aborted", "cancelled")


class StepLog:
    """One log line when a step starts and one when it finishes (status, rows, seconds),
    read from the run's live manifest by a thread: the runner knows nothing of it."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("trakt.steps")
        self.manifest: Manifest | None = None
        self._said: dict[str, str] = {}  # step id -> "started" or "finished"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, manifest: Manifest) -> None:
        """Called by the runner with the run's live manifest once the run starts."""
        self.manifest = manifest
        self._thread = threading.Thread(target=self._loop, name="trakt-steplog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self._poll()

    def _poll(self, last: bool = False) -> None:
        if self.manifest is None:
            return
        for record in list(self.manifest.steps):
            try:
                self._say(record, last)
            except RuntimeError:  # a dict changed size mid-read: next time
                continue

    def _say(self, record: StepRecord, last: bool = False) -> None:
        said = self._said.get(record.id)
        if said is None and record.status != "pending":
            self._said[record.id] = said = "started"
            self.log.info("step %s started", record.id, extra={"step": record.id})
        # A step that extended a query has its rows counted when the query runs: its line
        # waits for them (the run's end says it anyway, "?" for a count that never came).
        counted = not record.counting or last
        if said == "started" and record.status in _DONE and record.duration_s is not None:
            if not counted:
                return
            self._said[record.id] = "finished"
            rows_in: int | None = sum(dict(record.rows_in).values())
            rows_out: int | None = sum(record.rows_out.values())
            if record.counting:
                rows_in = rows_out = None
            self.log.info(
                "step %s %s: %s rows in, %s rows out, %.2fs",
                record.id,
                record.status,
                "?" if rows_in is None else f"{rows_in:,}",
                "?" if rows_out is None else f"{rows_out:,}",
                record.duration_s,
                extra={
                    "step": record.id,
                    "status": record.status,
                    "rows_in": rows_in,
                    "rows_out": rows_out,
                    "duration_s": record.duration_s,
                },
            )

    def finish(self) -> None:
        """Stop polling and say what is left to say (the steps' ends since the last look)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._poll(last=True)
