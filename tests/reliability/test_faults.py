"""Fault injection through the real CLI: every way a run can end badly.

Every case first makes a good run into its output dir (in-process, with LocalRunner), then
injects one fault and runs ``python -m trakt.run_local`` in a child process. It checks the exit
code, the stderr line, the manifest, and that the good run's published files are byte-identical
afterwards (no output of the faulty run appears, no temporary file is left behind).

The CLI's start-up (~1 s of CPU: pandas, pyarrow, polars) dominates, so every case that only
starts a child and waits for it is started up front in a small pool (module fixture
``launched``), and each test waits for its own child. Tests that send signals or hold the lock
while another run starts run on their own.

Running as root: root ignores file permissions, so the permission cases run their child
without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (``restricted("no-dac", ...)``), and are skipped,
saying why, where that is not possible.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DOUBLE, Project
from trakt import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

RECORDS = 'id,amount,note\n1,5,first\n2,7,"late, paid"\n3,11,\n'
DOUBLED = 'id,amount,note\n1,10,first\n2,14,"late, paid"\n3,22,\n'
# RECORDS with one more row, for runs whose output must differ from the good run's.
RECORDS_4 = RECORDS + "4,1,new\n"
DOUBLED_4 = DOUBLED + "4,2,new\n"
RUN_ID = "faulty"
CHILD_TIMEOUT_S = 90

STREAM_DOUBLE = """
def run(ctx, input, output):
    def chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

# Touches `marker` when called: proves whether a step ran at all.
MARKED = """
from pathlib import Path

def run(ctx, input, output, marker):
    Path(marker).touch()
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

# Lists the output dir while the run is going (into the manifest's events), then passes the
# rows on or fails. Stream-capable, so one step body serves both modes.
SPY = """
import os

def run(ctx, input, output, watch, fail):
    def chunks():
        for chunk in input:
            ctx.emit_event("listing", "output dir during the run", files=sorted(os.listdir(watch)))
            if fail:
                raise RuntimeError("spy saw enough")
            yield chunk
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

# Announces itself in `marker`, then waits (up to a minute) for `release` to exist.
SLOW = """
import time
from pathlib import Path

def run(ctx, input, output, marker, release):
    Path(marker).write_text(ctx.run_id)
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"output": input}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

SLOW_STREAM = """
import time
from pathlib import Path

def run(ctx, input, output, marker, release):
    def chunks():
        for chunk in input:
            Path(marker).write_text(ctx.run_id)
            deadline = time.monotonic() + 60
            while not Path(release).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            yield chunk
    return {"output": chunks()}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

_modules = itertools.count()
_POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))


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


