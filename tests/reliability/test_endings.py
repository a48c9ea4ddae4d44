"""Every ending is reported truthfully: exit code, last stderr line and manifest agree.

Steps that raise BaseExceptions (anywhere a step's code runs), paths with rich markup in them,
runs whose paths move under them (os.chdir, names too long), non-finite numbers and odd event
values (strict JSON), and steps that try to outlive their ``timeout_s``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DOUBLE, Project
from trakt import load_pipeline_from_yaml, run_local
from trakt.runtime.local_runner import LocalRunner
from trakt.runtime.manifest import Manifest, OutputRecord, StepRecord

RECORDS = "id,amount\n1,5\n2,7\n3,11\n"
DOUBLED = "id,amount\n1,10\n2,14\n3,22\n"
CHILD_TIMEOUT_S = 120

ONE_STEP = """
name: endings
{execution}
inputs:
  records:
    uri: records.csv
steps:
  - id: {step_id}
    uses: {uses}
{extra}    with:
      input: records
      output: result
outputs:
  datasets:
    - name: final
      from: result
"""

# A custom BaseException, as a library might define one.
RAISERS = """
import sys


class Halt(BaseException):
    pass


def _fail(how):
    if how == "custom":
        raise Halt("stop right there")
    if how == "exit0":
        sys.exit(0)
    if how == "generator_exit":
        raise GeneratorExit("odd")
    raise AssertionError(how)


def plain(ctx, input, output, how):
    _fail(how)


def chunked(ctx, input, output, how):
    def chunks():
        for chunk in input:
            yield chunk
            _fail(how)
    return {"output": chunks()}


chunked.supports_stream = True


def cleanup(ctx, input, output, how):
    def chunks():
        try:
            for chunk in input:
                yield chunk
        finally:
            _fail(how)
    return {"output": chunks()}


cleanup.supports_stream = True


def relay(ctx, input, output):
    return {"output": (chunk for chunk in input)}


relay.supports_stream = True
"""


def _pipeline(
    project: Project,
    uses: str,
    *,
    stream: bool = False,
    step_id: str = "explode",
    extra: str = "",
    params: str = "",
) -> Path:
    text = ONE_STEP.format(
        execution="execution:\n  mode: stream" if stream else "",
        step_id=step_id,
        uses=uses,
        extra=extra,
    )
    if params:
        text = text.replace("      output: result\n", f"      output: result\n{params}")
    return project.pipeline(text)


def _run(project: Project, path: Path, **kwargs: Any) -> dict[str, Any]:
    runner = LocalRunner(input_dir=project.input_dir, output_dir=project.output_dir, **kwargs)
    return runner.run(load_pipeline_from_yaml(path), run_id="ends")


def _manifest(path: Path) -> dict[str, Any]:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
    return data


def _cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{project.root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [sys.executable, "-m", "trakt.run_local", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


# --- 1. BaseException in steps -----------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "stream", "how", "kind"),
    [
        ("plain", False, "custom", "Halt"),
        ("plain", True, "generator_exit", "GeneratorExit"),  # a `mode: batch` step
        ("chunked", False, "exit0", "SystemExit"),  # a stream-capable step in batch mode
        ("chunked", False, "custom", "Halt"),
        ("chunked", True, "custom", "Halt"),
        ("chunked", True, "generator_exit", "GeneratorExit"),
        ("cleanup", True, "custom", "Halt"),  # the generator's finally, when it is closed
        ("cleanup", False, "exit0", "SystemExit"),
    ],
)
def test_step_base_exception_fails_the_step(
    project: Project, function: str, stream: bool, how: str, kind: str
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("raisers", RAISERS) + f".{function}"
    extra = "    mode: batch\n" if function == "plain" and stream else ""
    path = _pipeline(project, uses, stream=stream, extra=extra, params=f"      how: {how}\n")

    result = _run(project, path)

    assert (result["status"], result["exit_code"]) == ("failed", 1)
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["status"] == "failed"
    assert manifest["error"]["step_id"] == "explode"
    assert manifest["error"]["type"] == kind
    assert [s["status"] for s in manifest["steps"]] == ["failed"]
    assert sorted(p.name for p in project.output_dir.iterdir()) == ["manifest.json"]


FAN = """
name: fan
execution:
  mode: stream
