"""The fault-injection harness: a project with one input and one step, CLI children, checks.

Every fault case first makes a good run into its output dir (in-process, with LocalRunner),
then injects one fault and runs ``python -m trakt.run_local`` in a child process.
:func:`check_fault` checks the exit code, the stderr line, the manifest, and that the good
run's published files are byte-identical afterwards (no output of the faulty run appears, no
temporary file is left behind).

Running as root: root ignores file permissions, so the permission cases run their child
without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (``restricted("no-dac", ...)``), and are skipped,
saying why, where that is not possible.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DOUBLE, Project, batch_step, stream_step
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

RECORDS = 'id,amount,note\n1,5,first\n2,7,"late, paid"\n3,11,\n'
DOUBLED = 'id,amount,note\n1,10,first\n2,14,"late, paid"\n3,22,\n'
# RECORDS with one more row, for runs whose output must differ from the good run's.
RECORDS_4 = RECORDS + "4,1,new\n"
DOUBLED_4 = DOUBLED + "4,2,new\n"
RUN_ID = "faulty"
CHILD_TIMEOUT_S = 90

# Touches `marker` when called: proves whether a step ran at all.
MARKED = batch_step(
    """
    Path(marker).touch()
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}
    """,
    "marker",
    "from pathlib import Path",
)

# Lists the output dir while the run is going (into the manifest's events), then passes the
# rows on or fails. Stream-capable, so one step body serves both modes.
SPY = stream_step(
    """
    ctx.emit_event("listing", "output dir during the run", files=sorted(os.listdir(watch)))
    if fail:
        raise RuntimeError("spy saw enough")
    yield chunk
    """,
    "watch, fail",
    "import os",
)

# Announces itself in `marker`, then waits (up to a minute) for `release` to exist: in batch
# mode once, in stream mode before every chunk.
_WAIT = """
Path(marker).write_text(ctx.run_id)
deadline = time.monotonic() + 60
while not Path(release).exists() and time.monotonic() < deadline:
    time.sleep(0.02)
"""
_WAIT_HEAD = "import time\nfrom pathlib import Path"
SLOW = batch_step(_WAIT + 'return {"output": input}', "marker, release", _WAIT_HEAD)
SLOW_STREAM = stream_step(_WAIT + "yield chunk", "marker, release", _WAIT_HEAD)

_modules = itertools.count()
POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))


# --- helpers ------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of a CLI child: this interpreter's packages, no stray PYTHONPATH."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def published(out: Path) -> dict[str, bytes]:
    """Every file in the output dir except the manifest and the lock file, with its bytes."""
    if not out.is_dir():
        return {}
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", ".trakt.lock")
    }


def temp_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob(".trakt-tmp-*"))


def without_step_logs(stderr: str) -> str:
    """stderr less the lines logged at INFO, the default off a terminal: each step's start and
    finish (``trakt.steps``) and what steps log themselves (``trakt.step.<id>``)."""
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not line.startswith(("INFO trakt.steps: ", "INFO trakt.step."))
    )


def clear_line(proc: subprocess.CompletedProcess[str]) -> str:
    """stderr is exactly one line, prefixed ``trakt:``, and no traceback (besides the INFO
    log lines, see :func:`without_step_logs`)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = without_step_logs(proc.stderr).strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("trakt: "), proc.stderr
    return lines[0]


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# Runs a command under a restriction that survives exec, then execs it. (Thread-safe, unlike
# preexec_fn while the pool's threads run.) `no-dac`: drop the capabilities that let root
# ignore file permissions (a non-root user has none to drop), so permissions apply as they do to
# everyone. `small-files`: files may not grow past 64 KiB and SIGXFSZ is ignored, so a write
# beyond fails with EFBIG ("File too large"), as on a full disk. `default-sigint`: SIGINT
# raises KeyboardInterrupt in the child even if this process ignores it.
RESTRICT = """
import ctypes, os, resource, signal, sys
how, argv = sys.argv[1], sys.argv[2:]
if how == "no-dac":
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly when not allowed
elif how == "small-files":
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
elif how == "default-sigint":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(argv[0], argv)
"""


def restricted(how: str, argv: list[str]) -> list[str]:
    return [sys.executable, "-c", RESTRICT, how, *argv]


class Unavailable(Exception):
    """A case that cannot be set up honestly on this machine (it is skipped, with why)."""


def require_permissions(path: Path, probe: str) -> None:
    """Skip unless a `no-dac` child is refused ``probe`` (Python code using ``p``) on ``path``."""
    code = f"p = {str(path)!r}\ntry:\n    {probe}\nexcept PermissionError:\n    raise SystemExit(3)"
    proc = subprocess.run(restricted("no-dac", [sys.executable, "-c", code]), capture_output=True)
    if proc.returncode != 3:
        raise Unavailable(
            "file permissions do not apply here: this process bypasses them (root with "
            "CAP_DAC_OVERRIDE that could not be dropped)"
        )


