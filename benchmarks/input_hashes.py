"""What the manifest's input hashes cost: sha256 of the input alone, and a run with and without
hashing (``--no-input-hashes``), at 1M and 10M rows.

    .venv/bin/python benchmarks/input_hashes.py [--small 1000000] [--large 10000000] [--repeat 3]

Hashing runs in a thread of its own while the run reads (hashlib releases the GIL), so its wall
cost is the difference between the two runs, not the hashing time itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA_DIR, child_pythonpath, generate_csv, measure, median, mib, python

STEP = """\
def passthrough(ctx, input, output):
    return {"output": (chunk for chunk in input)}

passthrough.declared_inputs = ["input"]
passthrough.declared_outputs = ["output"]
passthrough.supports_stream = True
"""

PIPELINE = """\
name: bench_hashes
execution:
  mode: {mode}
inputs:
  orders:
    uri: {uri}
steps:
  - id: copy
    uses: bench_hash_steps.passthrough
    with: {{input: orders, output: copied}}
outputs:
  datasets:
    - name: copied
      from: copied
"""


def hash_time(path: Path) -> float:
    start = time.perf_counter()
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", default="stream", choices=["stream", "batch"])
    args = parser.parse_args()
    DATA_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bench_hash_steps.py").write_text(STEP)
        env = {**os.environ, "PYTHONPATH": child_pythonpath(work)}
        print(f"{'rows':>11} {'size':>9} {'sha256':>8} {'run':>8} {'run, no hash':>13} {'cost':>7}")
        for rows in (args.small, args.large):
            data = generate_csv(DATA_DIR / f"mixed_{rows}.csv", rows)
            pipeline = work / f"p{rows}.yaml"
            pipeline.write_text(PIPELINE.format(mode=args.mode, uri=data))
            base = [python(), "-m", "trakt.run_local", "--pipeline-file", str(pipeline)]
            base += ["--output-dir", str(work / "out"), "-q"]
            hashed = median([measure(base, env) for _ in range(args.repeat)]).wall_s
            plain = median(
                [measure([*base, "--no-input-hashes"], env) for _ in range(args.repeat)]
            ).wall_s
            alone = min(hash_time(data) for _ in range(args.repeat))
            cost = (hashed - plain) / plain * 100
            size = mib(data.stat().st_size)
            print(
                f"{rows:>11,} {size:>9} {alone:>7.2f}s {hashed:>7.2f}s {plain:>12.2f}s "
                f"{cost:>+6.1f}%"
            )


if __name__ == "__main__":
    main()