inputs:
  records:
    uri: records.csv
steps:
  - id: explode
    uses: {uses}.chunked
    with:
      input: records
      output: mid
      how: custom
  - id: left
    uses: {uses}.relay
    with:
      input: mid
      output: a
  - id: right
    uses: {double}
    mode: batch
    with:
      input: mid
      output: b
outputs:
  datasets:
    - name: a
      from: a
    - name: b
      from: b
"""


def test_base_exception_reached_through_fan_out_and_whole_input(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("raisers", RAISERS)
    double = project.step("double", DOUBLE)
    path = project.pipeline(FAN.format(uses=uses, double=double))

    result = _run(project, path)

    assert (result["status"], result["exit_code"]) == ("failed", 1)
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["error"]["step_id"] == "explode"
    assert manifest["error"]["type"] == "Halt"
    assert manifest["steps"][0]["status"] == "failed"


@pytest.mark.slow
def test_sys_exit_0_in_batch_generator_exits_1_with_one_line(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("raisers", RAISERS) + ".chunked"
    _pipeline(project, uses, params="      how: exit0\n")

    proc, last = _failing_cli(project)

    assert last.startswith("trakt: run ends failed at step 'explode' (chunk 1): SystemExit")
    assert "Traceback" not in proc.stderr
    assert _manifest(project.output_dir / "manifest.json")["status"] == "failed"


# --- 2. rich markup in user-supplied text ------------------------------------------------


def _markup_manifest() -> Manifest:
    manifest = Manifest("r1", {"name": "p"}, "batch", "0")
    record = StepRecord("[/]step[bold", "x.y")
    record.start()
    record.rows_in = {"input": 3}
    record.events = [{"kind": "[red]odd[/]", "message": "m", "at": "t"}]
    record.finish("success")
    manifest.steps.append(record)
    manifest.outputs.append(
        OutputRecord("out[/x]", "a", "csv", "file:///out.csv", "dir[/]/[b]out.csv", 3, 10, "", 0.0)
    )
    manifest.finish("success")
    return manifest


def test_progress_display_shows_brackets_as_they_are() -> None:
    from rich.console import Console

    from trakt.progress import LiveProgress, summary_table

    buffer = io.StringIO()
    console = Console(file=buffer, width=300, color_system=None)
    manifest = _markup_manifest()
    console.print(summary_table(manifest))
    progress = LiveProgress(buffer)
    progress.manifest = manifest
    console.print(progress._lines())

    shown = buffer.getvalue()
    for text in ("[/]step[bold", "[red]odd[/]", "out[/x]", "dir[/]/[b]out.csv"):
        assert text in shown


def test_json_log_lines_are_strict_json() -> None:
    from trakt.progress import JsonFormatter

    record = logging.makeLogRecord(
        {"msg": "ratio %s", "args": (float("nan"),), "ratio": float("inf"), "name": "trakt"}
    )
    line = JsonFormatter().format(record)

    data = json.loads(line, parse_constant=lambda name: pytest.fail(f"not strict: {name}"))
    assert data["ratio"] == "Infinity"
    assert data["message"] == "ratio nan"


# --- 3. paths fixed at start -------------------------------------------------------------

CHDIR = """
import os


def run(ctx, input, output, elsewhere):
    os.chdir(elsewhere)
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}


def chunked(ctx, input, output, elsewhere):
    os.chdir(elsewhere)

    def chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame
    return {"output": chunks()}


