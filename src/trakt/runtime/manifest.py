"""The run manifest: what happened, written atomically for every run.

Schema (``manifest_version`` 1; documented in README.md, kept stable — fields are only added):
trakt_version, manifest_version, run_id, pipeline{name,file,sha256}, mode, status,
started_at, finished_at, duration_s, inputs{artifact: {uri, format, combine_strategy,
files[{path, bytes, records, kept, set_aside, sha256}], rows, columns}}, steps[{id, uses,
status, started_at, duration_s, rows_in{}, rows_out{}, events[]}], outputs[{name, from,
format, uri, path, rows, bytes}], error (null or {step_id, type, message, traceback,
location{file,line,function}, ...}), environment{python, trakt, libraries, platform,
git{commit,dirty}}; graph (the plan's edges, every step's included: {inputs[],
steps[{id, uses, inputs{binding: artifact}, outputs{binding: artifact}}], outputs[{name,
from}]}; absent from manifests of runs that never planned).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from trakt.errors import OutputError

MANIFEST_VERSION = 1


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Timing:
    """When something started (ISO, UTC) and a monotonic clock to measure how long it took."""

    started_at: str
    t0: float

    @classmethod
    def start(cls) -> Timing:
        return cls(utc_now(), time.perf_counter())

    def fields(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "duration_s": round(time.perf_counter() - self.t0, 6),
        }


@dataclass
class StepRecord:
    id: str
    uses: str
    status: str = "pending"
    frame: str = "pandas"  # the library the step's frames were in (pandas, polars, arrow)
    started_at: str | None = None
    duration_s: float | None = None
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # Stream mode: chunks per binding, and anything mode-specific (e.g. a materialized step).
    chunks_in: dict[str, int] | None = None
    chunks_out: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    current_chunk: int | None = None
    counting: int = 0  # row counts a query has yet to fill in (the step log waits for them)
    _t0: float = 0.0

    def start(self) -> None:
        self.status = "running"
        self.started_at = utc_now()
        self._t0 = time.perf_counter()

    def finish(self, status: str) -> None:
        self.status = status
        self.duration_s = round(time.perf_counter() - self._t0, 6)

    def to_dict(self) -> dict[str, Any]:
        data = {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_")
            and k not in ("extra", "current_chunk", "counting")
            and not (k.startswith("chunks_") and v is None)
        }
        return {**data, **self.extra}


def _with_present(data: dict[str, Any], record: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """``data`` plus each of ``record``'s fields ``keys`` that is set (None: left out)."""
    for key in keys:
        value = getattr(record, key)
        if value is not None:
            data[key] = value
    return data


@dataclass
class FileRecord:
    """One file of an input: its size, and (once read) its records, kept and set aside."""

    path: str
    bytes: int
    records: int | None = None
    kept: int | None = None
    set_aside: int | None = None
    sha256: str | None = None  # of the file's bytes as given (--no-input-hashes: none)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class InputRecord:
    """``inputs.<artifact>``: where an input was read from, how, and what it held."""

    uri: str
    format: str
    combine_strategy: str
    started_at: str | None = None
    duration_s: float | None = None
    files: list[FileRecord] = field(default_factory=list)
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    bad_lines: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    column_summaries: dict[str, Any] | None = None
    table: str | None = None  # a database input: the table read, or
    query: str | None = None  # the query run (its params are not recorded: they may be secret)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "uri": self.uri,
            "format": self.format,
            "combine_strategy": self.combine_strategy,
            "files": [f.to_dict() for f in self.files],
            "rows": self.rows,
            "columns": self.columns,
        }
        return _with_present(
            data, self, ("table", "query", "bad_lines", "events", "column_summaries")
        )