def clear_line(proc: subprocess.CompletedProcess[str]) -> str:
    """stderr is exactly one line, prefixed ``trakt:``, and no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
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


# --- the table-driven cases, started together -------------------------------------------


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
        if p.is_file() and os.access(p, os.R_OK) and not _run_file(p.name)
    }


def _run_file(name: str) -> bool:
    """A file a run writes beside its outputs (where the output dir is the input dir)."""
    return name in (".trakt.lock", "manifest.json") or name.startswith(".manifest.json.")


def _with_records(content: bytes | str, **pipeline: Any) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        if isinstance(content, bytes):
            env.records.write_bytes(content)
        else:
            env.records.write_text(content)
        return env.argv(env.pipeline(**pipeline))

    return prepare


def _missing_file(env: Env) -> list[str]:
    env.records.unlink()
    return env.argv(env.pipeline())


def _glob(matches_dir: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        daily = env.input_dir / "daily"
        daily.mkdir()
        if matches_dir:
            (daily / "2026-01.csv").mkdir()
        return env.argv(env.pipeline(uri="daily/*.csv"))

    return prepare


def _directory(env: Env) -> list[str]:
    env.records.unlink()
    env.records.mkdir()
    return env.argv(env.pipeline())


def _missing_input_dir(env: Env) -> list[str]:
    argv = env.argv(env.pipeline())
    argv[argv.index("--input-dir") + 1] = str(env.root / "nowhere")
    return argv


def _output_dir_is_file(sub: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        (env.root / "out.txt").write_text("not a directory\n")
        return env.argv(env.pipeline(), out=env.root / "out.txt" / sub)

    return prepare


BAD_INPUTS: dict[str, Fault] = {
    "missing_file": Fault(
        _missing_file,
        1,
        "failed at input 'records': InputError: input 'records': file not found: {records}",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "glob_no_match": Fault(
        _glob(matches_dir=False),
        1,
        "InputError: input 'records': pattern 'daily/*.csv' matched no files in "
        "{input_dir}/daily (manifest:",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "glob_matches_only_dirs": Fault(
        _glob(matches_dir=True),
        1,
        "pattern 'daily/*.csv' matched no files in {input_dir}/daily (only directories matched)",
        "failed",
        "InputError",
    ),
    "empty_file": Fault(
        _with_records(""),
        1,
        "InputError: cannot read CSV {records}: the file is empty (not even a header line)",
        "failed",
        "InputError",
        {"artifact": "records", "file": "{records}"},
    ),
    "empty_file_stream": Fault(
        _with_records("", code=STREAM_DOUBLE, stream=True),
        1,
        "InputError: cannot read CSV {records}: the file is empty (not even a header line)",
        "failed",
        "InputError",
        {"artifact": "records"},
    ),
    "directory_instead_of_file": Fault(
        _directory,
        1,
        "input 'records': expected a file, found a directory: {records}",
        "failed",
        "InputError",
    ),
    "missing_input_dir": Fault(
        _missing_input_dir,
        1,
        "file not found: {root}/nowhere/records.csv (the input dir {root}/nowhere does not exist)",
        "failed",
        "InputError",
    ),
    "output_dir_is_a_file": Fault(
        _output_dir_is_file(""),
        1,
        "trakt: cannot create output dir {root}/out.txt: File exists",
        None,
    ),
    "output_dir_below_a_file": Fault(
        _output_dir_is_file("sub"),
        1,
        "trakt: cannot create output dir {root}/out.txt/sub: Not a directory",
        None,
    ),
}

_FIX = "; fix the file, or set on_bad_lines: skip | quarantine on this input"
MALFORMED_TAILS: dict[str, tuple[bytes, str]] = {
    "extra_field": (b"4,9,x,EXTRA\n5,1,y\n", "{records}:5: expected 3 fields, found 4" + _FIX),
    "missing_field": (b"4,9\n5,1,y\n", "{records}:5: expected 3 fields, found 2" + _FIX),
    "unterminated_quote": (
        b'4,9,"never closed\n5,1,y\n',
        "{records}:5: unterminated quote: the quoted field runs to the end of the file" + _FIX,
    ),
    "undecodable_bytes": (
        b"4,9,caf\xe9\n5,1,y\n",
        "{records}:5: column 'note' has bytes that are not valid utf-8; set options.encoding",
    ),
}
MALFORMED: dict[str, Fault] = {
    f"{name}-{mode}": Fault(
        _with_records(
            RECORDS.encode() + tail,
            code=STREAM_DOUBLE if mode == "stream" else DOUBLE,
            stream=mode == "stream",
        ),
        1,
        "InputError: " + line,
        "failed",
        "InputError",
        {"artifact": "records", "file": "{records}", "line": 5},
    )
    for name, (tail, line) in MALFORMED_TAILS.items()
    for mode in ("batch", "stream")
}


def _step(
    code: str, *, stream: bool = False, timeout_s: float | None = None, records: str = RECORDS
) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_text(records)
        extra = ["--stream-chunk-size", "2"] if stream else []
        return env.argv(env.pipeline(code, stream=stream, timeout_s=timeout_s), *extra)

    return prepare


def _batch_step(body: str) -> str:
    return (
        "import time\n\ndef run(ctx, input, output):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\nrun.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
    )


def _stream_step(body: str) -> str:
    """``body`` runs inside a generator over the input chunks (``i``, ``chunk``)."""
    return (
        "import time\n\ndef run(ctx, input, output):\n    def chunks():\n"
        "        for i, chunk in enumerate(input):\n"
        + textwrap.indent(textwrap.dedent(body), "            ")
        + "\n    return {'output': chunks()}\n\n"
        "run.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
        "run.supports_stream = True\n"
    )


_AT = "failed at step 'transform'"
# A step that catches every Exception cannot swallow the timeout (a BaseException).
SWALLOWING_LOOP = """
while True:
    try:
        time.sleep(1)
    except Exception:
        pass