chunked.supports_stream = True
"""


@pytest.mark.parametrize("stream", [False, True])
def test_step_calling_chdir_moves_nothing(
    project: Project, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.csv("records.csv", RECORDS)
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    uses = project.step("chdir", CHDIR) + (".chunked" if stream else ".run")
    path = _pipeline(project, uses, stream=stream, params=f"      elsewhere: {elsewhere}\n")
    monkeypatch.chdir(project.root)
    runner = LocalRunner(input_dir="input", output_dir="output")

    result = runner.run(load_pipeline_from_yaml(path), run_id="ends")

    assert result["status"] == "success", result["error"]
    assert result["manifest_path"] == str(Path("output") / "manifest.json")
    assert (project.output_dir / "final.csv").read_text() == DOUBLED
    assert _manifest(project.output_dir / "manifest.json")["status"] == "success"
    assert list(elsewhere.iterdir()) == []


def test_temporary_path_too_long_for_the_file_system_fails_the_run(project: Project) -> None:
    """ENAMETOOLONG on a temporary output (the final path fits PATH_MAX, the temporary one,
    longer by the run id, does not): a failed run with its manifest, never one left running."""
    project.csv("records.csv", RECORDS)
    uses = project.step("double", DOUBLE)
    out = project.root
    while len(str(out)) < 4000 - 201:
        out = out / ("d" * 200)
    out = out / ("d" * (4000 - len(str(out)) - 1))
    assert len(str(out)) == 4000
    runner = LocalRunner(input_dir=project.input_dir, output_dir=out)

    result = runner.run(load_pipeline_from_yaml(_pipeline(project, uses)), run_id="r" * 100)

    assert (result["status"], result["exit_code"]) == ("failed", 1)
    manifest = _manifest(out / "manifest.json")
    assert manifest["status"] == "failed"
    assert manifest["error"]["output"] == "final"
    assert "internal" not in manifest["error"]
    assert "File name too long" in manifest["error"]["message"]
    assert not (out / "final.csv").exists()


def test_manifest_name_near_the_limit_is_written(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("double", DOUBLE)
    manifest_path = project.output_dir / ("m" * 250 + ".json")

    result = _run(project, _pipeline(project, uses), manifest_path=manifest_path)

    assert result["status"] == "success"
    assert _manifest(manifest_path)["status"] == "success"


@pytest.mark.slow
def test_final_manifest_that_cannot_be_written_says_so(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    breaker = """
    import shutil
    from pathlib import Path


    def run(ctx, input, output, where):
        shutil.rmtree(where)
        Path(where).write_text("a file where the manifest dir was")
        return {"output": input}
    """
    uses = project.step("breaker", breaker)
    where = project.root / "meta"
    _pipeline(project, uses, params=f"      where: {where}\n")

    proc = _cli(
        project,
        "--pipeline-file",
        "pipeline.yaml",
        "--input-dir",
        "input",
        "--manifest-path",
        str(where / "manifest.json"),
    )

    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"trakt: cannot write the manifest {where / 'manifest.json'}")
    )
    assert proc.stderr.strip().endswith("the run's status is not recorded there")


# --- 4. strict JSON ----------------------------------------------------------------------

EVENTFUL = """
import numpy as np


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")

    def __repr__(self):
        raise RuntimeError("no")


def run(ctx, input, output):
    ctx.emit_event(
        "odd",
        "values",
        count=np.int64(3),
        ratio=float("nan"),
        top=np.float64("inf"),
        tags={"b", "a"},
        pair=(1, 2),
        broken=Unprintable(),
    )
    return {"output": input}
"""


def test_manifest_is_strict_json(project: Project) -> None:
    project.csv("records.csv", "id,amount\n1,inf\n2,-inf\n3,nan\n4,\n")
    uses = project.step("eventful", EVENTFUL)

    result = _run(project, _pipeline(project, uses))

    assert result["status"] == "success", result["error"]
    manifest = _manifest(project.output_dir / "manifest.json")
    summary = manifest["inputs"]["records"]["column_summaries"]["amount"]
    assert (summary["min"], summary["max"]) == ("-Infinity", "Infinity")
    event = manifest["steps"][0]["events"][0]
    assert event["count"] == 3
    assert event["ratio"] == "NaN"
    assert event["top"] == "Infinity"
    assert event["tags"] == ["a", "b"]
    assert event["pair"] == [1, 2]
    assert event["broken"] == "<unprintable Unprintable>"


def test_failed_run_with_nan_in_error_is_strict_json(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    nan_error = """
    def run(ctx, input, output):
        ctx.emit_event("ratio", "computed", value=float("nan"))
        raise ValueError(float("nan"))
    """
    uses = project.step("nanerr", nan_error)

    result = _run(project, _pipeline(project, uses))

    assert result["status"] == "failed"
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["error"]["message"] == "nan"
    assert manifest["steps"][0]["events"][0]["value"] == "NaN"


# --- 5. timeouts that cannot be caught ---------------------------------------------------

SWALLOW = """
import time


