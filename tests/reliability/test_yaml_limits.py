"""A pipeline file is read under a size cap: huge, endless or device files fail fast (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import trakt
from trakt.api import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError

MAX_PIPELINE_BYTES = 10 * 2**20  # the documented cap (trakt.model.loader.MAX_PIPELINE_BYTES)

GOOD = "name: tiny\ninputs:\n  a: {uri: a.csv}\noutputs:\n  datasets:\n    - {name: a, from: a}\n"


def test_dev_zero_fails_fast_naming_file_and_limit() -> None:
    start = time.monotonic()
    with pytest.raises(PipelineValidationError, match=r"/dev/zero.*character device") as info:
        load_pipeline_from_yaml("/dev/zero")
    assert time.monotonic() - start < 5
    assert "10 MiB" in str(info.value)
    assert info.value.exit_code == 2


def test_regular_file_over_the_cap_is_refused_and_one_at_the_cap_parsed(tmp_path: Path) -> None:
    at_cap = tmp_path / "padded.yaml"
    padding = "#" + "x" * 998 + "\n"
    at_cap.write_text(GOOD + padding * ((MAX_PIPELINE_BYTES - len(GOOD)) // len(padding)))
    assert at_cap.stat().st_size <= MAX_PIPELINE_BYTES
    assert load_pipeline_from_yaml(at_cap).spec.name == "tiny"
    big = tmp_path / "huge.yaml"
    with big.open("wb") as handle:
        handle.write(GOOD.encode())
        handle.truncate(MAX_PIPELINE_BYTES * 50)  # sparse: 500 MiB of zeros, no disk used
    with pytest.raises(
        PipelineValidationError,
        match=rf"huge\.yaml.*larger than the 10 MiB limit \(found more than {MAX_PIPELINE_BYTES}",
    ):
        load_pipeline_from_yaml(big)


def test_pipe_is_read_under_the_cap(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)

    # The writer blocks in open() until the reader opens its end, then writes past the cap.
    def feed() -> None:
        try:
            with fifo.open("wb") as out:
                chunk = b"#" * 1023 + b"\n"
                for _ in range(MAX_PIPELINE_BYTES // len(chunk) + 10):
                    out.write(chunk)
        except BrokenPipeError:
            pass  # the reader stopped at the cap and closed its end

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    with pytest.raises(PipelineValidationError, match=r"pipe\.yaml.*larger than the 10 MiB"):
        load_pipeline_from_yaml(fifo)
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.slow
def test_cli_exits_2_on_dev_zero(tmp_path: Path) -> None:
    # The child runs the trakt this test imported (this checkout's, not the installed one).
    env = {**os.environ, "PYTHONPATH": str(Path(trakt.__file__).parents[1])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trakt.run_local",
            "--pipeline-file",
            "/dev/zero",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "/dev/zero" in proc.stderr
    assert "10 MiB" in proc.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "invalid"
    assert manifest["error"]["file"] == "/dev/zero"