"""
STEP_FAULTS: dict[str, Fault] = {
    "returns_a_list": Fault(
        _step(_batch_step("return [input]")),
        1,
        _AT + ": StepError: step 'transform' must return a dict of ['output'] -> a pandas "
        "DataFrame, but returned list",
        "failed",
        "StepError",
    ),
    "returns_wrong_keys": Fault(
        _step(_batch_step("return {'out': input}")),
        1,
        _AT + ": StepError: step 'transform' returned keys ['out']; expected ['output'] "
        "(missing ['output'], unexpected ['out'])",
        "failed",
        "StepError",
    ),
    "returns_not_a_frame": Fault(
        _step(_batch_step("return {'output': input.to_dict()}")),
        1,
        _AT + ": StepError: step 'transform' returned dict for output 'output'; expected a "
        "pandas DataFrame",
        "failed",
        "StepError",
    ),
    "raises": Fault(
        _step(_batch_step("raise ValueError('boom in step')")),
        1,
        _AT + ": ValueError: boom in step",
        "failed",
        "ValueError",
    ),
    "never_returns_busy": Fault(
        _step(_batch_step("while True:\n    pass"), timeout_s=0.5),
        1,
        _AT + ": StepTimeout: step 'transform' did not finish within timeout_s=0.5; it was stopped",
        "failed",
        "StepTimeout",
    ),
    "never_returns_swallowing_exceptions": Fault(
        _step(_batch_step(SWALLOWING_LOOP), timeout_s=0.5),
        1,
        _AT + ": StepTimeout: step 'transform' did not finish within timeout_s=0.5",
        "failed",
        "StepTimeout",
    ),
    "stream_returns_a_frame": Fault(
        _step(
            "def run(ctx, input, output):\n    return {'output': next(input)}\n"
            "run.declared_inputs = ['input']\nrun.declared_outputs = ['output']\n"
            "run.supports_stream = True\n",
            stream=True,
        ),
        1,
        _AT + ": StepError: step 'transform' is stream-capable but returned DataFrame for "
        "output 'output'; return an iterator (or generator) of DataFrames",
        "failed",
        "StepError",
    ),
    "stream_yields_not_a_frame": Fault(
        _step(_stream_step("yield chunk.to_dict()"), stream=True),
        1,
        _AT + " (chunk 0): StepError: step 'transform' returned dict for output 'output' "
        "(chunk 0); expected a pandas DataFrame",
        "failed",
        "StepError",
        {"chunk_index": 0},
    ),
    "stream_raises_at_chunk_1": Fault(
        _step(
            _stream_step("if i == 1:\n    raise ValueError('bad chunk')\nyield chunk"),
            stream=True,
        ),
        1,
        _AT + " (chunk 1): ValueError: bad chunk",
        "failed",
        "ValueError",
        {"chunk_index": 1},
    ),
    "stream_never_yields": Fault(
        _step(_stream_step("time.sleep(3600)\nyield chunk"), stream=True, timeout_s=0.5),
        1,
        _AT + " (chunk 0): StepTimeout: step 'transform' did not finish within timeout_s=0.5 "
        "at chunk 0; it was stopped",
        "failed",
        "StepTimeout",
        {"chunk_index": 0},
    ),
    "stream_hangs_at_chunk_2": Fault(
        _step(
            _stream_step("if i == 2:\n    time.sleep(3600)\nyield chunk"),
            stream=True,
            timeout_s=0.5,
            records=RECORDS_4 + "5,0,\n6,0,\n",
        ),
        1,
        _AT + " (chunk 2): StepTimeout: step 'transform' did not finish within timeout_s=0.5 "
        "at chunk 2; it was stopped",
        "failed",
        "StepTimeout",
        {"chunk_index": 2},
    ),
}


def _yaml(text: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        good = (env.root / "good.yaml").read_text()
        return env.argv(env.write_yaml(text.format(good=good, root=env.root)))

    return prepare


def _edited(old: str, new: str) -> Callable[[Env], list[str]]:
    """The good pipeline with ``old`` replaced by ``new`` (``{marker}``: a file that a tag
    executing code would create)."""

    def prepare(env: Env) -> list[str]:
        good = (env.root / "good.yaml").read_text()
        assert old in good
        text = good.replace(old, new.format(marker=env.root / "pwned"), 1)
        return env.argv(env.write_yaml(text))

    return prepare


# "Billion laughs": each level lists the previous one 9 times; 9**9 nodes once expanded.
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{level}: &{level} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, level in itertools.pairwise("abcdefghij")
)

_MAPPING = "a pipeline file must be a YAML mapping with 'name', 'inputs', 'steps' and 'outputs'"
YAML_FAULTS: dict[str, Fault] = {
    "a_list": Fault(_yaml("- name: x\n- steps: []\n"), 2, _MAPPING + "; found a list", "invalid"),
    "a_scalar": Fault(_yaml("just some text\n"), 2, _MAPPING + "; found a string", "invalid"),
    "empty": Fault(_yaml(""), 2, _MAPPING + "; found nothing", "invalid"),
    "alias_bomb": Fault(
        _yaml(ALIAS_BOMB),
        2,
        "document expands to more than 100000 nodes (YAML aliases?)",
        "invalid",
    ),
    "recursive_alias": Fault(
        _yaml("name: &loop [x, *loop]\n"),
        2,
        "recursive YAML alias: a node that contains itself",
        "invalid",
    ),
    # Found by test_fuzz.py; each must be a validation problem, not a crash.
    "control_character": Fault(_edited("name: faults", "name: faults\x07"), 2, "", "invalid"),
    "merge_of_a_scalar": Fault(_yaml("base: &b x\nname: {{<<: *b}}\n"), 2, "", "invalid"),
    "dtype_a_list": Fault(
        _edited("uri: records.csv", "uri: records.csv\n    options: {{dtype: [int]}}"),
        2,
        "",
        "invalid",
    ),
    "dtype_nested_mapping": Fault(
        _edited("uri: records.csv", "uri: records.csv\n    options: {{dtype: {{id: {{x: int}}}}}}"),
        2,
        "",
        "invalid",
    ),
    # Standard tags on values they cannot construct: a problem, not a crash.
    "int_tag_on_text": Fault(_edited("name: faults", "name: !!int abc"), 2, "", "invalid"),
    "timestamp_tag_on_text": Fault(
        _edited("uri: records.csv", "uri: !!timestamp soon"), 2, "", "invalid"
    ),
    "python_object_apply": Fault(
        _edited("name: faults", 'name: !!python/object/apply:os.system ["touch {marker}"]'),
        2,
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; remove it",
        "invalid",
    ),
    "python_name": Fault(
        _edited("uri: records.csv", "uri: !!python/name:os.system"),
        2,
        "YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed (Trakt loads YAML "
        "safely)",
        "invalid",
    ),
    "python_object_new_mapping": Fault(
        _edited("inputs:\n", "inputs: !!python/object/new:os.system\n"),
        2,
        "YAML tag 'tag:yaml.org,2002:python/object/new:os.system' is not allowed; remove it",
        "invalid",
    ),
    "custom_tag_sequence": Fault(
        _edited("steps:\n", "steps: !Steps\n"),
        2,
        "YAML tag '!Steps' is not allowed; remove it",
        "invalid",
    ),
}


def _conflict_output(env: Env) -> list[str]:
    (env.input_dir / "final.csv").write_text(RECORDS)
    marker = env.root / "ran"
    pipeline = env.pipeline(MARKED, uri="final.csv", params={"marker": str(marker)})
    return env.argv(pipeline, out=env.input_dir)


def _conflict_manifest(env: Env) -> list[str]:
    pipeline = env.pipeline(MARKED, params={"marker": str(env.root / "ran")})
    return env.argv(pipeline, "--manifest-path", str(env.records))


def _conflict_quarantine(env: Env) -> list[str]:
    rejected = env.out / "_rejected" / "records.csv"
    rejected.parent.mkdir()
    rejected.write_text(RECORDS)
    pipeline = env.pipeline(
        MARKED,
        uri=str(rejected),
        on_bad_lines="quarantine",
        params={"marker": str(env.root / "ran")},
    )
    return env.argv(pipeline)


# The message names what would be overwritten and the input file, and promises the input is
# safe; the run is refused (status `invalid`, exit 2) before any step runs.
CONFLICTS: dict[str, Fault] = {
    "output_over_input": Fault(
        _conflict_output,
        2,
        "output 'final' would overwrite input file {input_dir}/final.csv of 'records'",
        "invalid",
        "OutputConflict",
        names_manifest=False,
        manifest="{input_dir}/manifest.json",
    ),
    "manifest_over_input": Fault(
        _conflict_manifest,
        2,
        "the manifest would overwrite input file {records} of 'records'",
        None,  # the manifest can go nowhere but over the input: none is written
        names_manifest=False,
    ),
    "quarantine_over_input": Fault(
        _conflict_quarantine,
        2,
        "quarantine of 'records' would overwrite input file {out}/_rejected/records.csv of "
        "'records'",
        "invalid",
        "OutputConflict",
        names_manifest=False,
    ),
}


def _usees(env: Env) -> list[str]:
    good = (env.root / "good.yaml").read_text()
    return env.argv(env.write_yaml(good.replace("  uses:", "  usees:")))


CYCLE_AND_TYPO = """\
name: faults
inputs:
  records: {{uri: records.csv}}