def loops_then_returns(ctx, input, output):
    try:
        while True:
            time.sleep(0.01)
    except BaseException:
        pass
    return {"output": input}


def finally_loop(ctx, input, output):
    try:
        while True:
            time.sleep(0.01)
    finally:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                time.sleep(0.01)
            except BaseException:
                pass
        return {"output": input}  # a return in finally drops the exception in flight


def swallowing_chunks(ctx, input, output):
    def chunks():
        for chunk in input:
            try:
                while True:
                    time.sleep(0.01)
            except:  # noqa: E722
                pass
            yield chunk
    return {"output": chunks()}


swallowing_chunks.supports_stream = True


def never_stops(ctx, input, output):
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass
"""


@pytest.mark.parametrize(
    ("function", "stream"),
    [
        ("loops_then_returns", False),
        ("finally_loop", False),
        ("swallowing_chunks", False),
        ("swallowing_chunks", True),
    ],
)
def test_timeout_cannot_be_swallowed(project: Project, function: str, stream: bool) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("swallow", SWALLOW) + f".{function}"
    path = _pipeline(project, uses, stream=stream, extra="    timeout_s: 0.2\n")

    result = _run(project, path)

    assert (result["status"], result["exit_code"]) == ("failed", 1)
    error = _manifest(project.output_dir / "manifest.json")["error"]
    assert (error["step_id"], error["type"]) == ("explode", "StepTimeout")
    assert "did not finish within timeout_s=0.2" in error["message"]
    assert not (project.output_dir / "final.csv").exists()


@pytest.mark.slow
def test_step_that_never_stops_ends_the_process(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("swallow", SWALLOW) + ".never_stops"
    _pipeline(project, uses, extra="    timeout_s: 0.3\n")

    _, last = _failing_cli(project)

    assert last.startswith("trakt: run ends failed at step 'explode': StepTimeout: ")
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["status"] == "failed"
    assert manifest["error"]["type"] == "StepTimeout"
    assert manifest["steps"][0]["status"] == "failed"
    # The process ended with the step still running: its lock file stays (the kernel released
    # the flock; the next run takes the file over).
    assert sorted(p.name for p in project.output_dir.iterdir()) == [".trakt.lock", "manifest.json"]


# --- 6. cancellation sticks; timeouts can be neither defeated nor leaked ----------------

SIGNALLED = """
import os
import signal
import time


def _swallow_own_signal(name):
    deadline = time.monotonic() + 0.3
    sent = False
    while time.monotonic() < deadline:
        try:
            if not sent:
                sent = True
                os.kill(os.getpid(), getattr(signal, name))  # as if sent from outside, now
            time.sleep(0.01)
        except BaseException:
            pass


def swallows(ctx, input, output, sig):
    _swallow_own_signal(sig)
    return {"output": input}


def swallows_in_chunks(ctx, input, output, sig):
    def chunks():
        for chunk in input:
            _swallow_own_signal(sig)
            yield chunk
    return {"output": chunks()}


swallows_in_chunks.supports_stream = True


def raises_keyboard_interrupt(ctx, input, output, sig):
    raise KeyboardInterrupt


def cleans_up_on_ctrl_c(ctx, input, output, sig):
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        open(sig, "w").close()
        raise
    return {"output": input}
"""


def _failing_cli(project: Project) -> tuple[subprocess.CompletedProcess[str], str]:
    """The CLI run of the project's pipeline, which must exit 1; and its last stderr line."""
    proc = _cli(project, *_cli_args(project))
    assert proc.returncode == 1, proc.stderr
    return proc, proc.stderr.strip().splitlines()[-1]


