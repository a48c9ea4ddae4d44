"""The terminal experience, checked without screenshots: a pseudo-terminal vs. a plain file."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project, stream_step

# Every test here runs the CLI in child processes.
pytestmark = pytest.mark.slow

SLOW = stream_step(
    """
    time.sleep(0.3)
    ctx.logger.info("chunk of %d rows", len(chunk))
    yield chunk
    """,
    head="import time",
)

PIPELINE = """
name: terminal
inputs:
  records: {{uri: records.csv}}
steps:
  - id: slow_copy
    uses: {uses}
    with: {{input: records, output: copied}}
outputs:
  datasets:
    - {{name: copied, from: copied}}
execution:
  mode: stream
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _setup(project: Project) -> tuple[list[str], dict[str, str]]:
    project.csv("records.csv", "id,amount\n" + "".join(f"{i},{i}.5\n" for i in range(6)))
    uses = project.step("slow", SLOW)
    path = project.pipeline(PIPELINE.format(uses=uses))
    cmd = [
        sys.executable, "-m", "trakt.run_local", "--pipeline-file", str(path),
        "--input-dir", str(project.input_dir), "--output-dir", str(project.output_dir),
        "--stream-chunk-size", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(project.root), "COLUMNS": "120", "TERM": "xterm"}
    return cmd, env


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def test_progress_and_summary_on_a_terminal(project: Project) -> None:
    cmd, env = _setup(project)
    main, secondary = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    screen = ANSI.sub("", _read_all(main).decode(errors="replace"))
    os.close(main)
    assert proc.wait(timeout=120) == 0
    # live lines: the step, its rows, chunks and throughput while it runs
    assert re.search(r"slow_copy\s+running\s+[\d,]+ rows in\s+[\d,]+ out\s+\d+ chunks", screen)
    assert "rows/s" in screen
    # the summary table at the end
    assert "trakt run" in screen and ": success" in screen
    assert re.search(r"slow_copy\s*│\s*success\s*│\s*6\s*│\s*6\s*│", screen)
    assert "→ copied" in screen
    assert proc.stdout is not None and "succeeded" in proc.stdout.read().decode()


def test_no_progress_when_stderr_is_a_file(project: Project, tmp_path: Path) -> None:
    cmd, env = _setup(project)
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, timeout=120)
    assert proc.returncode == 0
    # No live display (no escape sequences): a plain INFO line per step start and finish,
    # and between them the step's own ctx.logger lines at INFO.
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert lines[0] == "INFO trakt.steps: step slow_copy started"
    assert lines[-1].startswith("INFO trakt.steps: step slow_copy success: 6 rows in, 6 rows out")
    assert all(line.startswith("INFO trakt.step.slow_copy: ") for line in lines[1:-1])
    assert "\x1b" not in "".join(lines)


def test_quiet_on_a_terminal_prints_nothing(project: Project) -> None:
    cmd, env = _setup(project)
    main, secondary = pty.openpty()
    proc = subprocess.Popen([*cmd, "--quiet"], env=env, stdout=secondary, stderr=secondary)
    os.close(secondary)
    screen = _read_all(main)
    os.close(main)
    assert proc.wait(timeout=120) == 0
    assert screen == b""


def test_json_logs_carry_step_logger_lines(project: Project, tmp_path: Path) -> None:
    cmd, env = _setup(project)
    proc = subprocess.run(
        [*cmd, "--log-level", "info", "--log-format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    step_lines = [r for r in records if r["logger"] == "trakt.step.slow_copy"]
    assert [r["message"] for r in step_lines][:3] == ["chunk of 2 rows"] * 3
    assert all(r["level"] == "INFO" for r in step_lines)