steps:
  - id: a
    uses: {uses}
    with: {{input: b_out, output: a_out}}
  - id: b
    uses: {uses}
    with: {{input: a_out, output: b_out}}
  - id: c
    uses: {uses}
    with: {{input: recrods, output: c_out}}
outputs:
  datasets:
    - {{name: final, from: c_out}}
"""


def _cycle_and_typo(env: Env) -> list[str]:
    return env.argv(env.write_yaml(CYCLE_AND_TYPO.format(uses=env.step(DOUBLE))))


INVALID: dict[str, Fault] = {
    "cycle_and_typo": Fault(
        _cycle_and_typo,
        2,
        "{root}/pipeline.yaml: 2 problems found\n"
        "  {root}/pipeline.yaml:5:5: steps[0]: steps form a cycle: a -> b -> a",
        "invalid",
        "PipelineValidationError",
        one_line=False,
    ),
    "unknown_key": Fault(
        _usees,
        2,
        "{root}/pipeline.yaml:7:3: steps[0].usees: unknown key 'usees' (did you mean 'uses'?)",
        "invalid",
        "PipelineValidationError",
        one_line=False,
    ),
    "unknown_input_override": Fault(
        lambda env: env.argv(env.pipeline(), "--input", "recrods=other.csv"),
        2,
        "trakt: --input recrods=...: the pipeline has no input 'recrods' (did you mean "
        "'records'?); inputs: records",
        "invalid",
        "UsageError",
        names_manifest=False,
    ),
}

TABLES: dict[str, dict[str, Fault]] = {
    "bad_input": BAD_INPUTS,
    "malformed": MALFORMED,
    "step": STEP_FAULTS,
    "yaml": YAML_FAULTS,
    "conflict": CONFLICTS,
    "invalid": INVALID,
}


# Success-side cases started in the same pool: inputs that look odd but are fine.
QUIRKS: dict[str, tuple[bytes, bytes]] = {
    "bom": (b"\xef\xbb\xbfid,name\n1,Ada\n2,Grace\n", b"id,name\n1,Ada\n2,Grace\n"),
    "crlf": (b"id,name\r\n1,Ada\r\n2,Grace\r\n", b"id,name\n1,Ada\n2,Grace\n"),
    "quoted_newlines": (
        b'id,name\n1,"Ada\nLovelace"\n2,"Grace, ""Amazing""\nHopper"\n',
        b'id,name\n1,"Ada\nLovelace"\n2,"Grace, ""Amazing""\nHopper"\n',
    ),
    "bom_crlf_quoted": (
        b'\xef\xbb\xbfid,name\r\n1,"two\r\nlines"\r\n2,x\r\n',
        b'id,name\n1,"two\r\nlines"\n2,x\n',
    ),
    "header_only": (b"id,name\n", b"id,name\n"),
    "header_only_crlf": (b"id,name\r\n", b"id,name\n"),
}


def _quirks(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        for name, (raw, _) in QUIRKS.items():
            (env.input_dir / f"{name}.csv").write_bytes(raw)
        doc = {
            "name": "quirks",
            "inputs": {name: {"uri": f"{name}.csv"} for name in QUIRKS},
            "outputs": {"datasets": [{"name": name, "from": name} for name in QUIRKS]},
            "execution": {"mode": mode},
        }
        return env.argv(env.write_yaml(yaml.safe_dump(doc, sort_keys=False)))

    return prepare


def _publish(mode: str, fail: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_text(RECORDS_4)
        doc = {
            "name": "publish",
            "inputs": {"records": {"uri": "records.csv"}},
            "steps": [
                {
                    "id": "transform",
                    "uses": env.step(STREAM_DOUBLE),
                    "with": {"input": "records", "output": "result"},
                },
                {
                    "id": "spy",
                    "uses": env.step(SPY),
                    "with": {"input": "result", "output": "seen", "watch": str(env.out)},
                },
            ],
            "outputs": {
                "datasets": [{"name": "final", "from": "result"}, {"name": "seen", "from": "seen"}]
            },
            "execution": {"mode": mode},
        }
        doc["steps"][1]["with"]["fail"] = fail  # type: ignore[index]
        pipeline = env.write_yaml(yaml.safe_dump(doc, sort_keys=False))
        return env.argv(pipeline, "--stream-chunk-size", "1")

    return prepare


def _leftovers(env: Env) -> list[str]:
    """What a crashed run leaves: temp outputs, its scratch dir, a temp quarantine file."""
    (env.out / ".trakt-tmp-crashed-final.csv").write_text("id,amount\n1,")
    (env.out / ".trakt-tmp-crashed-work").mkdir()
    (env.out / ".trakt-tmp-crashed-work" / "records-0.csv").write_text(RECORDS)
    (env.out / "_rejected").mkdir()
    (env.out / "_rejected" / ".trakt-tmp-crashed-records.csv").write_text("file,line\n")
    env.records.write_text(RECORDS_4)
    return env.argv(env.pipeline())


def _quarantine_then_fail(env: Env) -> list[str]:
    """A good quarantine run publishes _rejected/records.csv; a failing one must not touch it."""
    env.records.write_text(RECORDS + "4,1,x,EXTRA\n")
    result = env.run_in_process(env.pipeline(on_bad_lines="quarantine", name="q.yaml"))
    assert result["status"] == "success", result["error"]
    env.records.write_text(RECORDS + "4,1\n5,2,y\n")
    failing = _batch_step("raise ValueError('after quarantine')")
    return env.argv(env.pipeline(failing, on_bad_lines="quarantine"))


def _bad_lines(policy: str, mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        env.records.write_bytes(
            RECORDS.encode() + b'4,9,x,EXTRA\n4,1,new\n5,7\n6,2,caf\xe9\n7,3,"open\n'
        )
        code = STREAM_DOUBLE if mode == "stream" else DOUBLE
        pipeline = env.pipeline(code, stream=mode == "stream", on_bad_lines=policy)
        return env.argv(pipeline, "--stream-chunk-size", "2")

    return prepare


def _unreadable(env: Env) -> list[str]:
    env.records.chmod(0)
    require_permissions(env.records, "open(p, 'rb')")
    return restricted("no-dac", env.argv(env.pipeline()))


def _read_only_output_dir(previous: bool) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        if not previous:
            shutil.rmtree(env.out)
            env.out.mkdir()
        env.out.chmod(0o555)
        require_permissions(env.out, "open(p + '/probe', 'w')")
        return restricted("no-dac", env.argv(env.pipeline()))

    return prepare


def _full_disk(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        rows = "".join(f"{i},{i * 3},row {i}\n" for i in range(20_000))
        env.records.write_text("id,amount,note\n" + rows)  # ~400 KB of output, files max 64 KiB
        stream = mode == "stream"
        pipeline = env.pipeline(STREAM_DOUBLE if stream else DOUBLE, stream=stream)
        return restricted("small-files", env.argv(pipeline, "--stream-chunk-size", "1000"))

    return prepare


# A bug inside Trakt, injected: the CSV writer raises RuntimeError; then the real CLI main().
INJECT = """
import sys
import trakt.io.csv


