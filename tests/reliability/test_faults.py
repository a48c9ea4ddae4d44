"""Fault injection through the real CLI: every way a run can end badly.

The fault tables are in ``cases.py``, the other pooled cases in ``setups.py``, the machinery
in ``harness.py``; all of them are started together by the ``launched`` fixture
(``conftest.py``), and each test checks its own child. Tests that send signals or hold the
lock while another run starts run on their own.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.cases import (
    BAD_INPUTS,
    CONFLICTS,
    INVALID,
    MALFORMED,
    STEP_FAULTS,
    YAML_FAULTS,
    missing_file,
)
from tests.reliability.harness import (
    DOUBLED_4,
    RECORDS,
    RECORDS_4,
    RUN_ID,
    SLOW,
    SLOW_STREAM,
    Env,
    Fault,
    Launched,
    check_fault,
    clear_line,
    input_files,
    published,
    restricted,
    temp_files,
    wait_for,
    without_step_logs,
)
from tests.reliability.setups import QUIRKS

# Every test here runs the CLI in child processes.
pytestmark = pytest.mark.slow

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
    assert without_step_logs(proc.stderr) == "", proc.stderr
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
        "failed at writing output 'final': OutputError: cannot write "
        "{out}/.trakt-tmp-faulty-final.csv: File too large",
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


# Lines 5, 7, 8 and 9 of the file written by bad_lines; line 6 is good.
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
    assert without_step_logs(proc.stderr) == "", proc.stderr
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
        missing_file, 1, "failed at step 'transform': ValueError: after quarantine", "failed"
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
    assert without_step_logs(stderr).strip().splitlines() == [
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
        missing_file,
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
    # The crashed run's manifest said success: no stale run.
    assert without_step_logs(proc.stderr) == ""
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
