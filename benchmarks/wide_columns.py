"""Wide tables: run time against the number of columns, stream and batch (should be linear).

    .venv/bin/python benchmarks/wide_columns.py [--columns 500 1000 2000 5000] [--rows 2000]

Generates CSVs of ``--rows`` rows and 500 to 5,000 columns (ints, floats and text in turn),
then runs a pass-through pipeline on each as a child process, in stream mode (chunks of
``--chunk-size`` rows, so every per-chunk cost is paid several times) and in batch mode.
Prints the wall time per column count and, per mode, time(largest) / time(smallest) scaled
to 10x columns: about 10 or less is linear; 100 is quadratic.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA_DIR, Sample, child_pythonpath, measure, python

STEPS = """\
def passthrough(ctx, input, output):
    if isinstance(input, __import__("pandas").DataFrame):
        return {"output": input}
    return {"output": (chunk for chunk in input)}

passthrough.declared_inputs = ["input"]
passthrough.declared_outputs = ["output"]
passthrough.supports_stream = True
"""

PIPELINE = """\
name: bench_wide
inputs:
  records: {{uri: {csv}}}
steps:
  - id: passthrough
    uses: bench_wide_steps.passthrough
    with: {{input: records, output: passed}}
outputs:
  datasets:
    - {{name: result, from: passed}}
execution:
  mode: {mode}
"""

GENERATE = """\
import sys
import numpy as np
import pandas as pd

path, columns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
kinds = [
    lambda: rng.integers(0, 1000, rows),
    lambda: np.round(rng.random(rows) * 100, 3),
    lambda: rng.choice(["a", "bb", "c, c", ""], rows),
]
frame = pd.DataFrame({f"col_{i}": kinds[i % 3]() for i in range(columns)})
frame.to_csv(path + ".tmp", index=False)
"""


def wide_csv(columns: int, rows: int) -> Path:
    """A cached CSV with ``columns`` columns, generated in a child process."""
    path = DATA_DIR / f"wide_{columns}x{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([python(), "-c", GENERATE, str(path), str(columns), str(rows)], check=True)
        Path(f"{path}.tmp").rename(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--modes", nargs="+", default=["stream", "batch"])
    args = parser.parse_args()

    columns = sorted(args.columns)
    times: dict[tuple[str, int], Sample] = {}
    with tempfile.TemporaryDirectory(prefix="trakt-wide-bench-") as tmp:
        work = Path(tmp)
        (work / "bench_wide_steps.py").write_text(STEPS)
        # This checkout's trakt, whatever the venv has installed.
        env = {**os.environ, "PYTHONPATH": child_pythonpath(work)}
        print(f"{'mode':<8}{'columns':>8}{'wall s':>10}{'ms/column':>11}", flush=True)
        for mode in args.modes:
            for n in columns:
                yaml = work / f"{mode}_{n}.yaml"
                yaml.write_text(PIPELINE.format(csv=wide_csv(n, args.rows), mode=mode))
                cmd = [python(), "-m", "trakt.run_local", "--pipeline-file", str(yaml),
                       "--output-dir", str(work / f"out_{mode}_{n}"), "--quiet",
                       "--stream-chunk-size", str(args.chunk_size)]  # fmt: skip
                sample = times[mode, n] = measure(cmd, env)
                print(
                    f"{mode:<8}{n:>8}{sample.wall_s:>10.2f}{sample.wall_s / n * 1000:>11.2f}",
                    flush=True,
                )

    low, high = columns[0], columns[-1]
    print(f"\ntime({high}) / time({low}), per 10x columns (linear: ~10 or less; quadratic: 100)")
    ok = True
    for mode in args.modes:
        ratio = times[mode, high].wall_s / times[mode, low].wall_s
        per_10x = ratio ** (1 / math.log10(high / low)) if high > low else 1.0
        ok &= per_10x <= 12
        print(f"  {mode:<8}{ratio:>8.1f}x for {high / low:.0f}x columns = {per_10x:.1f} per 10x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