def broken_write(self, frame):
    raise RuntimeError("injected fault in the CSV writer")


trakt.io.csv.CsvChunkWriter.write = broken_write
from trakt.run_local import main

raise SystemExit(main(sys.argv[1:]))
"""


def _internal_error(mode: str) -> Callable[[Env], list[str]]:
    def prepare(env: Env) -> list[str]:
        stream = mode == "stream"
        argv = env.argv(env.pipeline(STREAM_DOUBLE if stream else DOUBLE, stream=stream))
        return [sys.executable, "-c", INJECT, *argv[3:]]

    return prepare


# Loads a pipeline file; prints the first problem, the seconds it took and the peak RSS.
BOMB_PROBE = """
import sys, time
from trakt import PipelineValidationError, load_pipeline_from_yaml

start = time.perf_counter()
try:
    load_pipeline_from_yaml(sys.argv[1])
except PipelineValidationError as exc:
    print(exc.problems[0].message)
print(time.perf_counter() - start)
# VmHWM starts afresh at exec; ru_maxrss would count the (large) pytest parent it forked from.
from trakt.runtime.execution import peak_rss_bytes
print(peak_rss_bytes())
"""


def _alias_bomb_probe(env: Env) -> list[str]:
    bomb = env.write_yaml(ALIAS_BOMB, "bomb.yaml")
    return [sys.executable, "-c", BOMB_PROBE, str(bomb)]


CASES: dict[str, Callable[[Env], list[str]]] = {
    "unreadable": _unreadable,
    "read_only_output_dir-empty": _read_only_output_dir(previous=False),
    "read_only_output_dir-previous_run": _read_only_output_dir(previous=True),
    "full_disk-batch": _full_disk("batch"),
    "full_disk-stream": _full_disk("stream"),
    "internal_error-batch": _internal_error("batch"),
    "internal_error-stream": _internal_error("stream"),
    "alias_bomb_probe": _alias_bomb_probe,
    "quirks-batch": _quirks("batch"),
    "quirks-stream": _quirks("stream"),
    "publish-batch": _publish("batch", fail=False),
    "publish-stream": _publish("stream", fail=False),
    "publish_failed-batch": _publish("batch", fail=True),
    "publish_failed-stream": _publish("stream", fail=True),
    "leftovers": _leftovers,
    "quarantine_then_fail": _quarantine_then_fail,
    **{
        f"bad_lines_{policy}-{mode}": _bad_lines(policy, mode)
        for policy in ("quarantine", "skip")
        for mode in ("batch", "stream")
    },
}


def _run_child(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Launched]]:
    """Set up every table case (good run first), and start its CLI child in the pool."""
    runs: dict[str, Launched] = {}
    prepares: dict[str, Callable[[Env], list[str]]] = {
        f"{table}/{name}": fault.prepare
        for table, faults in TABLES.items()
        for name, fault in faults.items()
    }
    prepares.update({f"ok/{name}": prepare for name, prepare in CASES.items()})
    for key, prepare in prepares.items():
        assert prepare is not None
        env = Env(tmp_path_factory.mktemp(key.replace("/", "-")))
        env.good_run()
        try:
            argv = prepare(env)
        except Unavailable as why:
            runs[key] = Launched(env, {}, {}, None, str(why))
            continue
        before, inputs = published(env.out), input_files(env)
        runs[key] = Launched(env, before, inputs, _POOL.submit(_run_child, argv, env.root))
    yield runs
    for run in runs.values():
        if run.future is not None:
            run.future.cancel()


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


# --- bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_clear_line(name: str, launched: dict[str, Launched]) -> None:
    check_fault(launched[f"bad_input/{name}"], BAD_INPUTS[name])


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_odd_but_valid_inputs_are_read_exactly(mode: str, launched: dict[str, Launched]) -> None:
    """BOM, CRLF, quoted newlines, header-only files: read right, written back exactly."""
    run = launched[f"ok/quirks-{mode}"]
    proc = run.proc
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    got = published(run.env.out)
    for name, (_, expected) in QUIRKS.items():
        assert got[f"{name}.csv"] == expected, name
    manifest = run.env.manifest()
    assert manifest["status"] == "success"
    assert manifest["inputs"]["header_only"]["rows"] == 0
    assert manifest["inputs"]["bom"]["columns"] == ["id", "name"]


def test_unreadable_input_file(launched: dict[str, Launched]) -> None:
    run = launched["ok/unreadable"]
    fault = Fault(
        None,
        1,
        "InputError: cannot read CSV {records}: permission denied; make the file readable for "
        "this user",
        "failed",
        "InputError",
        {"file": "{records}", "artifact": "records"},
    )
    try:
        check_fault(run, fault)
    finally:
        run.env.records.chmod(0o644)


@pytest.mark.parametrize("previous", ["empty", "previous_run"])
def test_read_only_output_dir_is_one_clear_line(
    previous: str, launched: dict[str, Launched]
) -> None:
    run = launched[f"ok/read_only_output_dir-{previous}"]
    try:
        proc = run.proc
        assert proc.returncode == 1, proc.stderr
        line = clear_line(proc)
        assert str(run.env.out) in line
        assert "permission denied" in line.lower()
        assert published(run.env.out) == run.before
        assert input_files(run.env) == run.inputs
        if previous == "previous_run":
            assert run.env.manifest()["run_id"] == "good"
    finally:
        run.env.out.chmod(0o755)


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_full_disk_during_write(mode: str, launched: dict[str, Launched]) -> None:
    fault = Fault(
        None,
        1,
        "failed at writing outputs: OutputError: cannot write {out}/.trakt-tmp-faulty-final.csv"
        ": File too large",
        "failed",
        "OutputError",
    )
    check_fault(launched[f"ok/full_disk-{mode}"], fault)


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_internal_error_still_writes_failed_manifest(
    mode: str, launched: dict[str, Launched]
) -> None:
    fault = Fault(
        None,
        1,
        "failed at writing outputs: RuntimeError: injected fault in the CSV writer",
        "failed",
        "RuntimeError",
        {"internal": True},
    )
    manifest = check_fault(launched[f"ok/internal_error-{mode}"], fault)
    assert manifest is not None
    assert "broken_write" in manifest["error"]["traceback"]


# --- malformed rows ----------------------------------------------------------------------


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_row_stops_the_run_with_line(name: str, launched: dict[str, Launched]) -> None:
    """on_bad_lines: error (the default), batch and stream: file, line number and reason."""
    check_fault(launched[f"malformed/{name}"], MALFORMED[name])


# Lines 5, 7, 8 and 9 of the file written by _bad_lines; line 6 is good.
REJECTED = (
    "file,line,reason,raw\n"
    'records.csv,5,"expected 3 fields, found 4","4,9,x,EXTRA"\n'
    'records.csv,7,"expected 3 fields, found 2","5,7"\n'
    'records.csv,8,bytes not valid utf-8 at column 8,"6,2,caf\\xe9"\n'
    "records.csv,9,unterminated quote: the quoted field runs to the end of the file,"
    '"7,3,""open"\n'
)


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("policy", ["quarantine", "skip"])
def test_bad_lines_set_aside(policy: str, mode: str, launched: dict[str, Launched]) -> None:
    run = launched[f"ok/bad_lines_{policy}-{mode}"]
    env, proc = run.env, run.proc
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = {"final.csv": DOUBLED_4.encode()}
    rejected = env.out / "_rejected" / "records.csv"
    if policy == "quarantine":
        expected["_rejected/records.csv"] = REJECTED.encode()
    assert published(env.out) == expected
    manifest = env.manifest()
    assert manifest["status"] == "success"
    bad = manifest["inputs"]["records"]["bad_lines"]
    assert bad == {
        "policy": policy,
        "count": 4,
        **({"path": str(rejected)} if policy == "quarantine" else {}),
    }
    assert manifest["inputs"]["records"]["rows"] == 4
    assert temp_files(env.out) == []


def test_failed_run_leaves_previous_quarantine_file(launched: dict[str, Launched]) -> None:
    run = launched["ok/quarantine_then_fail"]
    assert "_rejected/records.csv" in run.before
    fault = Fault(
        _missing_file, 1, "failed at step 'transform': ValueError: after quarantine", "failed"
    )
    check_fault(run, fault)


# --- steps -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STEP_FAULTS)
def test_step_fault_ends_the_run_naming_the_step(name: str, launched: dict[str, Launched]) -> None:
    manifest = check_fault(launched[f"step/{name}"], STEP_FAULTS[name])
    assert manifest is not None
    assert manifest["error"]["step_id"] == "transform"
    assert [(s["id"], s["status"]) for s in manifest["steps"]] == [("transform", "failed")]
    if name == "raises":
        error = manifest["error"]
        assert error["message"] == "boom in step"
        assert "raise ValueError('boom in step')" in error["traceback"]


# --- YAML --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", YAML_FAULTS)
def test_yaml_refused(name: str, launched: dict[str, Launched]) -> None:
    run = launched[f"yaml/{name}"]
    fault = YAML_FAULTS[name]
    pipeline = run.env.root / "pipeline.yaml"
    assert run.proc.stderr.startswith(f"trakt: {pipeline}: "), run.proc.stderr
    manifest = check_fault(run, Fault(fault.prepare, 2, fault.line, "invalid", one_line=False))
    assert manifest is not None
    assert manifest["error"]["type"] == "PipelineValidationError"
    messages = [p["message"] for p in manifest["error"]["problems"]]
    assert any(fault.line in m for m in messages), messages
    assert not (run.env.root / "pwned").exists()  # no tag was ever executed


# --- manifests for every ending -----------------------------------------------------------


def test_alias_bomb_is_rejected_quickly_in_bounded_memory(launched: dict[str, Launched]) -> None:
    """Nine levels of nine aliases would expand to 9**9 nodes; the loader stops at 100,000."""
    proc = launched["ok/alias_bomb_probe"].proc
    assert proc.returncode == 0, proc.stderr
    message, seconds, peak = proc.stdout.splitlines()
    assert message.startswith("document expands to more than 100000 nodes")
    assert float(seconds) < 5
    assert int(peak) < 400 * 2**20


@pytest.mark.parametrize("name", INVALID)
def test_invalid_run_writes_invalid_manifest(name: str, launched: dict[str, Launched]) -> None:
    manifest = check_fault(launched[f"invalid/{name}"], INVALID[name])
    assert manifest is not None
    if name == "cycle_and_typo":
        problems = [(p["path"], p["line"], p["column"]) for p in manifest["error"]["problems"]]
        assert problems == [("steps[0]", 5, 5), ("steps[2].with.input", 13, 12)]
        assert (
            "reads artifact 'recrods', which nothing produces (did you mean 'records'?)"
            in (manifest["error"]["problems"][1]["message"])
        )
    if name == "unknown_key":
        [problem] = manifest["error"]["problems"]
        assert problem["message"].startswith("unknown key 'usees' (did you mean 'uses'?)")
        assert (problem["path"], problem["line"], problem["column"]) == ("steps[0].usees", 7, 3)
        assert problem["file"] == str(launched[f"invalid/{name}"].env.root / "pipeline.yaml")


@pytest.mark.parametrize(
    ("sig", "code", "mode"),
    [
        (signal.SIGINT, 130, "batch"),
        (signal.SIGTERM, 143, "batch"),
        (signal.SIGINT, 130, "stream"),
        (signal.SIGTERM, 143, "stream"),
    ],
)
def test_signal_cancels_with_manifest(
    tmp_path: Path, sig: signal.Signals, code: int, mode: str
) -> None:
    env = Env(tmp_path)
    before = env.good_run()
    marker = tmp_path / "started"
    stream = mode == "stream"
    pipeline = env.pipeline(
        SLOW_STREAM if stream else SLOW,
        stream=stream,
        params={"marker": str(marker), "release": str(tmp_path / "never")},
        # `raw` is written (to a temp file) before the step runs, so one exists when cancelled.
        outputs={"final": "result", "raw": "records"},
    )
    child = env.start(restricted("default-sigint", env.argv(pipeline, "--stream-chunk-size", "1")))
    try:
        wait_for(marker.exists, "the step to start")
        assert temp_files(env.out) != []
        child.send_signal(sig)
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    name = sig.name
    assert stderr.strip().splitlines() == [
        f"trakt: cancelled by {name}; the manifest says how far it got"
    ]
    manifest = env.manifest()
    assert manifest["status"] == "cancelled"
    assert manifest["run_id"] == RUN_ID
    assert manifest["error"] == {
        "type": name,
        "message": f"cancelled by {name}",
        "step_id": "transform",
    }
    assert manifest["finished_at"] is not None
    assert published(env.out) == before
    assert temp_files(env.out) == []


def test_sigkill_leaves_running_manifest_reported_by_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGKILL skips every cleanup: the manifest says `running`, a temp file stays; the next
    run (Python API here; the CLI in test_kill.py) reports the stale run and cleans up."""
    env = Env(tmp_path)
    before = env.good_run()
    marker = tmp_path / "started"
    pipeline = env.pipeline(
        SLOW,
        params={"marker": str(marker), "release": str(tmp_path / "never")},
        outputs={"final": "result", "raw": "records"},
    )
    child = env.start(env.argv(pipeline))
    try:
        wait_for(marker.exists, "the step to start")
        child.kill()
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    killed = env.manifest()
    assert killed["status"] == "running"
    assert killed["run_id"] == RUN_ID
    assert temp_files(env.out) == [f".trakt-tmp-{RUN_ID}-raw.csv"]
    # The dead run's lock file still names it, but the kernel released its flock.
    assert (env.out / ".trakt.lock").read_text() == f"run {RUN_ID} (pid {child.pid})\n"
    assert published(env.out) == {**before, f".trakt-tmp-{RUN_ID}-raw.csv": RECORDS.encode()}

    env.records.write_text(RECORDS_4)
    with caplog.at_level("WARNING", logger="trakt.runner"):
        result = env.run_in_process(env.pipeline(name="rerun.yaml"), run_id="rerun")
    assert result["status"] == "success", result["error"]
    stale = {"run_id": RUN_ID, "started_at": killed["started_at"]}
    assert result["stale_run"] == stale
    assert f"the previous run {RUN_ID} in {env.out} never finished" in caplog.text
    manifest = env.manifest()
    assert manifest["stale_run"] == stale
    assert manifest["removed_leftovers"] == [f".trakt-tmp-{RUN_ID}-raw.csv"]
    assert published(env.out) == {"final.csv": DOUBLED_4.encode()}


