"""Shared helpers for the benchmarks: data generation and measuring child processes."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"

# The description's stream step (double `amount` chunk by chunk), as a module's text.
STREAM_DOUBLE = """\
def double(ctx, input, output):
    def chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame
    return {"output": chunks()}

double.declared_inputs = ["input"]
double.declared_outputs = ["output"]
double.supports_stream = True
"""


class CommandFailed(SystemExit):
    """A measured child exited non-zero; the message holds the command and its stderr."""


@dataclass(frozen=True)
class Sample:
    wall_s: float
    peak_rss_bytes: int


def generate_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Mixed types: int id, strings (some needing quotes), float amount, ISO timestamp text,
    an int column with missing values. Cached by file name.

    Generated in a child process: a parent that grew big would inflate the peak RSS the
    kernel reports for the children it forks afterwards.
    """
    if not path.exists():
        subprocess.run([sys.executable, __file__, str(path), str(rows), str(seed)], check=True)
    return path


def _generate(path: Path, rows: int, seed: int) -> None:
    import numpy as np
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    block = 1_000_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        qty = pd.array(rng.integers(0, 50, n), dtype="Int64")
        qty[rng.random(n) < 0.05] = pd.NA
        frame = pd.DataFrame(
            {
                "id": np.arange(start, start + n),
                "customer": [f"cust_{i}" for i in rng.integers(0, 100_000, n)],
                "country": rng.choice(["DE", "FR", "US", "GB, UK"], n),
                "amount": np.round(rng.random(n) * 1000, 2),
                "ts": pd.Timestamp("2024-01-01")
                + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
                "qty": qty,
                "note": rng.choice(["ok", "late", 'said "hi"', ""], n),
            }
        )
        frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")
        frame.to_csv(tmp, mode="a" if start else "w", header=start == 0, index=False)
    tmp.rename(path)


def measure(cmd: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run a child process; return its wall time and peak RSS (ru_maxrss of that child)."""
    # stderr goes to a file, not a pipe: a child writing more than a pipe holds (a long
    # traceback, many warnings) would block forever while we wait for it to exit.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise CommandFailed(f"command failed: {' '.join(cmd)}\n{stderr}")
    return Sample(wall, usage.ru_maxrss * 1024)


def median(samples: Sequence[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall_s for s in samples),
        int(statistics.median(s.peak_rss_bytes for s in samples)),
    )


def python() -> str:
    return sys.executable


# The trakt these benchmarks measure: this checkout's, whatever the venv has installed.
SRC = Path(__file__).resolve().parents[1] / "src"


def child_pythonpath(*first: Path) -> str:
    """PYTHONPATH for a measured child: ``first`` (step modules), then this checkout's src."""
    return os.pathsep.join([*map(str, first), str(SRC)])


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


if __name__ == "__main__":
    _generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