class Env:
    """A project with ``input/records.csv``, step modules beside the pipeline, ``output/``."""

    def __init__(self, root: Path) -> None:
        self.project = Project(root)
        self.root = root
        self.input_dir = self.project.input_dir
        self.out = self.project.output_dir
        self.records = self.input_dir / "records.csv"
        self.records.write_text(RECORDS)

    def fields(self) -> dict[str, str]:
        """Placeholders for expected messages."""
        return {
            "root": str(self.root),
            "input_dir": str(self.input_dir),
            "records": str(self.records),
            "out": str(self.out),
        }

    def step(self, code: str) -> str:
        return self.project.step(f"step_{next(_modules)}", textwrap.dedent(code))

    def pipeline(
        self,
        code: str = DOUBLE,
        *,
        stream: bool = False,
        uri: str = "records.csv",
        on_bad_lines: str | None = None,
        timeout_s: float | None = None,
        params: Mapping[str, Any] | None = None,
        outputs: Mapping[str, str] | None = None,
        name: str = "pipeline.yaml",
    ) -> Path:
        """One input ``records``, one step ``transform`` -> ``result``, output ``final``."""
        step: dict[str, Any] = {
            "id": "transform",
            "uses": self.step(code),
            "with": {"input": "records", "output": "result", **(params or {})},
        }
        if timeout_s is not None:
            step["timeout_s"] = timeout_s
        source: dict[str, Any] = {"uri": uri}
        if on_bad_lines:
            source["on_bad_lines"] = on_bad_lines
        datasets = [{"name": n, "from": a} for n, a in (outputs or {"final": "result"}).items()]
        doc: dict[str, Any] = {
            "name": "faults",
            "inputs": {"records": source},
            "steps": [step],
            "outputs": {"datasets": datasets},
        }
        if stream:
            doc["execution"] = {"mode": "stream"}
        return self.write_yaml(yaml.safe_dump(doc, sort_keys=False), name)

    def write_yaml(self, text: str, name: str = "pipeline.yaml") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def run_in_process(self, pipeline: Path, run_id: str = "good") -> dict[str, Any]:
        runner = LocalRunner(self.input_dir, self.out)
        return runner.run(load_pipeline_from_yaml(pipeline), run_id=run_id)

    def good_run(self) -> dict[str, bytes]:
        """A successful run into ``out``; its published files."""
        result = self.run_in_process(self.pipeline(name="good.yaml"))
        assert result["status"] == "success", result["error"]
        files = published(self.out)
        assert files == {"final.csv": DOUBLED.encode()}
        return files

    def argv(self, pipeline: Path, *extra: str, out: Path | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "trakt.run_local",
            "--pipeline-file",
            str(pipeline),
            "--input-dir",
            str(self.input_dir),
            "--output-dir",
            str(out or self.out),
            "--run-id",
            RUN_ID,
            *extra,
        ]

    def cli(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=self.root,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            **kwargs,
        )

    def start(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            argv,
            cwd=self.root,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

    def manifest(self, path: Path | None = None) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((path or self.out / "manifest.json").read_text())
        return data


# --- fault cases and their children -----------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """A fault case: ``prepare`` injects it into a fresh Env (after the good run) and returns
    the CLI argv (None: the case is launched elsewhere); the rest is what must come out."""

    prepare: Callable[[Env], list[str]] | None
    code: int
    line: str  # expected in stderr; {root} {input_dir} {records} {out} are filled in
    status: str | None  # the manifest's status; None: no manifest may be written
    error_type: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)  # expected manifest error fields
    one_line: bool = True  # stderr is exactly one line (validation reports span several)
    names_manifest: bool = True  # stderr ends naming the manifest
    manifest: str = "{out}/manifest.json"


@dataclass
class Launched:
    env: Env
    before: dict[str, bytes]  # the output dir's published files before the child started
    inputs: dict[Path, bytes]  # every input file before the child started
    future: Future[subprocess.CompletedProcess[str]] | None
    skipped: str | None = None

    @property
    def proc(self) -> subprocess.CompletedProcess[str]:
        if self.future is None:
            pytest.skip(self.skipped or "not launched")
        return self.future.result(timeout=CHILD_TIMEOUT_S * 2)


def input_files(env: Env) -> dict[Path, bytes]:
    """Every readable input file's bytes (a file made unreadable on purpose is left out)."""
    return {
        p: p.read_bytes()
        for p in sorted(env.input_dir.rglob("*"))
        if p.is_file() and os.access(p, os.R_OK) and not run_file(p.name)
    }


def run_file(name: str) -> bool:
    """A file a run writes beside its outputs (where the output dir is the input dir)."""
    return name in (".trakt.lock", "manifest.json") or name.startswith(".manifest.json.")


def run_child(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )


def check_fault(run: Launched, fault: Fault) -> dict[str, Any] | None:
    """The common assertions; the manifest (None where none may exist)."""
    env, proc = run.env, run.proc
    values = env.fields()
    assert proc.returncode == fault.code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    if fault.one_line:
        assert fault.line.format(**values) in clear_line(proc)
    else:
        assert proc.stderr.startswith("trakt: "), proc.stderr
        assert fault.line.format(**values) in proc.stderr
    # Nothing of this run is published; the good run's files are byte-identical.
    assert published(env.out) == run.before
    assert temp_files(env.out) == []
    assert input_files(env) == run.inputs  # inputs are never written
    manifest_file = Path(fault.manifest.format(**values))
    if fault.status is None:
        if manifest_file.exists():
            assert env.manifest()["run_id"] == "good"
        return None
    manifest = env.manifest(manifest_file)
    assert manifest["run_id"] == RUN_ID
    assert manifest["status"] == fault.status
    if fault.names_manifest:
        assert f"(manifest: {manifest_file})" in proc.stderr
    error = manifest["error"]
    if fault.error_type:
        assert error["type"] == fault.error_type
    for key, value in fault.fields.items():
        expected = value.format(**values) if isinstance(value, str) else value
        assert error[key] == expected, (key, error)
    return manifest