# --- all-or-nothing outputs --------------------------------------------------------------


def _listing(manifest: dict[str, Any]) -> list[str]:
    spy = next(s for s in manifest["steps"] if s["id"] == "spy")
    files: list[str] = spy["events"][0]["files"]
    return files


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_outputs_appear_only_at_success(mode: str, launched: dict[str, Launched]) -> None:
    run = launched[f"ok/publish-{mode}"]
    proc = run.proc
    assert proc.returncode == 0, proc.stderr
    manifest = run.env.manifest()
    # While the run went on, `final` was a temp file beside the good run's final.csv.
    during = _listing(manifest)
    assert f".trakt-tmp-{RUN_ID}-final.csv" in during
    assert "final.csv" in during and "seen.csv" not in during
    assert published(run.env.out) == {
        "final.csv": DOUBLED_4.encode(),
        "seen.csv": DOUBLED_4.encode(),
    }
    assert [o["name"] for o in manifest["outputs"]] == ["final", "seen"]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_failed_run_publishes_nothing(mode: str, launched: dict[str, Launched]) -> None:
    run = launched[f"ok/publish_failed-{mode}"]
    fault = Fault(
        _missing_file,
        1,
        "failed at step 'spy' (chunk 0): RuntimeError: spy saw enough",
        "failed",
        "RuntimeError",
        {"step_id": "spy"},
    )
    manifest = check_fault(run, fault)
    assert manifest is not None
    assert f".trakt-tmp-{RUN_ID}-final.csv" in _listing(manifest)