@dataclass
class OutputRecord:
    """``outputs[]``: one dataset written (and, when the run succeeded, published)."""

    name: str
    from_: str
    format: str
    uri: str  # where it is published: a path, or a store's URI
    path: str  # as the caller named the output dir (kept for earlier readers)
    rows: int
    bytes: int
    started_at: str
    duration_s: float
    events: list[dict[str, Any]] | None = None
    column_summaries: dict[str, Any] | None = None
    table: str | None = None  # a database output: its table and how it was written
    if_exists: str | None = None
    # --spark-output parts: the output is a directory; its part files with their rows and bytes.
    directory: bool | None = None
    parts: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "name": self.name,
            "from": self.from_,
            "format": self.format,
            "uri": self.uri,
            "path": self.path,
            "rows": self.rows,
            "bytes": self.bytes,
        }
        return _with_present(
            data, self, ("table", "if_exists", "directory", "parts", "events", "column_summaries")
        )


@dataclass
class Manifest:
    """The run's record; :class:`trakt.runtime.recorder.RunRecorder` owns and writes it."""

    run_id: str
    pipeline: dict[str, Any]
    mode: str | None
    trakt_version: str
    status: str = "running"
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    duration_s: float | None = None
    inputs: dict[str, InputRecord] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    outputs: list[OutputRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None
    # Written only when set, after the fields above.
    stream_chunk_size: int | None = None
    peak_rss_bytes: int | None = None
    publish_recovery: list[dict[str, Any]] | None = None
    stale_run: dict[str, Any] | None = None
    removed_leftovers: list[str] | None = None
    trace: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None  # runtime/environment.py
    # Which step reads and writes which artifact, for every step (those that never ran too):
    # what `trakt report` draws the DAG from.
    graph: dict[str, Any] | None = None
    # The engine of a run on another runner than the local one (Spark: master, application id).
    runner: dict[str, Any] | None = None
    _t0: float = field(default_factory=time.perf_counter)

    def finish(self, status: str, error: dict[str, Any] | None = None) -> None:
        self.status = status
        self.error = error
        self.finished_at = utc_now()
        self.duration_s = round(time.perf_counter() - self._t0, 6)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "trakt_version": self.trakt_version,
            "manifest_version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "mode": self.mode,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "inputs": {name: record.to_dict() for name, record in self.inputs.items()},
            "steps": [s.to_dict() for s in self.steps],
            "outputs": [o.to_dict() for o in self.outputs],
            "error": self.error,
        }
        return _with_present(data, self, _OPTIONAL)


_OPTIONAL = (
    "publish_recovery",
    "stale_run",
    "removed_leftovers",
    "stream_chunk_size",
    "peak_rss_bytes",
    "trace",
    "environment",
    "graph",
    "runner",
)


NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_MAX_DEPTH = 64


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as strict JSON data (what the manifest holds), whatever a step put in it.

    Non-finite floats become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; numpy
    scalars plain numbers; dates ISO strings; tuples and sets lists; mapping keys strings;
    anything else its ``str()`` (``repr()`` if that fails). Never raises."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else NON_FINITE[repr(float(value))]
    if depth >= _MAX_DEPTH:  # a structure that contains itself
        return "<nested too deeply>"
    if isinstance(value, Mapping):
        return {_text(k): json_safe(v, depth + 1) for k, v in list(value.items())}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in list(value)]
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v, depth + 1) for v in value), key=repr)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, PurePath):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return json_safe(item(), depth + 1)
        except Exception:  # fall back to the text form below
            pass
    if _is_missing(value):  # pandas.NA, pandas.NaT
        return None
    return _text(value)


def _is_missing(value: Any) -> bool:
    try:
        return type(value).__name__ in ("NAType", "NaTType") and bool(value != value)
    except Exception:
        return type(value).__name__ in ("NAType", "NaTType")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    for form in (str, repr):
        try:
            return form(value)
        except Exception:  # a broken __str__ must not lose the manifest
            continue
    return f"<unprintable {type(value).__name__}>"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename: readers never see half a file.

    The JSON is strict (no ``NaN``/``Infinity`` literals): see :func:`json_safe`."""
    try:
        _write_json(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise OutputError(
            f"cannot write the manifest {path}: {exc.strerror or exc}; the run's status is "
            "not recorded there",
            file=str(path),
        ) from None


def _write_json(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A short temporary name: `.<name>.<random>.tmp` could pass the 255-byte name limit
    # where the manifest's own name does not.
    fd, tmp = tempfile.mkstemp(prefix=".trakt-m-", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide the manifest from other users
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