def _cli_args(project: Project, *extra: str) -> list[str]:
    return [
        "--pipeline-file",
        str(project.root / "pipeline.yaml"),
        "--input-dir",
        str(project.input_dir),
        "--output-dir",
        str(project.output_dir),
        "--run-id",
        "ends",
        *extra,
    ]


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
@pytest.mark.parametrize(
    ("function", "stream"), [("swallows", False), ("swallows_in_chunks", True)]
)
def test_cancel_sticks_when_the_step_swallows_the_signal(
    project: Project,
    capsys: pytest.CaptureFixture[str],
    sig: str,
    code: int,
    function: str,
    stream: bool,
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("signalled", SIGNALLED) + f".{function}"
    _pipeline(project, uses, stream=stream, params=f"      sig: {sig}\n")
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    exit_code = run_local.main(_cli_args(project))

    assert exit_code == code
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"trakt: cancelled by {sig}; the manifest says how far it got"
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["status"] == "cancelled"
    assert (manifest["error"]["type"], manifest["error"]["step_id"]) == (sig, "explode")
    assert manifest["outputs"] == []
    assert not (project.output_dir / "final.csv").exists()
    assert {s: signal.getsignal(s) for s in before} == before  # the CLI's handlers are gone


def test_keyboard_interrupt_raised_by_the_step_fails_it_under_the_cli(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("signalled", SIGNALLED) + ".raises_keyboard_interrupt"
    _pipeline(project, uses, params="      sig: none\n")

    exit_code = run_local.main(_cli_args(project))

    assert exit_code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("trakt: run ends failed at step 'explode': KeyboardInterrupt")
    manifest = _manifest(project.output_dir / "manifest.json")
    assert manifest["status"] == "failed"
    assert (manifest["error"]["type"], manifest["error"]["step_id"]) == (
        "KeyboardInterrupt",
        "explode",
    )
    assert "internal" not in manifest["error"]


def test_ctrl_c_under_the_cli_is_still_a_keyboard_interrupt_to_the_step(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", RECORDS)
    marker = project.root / "cleaned-up"
    uses = project.step("signalled", SIGNALLED) + ".cleans_up_on_ctrl_c"
    _pipeline(project, uses, params=f"      sig: {marker}\n")

    exit_code = run_local.main(_cli_args(project))

    assert exit_code == 130
    assert marker.exists()
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "trakt: cancelled by SIGINT; the manifest says how far it got"
    manifest = _manifest(project.output_dir / "manifest.json")
    assert (manifest["status"], manifest["error"]["type"]) == ("cancelled", "SIGINT")


def test_keyboard_interrupt_still_cancels_a_library_run(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("signalled", SIGNALLED) + ".raises_keyboard_interrupt"
    path = _pipeline(project, uses, params="      sig: none\n")

    with pytest.raises(KeyboardInterrupt):
        _run(project, path)

    manifest = _manifest(project.output_dir / "manifest.json")
    assert (manifest["status"], manifest["error"]["type"]) == ("cancelled", "SIGINT")


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_the_cli_cancels_a_step_that_swallows_it(
    project: Project, sig: signal.Signals, code: int
) -> None:
    project.csv("records.csv", RECORDS)
    started = project.root / "started"
    uses = project.step("sleeper", SLEEPER.format(started=str(started))) + ".swallows_for_3s"
    _pipeline(project, uses)
    child = subprocess.Popen(
        [sys.executable, "-m", "trakt.run_local", *_cli_args(project)],
        cwd=project.root,
        env=_child_env(project),
        stderr=subprocess.PIPE,
        text=True,
    )
    give_up = time.monotonic() + CHILD_TIMEOUT_S
    while not started.exists() and time.monotonic() < give_up and child.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(sig)
    _, err = child.communicate(timeout=CHILD_TIMEOUT_S)

    assert child.returncode == code, err
    assert err.strip().splitlines()[-1] == (
        f"trakt: cancelled by {sig.name}; the manifest says how far it got"
    )
    manifest = _manifest(project.output_dir / "manifest.json")
    assert (manifest["status"], manifest["outputs"]) == ("cancelled", [])
    assert not (project.output_dir / "final.csv").exists()


SLEEPER = """
import os
import signal
import time


def swallows_for_3s(ctx, input, output):
    open({started!r}, "w").close()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
    return {{"output": input}}


def alarm_off_then_sleeps(ctx, input, output):
    signal.alarm(0)
    time.sleep(20)
    return {{"output": input}}


def exits_quietly(ctx, input, output):
    os._exit(0)
"""


def _child_env(project: Project) -> dict[str, str]:
    """The child runs this checkout's trakt (an editable install may point elsewhere)."""
    src = Path(run_local.__file__).resolve().parents[1]
    path = os.pathsep.join([str(src), str(project.root), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


DEFEATS = """
import signal
import time


def alarm_zero(ctx, input, output):
    signal.alarm(0)
    time.sleep(1.2)
    return {"output": input}


def ignore_alarm(ctx, input, output):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(1.2)
    return {"output": input}


def zero_itimer(ctx, input, output):
    signal.setitimer(signal.ITIMER_REAL, 0)
    time.sleep(1.2)
    return {"output": input}


def zero_itimer_in_chunks(ctx, input, output):
    def chunks():
        for chunk in input:
            signal.setitimer(signal.ITIMER_REAL, 0)
            time.sleep(1.2)
            yield chunk
    return {"output": chunks()}


zero_itimer_in_chunks.supports_stream = True


def own_timer(ctx, input, output):
    signal.signal(signal.SIGALRM, lambda signum, frame: None)
    signal.setitimer(signal.ITIMER_REAL, 1000)
    return {"output": input}


def sleeps(ctx, input, output):
    time.sleep(1.2)
    return {"output": input}
"""

TWO_STEPS = """
name: leak
inputs:
  records:
    uri: records.csv
steps:
  - id: first
    uses: {uses}.own_timer
    with: {{input: records, output: mid}}
  - id: second
    uses: {uses}.sleeps
    timeout_s: 0.4
    with: {{input: mid, output: result}}
outputs:
  datasets:
    - {{name: final, from: result}}
"""


@pytest.fixture
def alarm_state() -> Any:
    """What SIGALRM was before the test; put back after it whatever the code under test did."""
    before = signal.getsignal(signal.SIGALRM)
    yield before
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, before)


@pytest.mark.parametrize(
    ("function", "stream"),
    [
        ("alarm_zero", False),
        ("ignore_alarm", False),
        ("zero_itimer", False),
        ("zero_itimer_in_chunks", True),
    ],
)
def test_timeout_cannot_be_turned_off_by_the_step(
    project: Project, alarm_state: Any, function: str, stream: bool
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("defeats", DEFEATS) + f".{function}"
    path = _pipeline(project, uses, stream=stream, extra="    timeout_s: 0.4\n")

    result = _run(project, path)

    assert (result["status"], result["exit_code"]) == ("failed", 1)
    error = _manifest(project.output_dir / "manifest.json")["error"]
    assert (error["step_id"], error["type"]) == ("explode", "StepTimeout")
    assert not (project.output_dir / "final.csv").exists()
    assert signal.getsignal(signal.SIGALRM) == alarm_state
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_steps_own_timer_leaks_neither_to_later_steps_nor_runs(
    project: Project, alarm_state: Any
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("defeats", DEFEATS)
    both = project.pipeline(TWO_STEPS.format(uses=uses), "both.yaml")
    leak = project.pipeline(
        TWO_STEPS.format(uses=uses).split("  - id: second")[0].replace("mid}", "result}")
        + "outputs:\n  datasets:\n    - {name: final, from: result}\n",
        "leak.yaml",
    )
    slow = _pipeline(project, f"{uses}.sleeps", extra="    timeout_s: 0.4\n")

    first = _run(project, both)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == alarm_state
    assert _run(project, leak)["status"] == "success"
    later = _run(project, slow)

    for result in (first, later):
        assert (result["status"], result["error"]["type"]) == ("failed", "StepTimeout")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == alarm_state


@pytest.mark.slow
def test_step_that_turns_off_the_alarm_is_ended_by_the_watchdog(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    started = project.root / "started"
    uses = project.step("sleeper", SLEEPER.format(started=str(started)))
    _pipeline(project, f"{uses}.alarm_off_then_sleeps", extra="    timeout_s: 0.3\n")

    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", *_cli_args(project)],
        cwd=project.root,
        env=_child_env(project),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )

    assert proc.returncode == 1, proc.stderr
    assert time.monotonic() - began < 15  # not the step's 20 s
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("trakt: run ends failed at step 'explode': StepTimeout: ")
    manifest = _manifest(project.output_dir / "manifest.json")
    assert (manifest["status"], manifest["error"]["type"]) == ("failed", "StepTimeout")
    assert not (project.output_dir / "final.csv").exists()


# --- 7. what a step raised, rendered safely on one line ---------------------------------

ODD_MESSAGES = """
class RaisingStr(Exception):
    def __str__(self):
        raise RuntimeError("str fails")


class NoneStr(BaseException):
    def __str__(self):
        return None


def raising_str(ctx, input, output):
    raise RaisingStr()


def none_str(ctx, input, output):
    def chunks():
        for chunk in input:
            raise NoneStr()
            yield chunk
    return {"output": chunks()}


none_str.supports_stream = True


def forged(ctx, input, output):
    raise ValueError("boom\\nsecond\\r\\nthird\\x1b[2J\\x1b]0;title\\x07\\x85end")
"""


@pytest.mark.parametrize(
    ("function", "stream", "kind"),
    [
        ("raising_str", False, "RaisingStr"),
        ("none_str", True, "NoneStr"),
        ("none_str", False, "NoneStr"),
    ],
)
def test_exception_whose_str_fails_is_the_steps_failure(
    project: Project, capsys: pytest.CaptureFixture[str], function: str, stream: bool, kind: str
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("odd", ODD_MESSAGES) + f".{function}"
    _pipeline(project, uses, stream=stream)

    exit_code = run_local.main(_cli_args(project))

    assert exit_code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("trakt: run ends failed at step 'explode'")
    assert f": {kind}: <unprintable {kind}> (at " in last and " (manifest: " in last
    error = _manifest(project.output_dir / "manifest.json")["error"]
    assert (error["step_id"], error["type"]) == ("explode", kind)
    assert error["message"] == f"<unprintable {kind}>"
    assert "internal" not in error


def test_step_message_cannot_break_or_forge_the_last_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("odd", ODD_MESSAGES) + ".forged"
    _pipeline(project, uses)

    exit_code = run_local.main(_cli_args(project))

    assert exit_code == 1
    err = capsys.readouterr().err
    # The step's start and end lines (INFO off a terminal), then the one last line.
    lines = [line for line in err.splitlines(True) if not line.startswith("INFO trakt.steps: ")]
    assert len(lines) == 1 and lines[0].count("\n") == 1
    assert "\x1b" not in err and "\x85" not in err and "\r" not in err
    assert r"ValueError: boom\nsecond\r\nthird\x1b[2J\x1b]0;title\x07\x85end (at " in err
    error = _manifest(project.output_dir / "manifest.json")["error"]
    assert error["message"] == "boom\nsecond\r\nthird\x1b[2J\x1b]0;title\x07\x85end"


@pytest.mark.slow
def test_step_calling_os_exit_is_reported_by_the_next_run(project: Project) -> None:
    project.csv("records.csv", RECORDS)
    uses = project.step("sleeper", SLEEPER.format(started=str(project.root / "started")))
    _pipeline(project, f"{uses}.exits_quietly")

    def cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trakt.run_local", *_cli_args(project)[:-2]],
            cwd=project.root,
            env=_child_env(project),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )

    ended = cli()
    assert (ended.returncode, ended.stderr) == (0, "")  # inherent: the process just ends
    assert _manifest(project.output_dir / "manifest.json")["status"] == "running"

    project.step(
        "sleeper",
        SLEEPER.format(started="")
        + "\nexits_quietly = lambda ctx, input, output: {'output': input}\n",
    )
    rerun = cli()

    assert rerun.returncode == 0, rerun.stderr
    assert "never finished and ended without a trace" in rerun.stderr
    assert "os._exit" in rerun.stderr