def test_leftovers_of_a_crashed_run_are_removed(launched: dict[str, Launched]) -> None:
    run = launched["ok/leftovers"]
    proc = run.proc
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # the crashed run's manifest said success: no stale run
    manifest = run.env.manifest()
    assert manifest["removed_leftovers"] == [
        ".trakt-tmp-crashed-final.csv",
        ".trakt-tmp-crashed-work",
        "_rejected/.trakt-tmp-crashed-records.csv",
    ]
    assert "stale_run" not in manifest
    assert temp_files(run.env.out) == []
    assert published(run.env.out) == {"final.csv": DOUBLED_4.encode()}


# --- inputs are never written ------------------------------------------------------------


@pytest.mark.parametrize("name", CONFLICTS)
def test_output_conflict_refused_before_anything_runs(
    name: str, launched: dict[str, Launched]
) -> None:
    run = launched[f"conflict/{name}"]
    env = run.env
    proc = run.proc
    # Checked first: the input file itself, whatever else the run did.
    assert env.records.read_bytes() == RECORDS.encode(), proc.stderr
    check_fault(run, CONFLICTS[name])
    assert "(inputs are never written)" in proc.stderr
    assert not (env.root / "ran").exists()  # the step never ran
    if name == "output_over_input":
        assert (env.input_dir / "final.csv").read_text() == RECORDS
    if name == "quarantine_over_input":
        assert (env.out / "_rejected" / "records.csv").read_text() == RECORDS


