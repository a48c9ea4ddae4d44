"""SIGKILL a stream run midway, then run again.

SIGKILL skips every cleanup: the killed run leaves its manifest saying ``running``, a half-written
temporary output, its scratch dir and the lock file naming it. The next run (the real CLI) must
take the directory over (the flock died with the process), report the stale run on stderr and
in its manifest, remove the leftovers, and leave exactly its own outputs.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import stream_step
from tests.reliability.harness import (
    RECORDS,
    RUN_ID,
    Env,
    published,
    temp_files,
    wait_for,
)

# Every test here runs the CLI in child processes.
pytestmark = pytest.mark.slow

ROWS = 300
CHUNK = 10
BAD = {57: "57,1,x,EXTRA", 201: "201"}  # record index -> a malformed line put before it

# Doubles `amount` chunk by chunk; records the chunk index in `progress`, then sleeps `delay`.
SLOW_CHUNKS = stream_step(
    """
    Path(progress).write_text(str(i))
    time.sleep(delay)
    if fail:
        raise ValueError("rerun fails too")
    frame = chunk.copy()
    frame["amount"] = frame["amount"] * 2
    yield frame
    """,
    "progress, delay, fail=False",
    "import time\nfrom pathlib import Path",
)


def records() -> str:
    lines = ["id,amount,note"]
    for i in range(ROWS):
        if i in BAD:
            lines.append(BAD[i])
        lines.append(f"{i},{i},n{i}")
    return "\n".join(lines) + "\n"


EXPECTED = "id,amount,note\n" + "".join(f"{i},{2 * i},n{i}\n" for i in range(ROWS))
REJECTED = (
    "file,line,reason,raw\n"
    'records.csv,59,"expected 3 fields, found 4","57,1,x,EXTRA"\n'
    'records.csv,204,"expected 3 fields, found 1",201\n'
)


def _progress(path: Path) -> int:
    try:
        return int(path.read_text() or -1)
    except (FileNotFoundError, ValueError):
        return -1


def _kill_midway(env: Env) -> dict[str, object]:
    """Start a slow stream run, SIGKILL it after a few chunks; its manifest."""
    progress = env.root / "progress"
    pipeline = env.pipeline(
        SLOW_CHUNKS,
        stream=True,
        on_bad_lines="quarantine",
        params={"progress": str(progress), "delay": 0.05},
        name="slow.yaml",
    )
    child = env.start(env.argv(pipeline, "--stream-chunk-size", str(CHUNK)))
    temp = env.out / f".trakt-tmp-{RUN_ID}-final.csv"
    try:
        wait_for(lambda: temp.exists() and _progress(progress) >= 3, "a few chunks written")
        assert child.poll() is None, "the run finished before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    manifest = env.manifest()
    assert (manifest["run_id"], manifest["status"]) == (RUN_ID, "running")
    assert temp_files(env.out) == [f".trakt-tmp-{RUN_ID}-final.csv", f".trakt-tmp-{RUN_ID}-work"]
    # At most part of the output was written (what reached the file before the kill).
    partial = temp.read_text()
    assert EXPECTED.startswith(partial) and len(partial) < len(EXPECTED)
    assert (env.out / ".trakt.lock").read_text() == f"run {RUN_ID} (pid {child.pid})\n"
    return manifest


@pytest.mark.parametrize("rerun", ["succeeds", "fails"])
def test_rerun_after_sigkill_reports_stale_run_and_cleans_up(tmp_path: Path, rerun: str) -> None:
    env = Env(tmp_path)
    good = env.good_run()
    env.records.write_text(records())
    killed = _kill_midway(env)
    # The killed run published nothing: the good run's outputs are still there, untouched.
    assert {k: v for k, v in published(env.out).items() if ".trakt-tmp-" not in k} == good

    fails = rerun == "fails"
    pipeline = env.pipeline(
        SLOW_CHUNKS,
        stream=True,
        on_bad_lines="quarantine",
        params={"progress": str(tmp_path / "progress2"), "delay": 0, "fail": fails},
        name="rerun.yaml",
    )
    argv = env.argv(pipeline, "--stream-chunk-size", str(CHUNK))
    argv[argv.index("--run-id") + 1] = "rerun"
    proc = env.cli(argv)

    warning = (
        f"trakt: warning: the previous run {RUN_ID} (started {killed['started_at']}) never "
        "finished and ended without a trace (killed, or a step ended the process, e.g. with "
        "os._exit); its temporary files were removed"
    )
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert warning in lines, proc.stderr
    # Other lines: the failure line of a failing rerun, nothing else (that the stale run is
    # reported only once is test_stale_run_is_reported_once).
    others = [
        line
        for line in lines
        if "never finished" not in line and not line.startswith("INFO trakt.steps: ")
    ]
    manifest = env.manifest()
    assert manifest["run_id"] == "rerun"
    assert manifest["stale_run"] == {"run_id": RUN_ID, "started_at": killed["started_at"]}
    assert manifest["removed_leftovers"] == [
        f".trakt-tmp-{RUN_ID}-final.csv",
        f".trakt-tmp-{RUN_ID}-work",
    ]
    # The lock did not stick: the rerun took the killed run's lock file over, and removed it
    # when it ended.
    assert not (env.out / ".trakt.lock").exists()
    everything = sorted(p.relative_to(env.out).as_posix() for p in env.out.rglob("*"))
    if fails:
        assert proc.returncode == 1, proc.stderr
        assert len(others) == 1, proc.stderr
        assert others[0].startswith(
            "trakt: run rerun failed at step 'transform' (chunk 0): ValueError: rerun fails too"
        )
        assert manifest["status"] == "failed"
        assert published(env.out) == good
        assert everything == ["final.csv", "manifest.json"]
    else:
        assert proc.returncode == 0, proc.stderr
        assert others == []
        assert manifest["status"] == "success"
        assert published(env.out) == {
            "final.csv": EXPECTED.encode(),
            "_rejected/records.csv": REJECTED.encode(),
        }
        assert everything == [
            "_rejected",
            "_rejected/records.csv",
            "final.csv",
            "manifest.json",
        ]


def test_stale_run_is_reported_once(tmp_path: Path) -> None:
    """One `trakt: warning:` line for the stale run; not also the library's log record."""
    env = Env(tmp_path)
    env.good_run()
    env.records.write_text(records())
    killed = _kill_midway(env)
    env.records.write_text(RECORDS)
    pipeline = env.pipeline(name="rerun.yaml")
    argv = env.argv(pipeline)
    argv[argv.index("--run-id") + 1] = "rerun"
    proc = env.cli(argv)
    assert proc.returncode == 0, proc.stderr
    assert [s for s in proc.stderr.splitlines() if not s.startswith("INFO trakt.steps: ")] == [
        f"trakt: warning: the previous run {RUN_ID} (started {killed['started_at']}) never "
        "finished and ended without a trace (killed, or a step ended the process, e.g. with "
        "os._exit); its temporary files were removed"
    ]