# --- one run at a time -------------------------------------------------------------------


def test_second_concurrent_run_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.good_run()
    marker, release = tmp_path / "started", tmp_path / "release"
    slow = env.pipeline(
        SLOW, params={"marker": str(marker), "release": str(release)}, name="slow.yaml"
    )
    argv = env.argv(slow)
    argv[argv.index("--run-id") + 1] = "holder"
    holder = env.start(argv)
    try:
        wait_for(marker.exists, "the first run's step to start")
        manifest_bytes = (env.out / "manifest.json").read_bytes()
        assert json.loads(manifest_bytes)["status"] == "running"
        in_use = (
            f"trakt: output dir {env.out} is in use by run holder (pid {holder.pid}); wait for "
            "it to finish or choose another --output-dir"
        )
        started = time.monotonic()
        second = env.cli(env.argv(env.pipeline(name="second.yaml")))
        assert time.monotonic() - started < 20
        assert second.returncode == 1, second.stderr
        assert clear_line(second) == in_use
        # An invalid pipeline cannot record its `invalid` manifest over the running one either.
        invalid = env.write_yaml("name: x\nsteps: [{id: a}]\n", "invalid.yaml")
        third = env.cli(env.argv(invalid))
        assert third.returncode == 1, third.stderr
        assert clear_line(third) == in_use
        assert holder.poll() is None
        assert (env.out / "manifest.json").read_bytes() == manifest_bytes
        assert temp_files(env.out) == []
        release.touch()
        _, stderr = holder.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == 0, stderr
    manifest = env.manifest()
    assert (manifest["run_id"], manifest["status"]) == ("holder", "success")
    assert published(env.out) == {"final.csv": RECORDS.encode()}
