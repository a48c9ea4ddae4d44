"""Stream mode in bounded memory: peak RSS at 1M vs 10M rows, and wall time against baselines.

    .venv/bin/python benchmarks/stream_memory.py [--small 1000000] [--large 10000000]

Generates mixed-type CSVs (about 60 MB and 600 MB), then runs each job as a child process and
reports its wall time and peak RSS:
- trakt stream mode (a per-chunk step) at both sizes, and with fan-out (one streamed artifact
  feeding two steps and an output);
- trakt batch mode on the large file;
- a plain ``pandas.read_csv(chunksize=...)`` / ``to_csv(mode='a')`` loop on the large file.
Targets: peak RSS at 10M <= 1.25x at 1M and <= 300 MB (also for fan-out); stream time <= 0.25x
the pandas loop and <= 1.3x trakt batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DATA_DIR,
    STREAM_DOUBLE,
    Sample,
    child_pythonpath,
    generate_csv,
    measure,
    mib,
    python,
)

# The description's stream step, then the fan-out ones.
STEPS = (
    STREAM_DOUBLE
    + """

def only_de(ctx, input, output):
    return {"output": (c[c["country"] == "DE"] for c in input)}

only_de.declared_inputs = ["input"]
only_de.declared_outputs = ["output"]
only_de.supports_stream = True
"""
)

SIMPLE = """\
name: bench_stream
inputs:
  records: {{uri: {csv}}}
steps:
  - id: double
    uses: bench_stream_steps.double
    with: {{input: records, output: doubled}}
outputs:
  datasets:
    - {{name: result, from: doubled}}
execution:
  mode: {mode}
"""

FANOUT = """\
name: bench_fanout
inputs:
  records: {{uri: {csv}}}
steps:
  - id: double
    uses: bench_stream_steps.double
    with: {{input: records, output: doubled}}
  - id: only_de
    uses: bench_stream_steps.only_de
    with: {{input: records, output: german}}
outputs:
  datasets:
    - {{name: doubled, from: doubled}}
    - {{name: german, from: german}}
    - {{name: copy, from: records}}
execution:
  mode: stream
"""

PANDAS_LOOP = """\
import sys
import pandas as pd

first = True
for chunk in pd.read_csv(sys.argv[1], chunksize=100_000):
    chunk["amount"] = chunk["amount"] * 2
    chunk.to_csv(sys.argv[2], mode="w" if first else "a", header=first, index=False)
    first = False
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--skip-pandas", action="store_true", help="skip the slow pandas loop")
    args = parser.parse_args()

    small = generate_csv(DATA_DIR / f"mixed_{args.small}.csv", args.small)
    large = generate_csv(DATA_DIR / f"mixed_{args.large}.csv", args.large)
    results: dict[str, Sample] = {}
    with tempfile.TemporaryDirectory(prefix="trakt-stream-bench-") as tmp:
        work = Path(tmp)
        (work / "bench_stream_steps.py").write_text(STEPS)
        # --otel builds the spans; "none" skips the network export (no collector here).
        env = {**os.environ, "PYTHONPATH": child_pythonpath(work), "OTEL_TRACES_EXPORTER": "none"}

        def trakt(label: str, template: str, csv: Path, mode: str = "stream", *extra: str) -> None:
            yaml = work / f"{label}.yaml"
            yaml.write_text(template.format(csv=csv, mode=mode))
            cmd = [python(), "-m", "trakt.run_local", "--pipeline-file", str(yaml),
                   "--output-dir", str(work / label), *extra]  # fmt: skip
            if args.chunk_size:
                cmd += ["--stream-chunk-size", str(args.chunk_size)]
            sample = results[label] = measure(cmd, env)
            print(
                f"  {label:<26}{sample.wall_s:>8.2f} s{mib(sample.peak_rss_bytes):>10}", flush=True
            )

        trakt("stream 1M", SIMPLE, small)  # warm-up of caches and .pyc, measured again below
        trakt("stream 1M", SIMPLE, small)
        trakt("stream 10M", SIMPLE, large)
        trakt("stream 10M fan-out", FANOUT, large)
        trakt("batch 10M", SIMPLE, large, "batch")
        trakt("stream 10M no summaries", SIMPLE, large, "stream", "--no-column-summaries")
        trakt("stream 10M --otel", SIMPLE, large, "stream", "--otel")
        if not args.skip_pandas:
            (work / "loop.py").write_text(PANDAS_LOOP)
            results["pandas loop 10M"] = measure(
                [python(), str(work / "loop.py"), str(large), str(work / "loop.csv")], env
            )
            print(f"  {'pandas loop 10M':<26}{results['pandas loop 10M'].wall_s:>8.2f} s")

    s1, s10, fan = results["stream 1M"], results["stream 10M"], results["stream 10M fan-out"]
    batch = results["batch 10M"]
    checks = [
        ("peak RSS 10M / 1M", s10.peak_rss_bytes / s1.peak_rss_bytes, 1.25),
        ("peak RSS 10M (MB)", s10.peak_rss_bytes / 1e6, 300),
        ("fan-out peak RSS 10M (MB)", fan.peak_rss_bytes / 1e6, 300),
        ("fan-out RSS 10M / stream 1M", fan.peak_rss_bytes / s1.peak_rss_bytes, 1.25),
        ("stream / batch time (10M)", s10.wall_s / batch.wall_s, 1.3),
    ]
    if "pandas loop 10M" in results:
        checks.append(
            ("stream / pandas loop time", s10.wall_s / results["pandas loop 10M"].wall_s, 0.25)
        )
    plain = results["stream 10M no summaries"]
    print(f"\ncolumn summaries cost: {s10.wall_s / plain.wall_s:.2f}x the time without them")
    print(f"--otel costs: {results['stream 10M --otel'].wall_s / s10.wall_s:.2f}x the time without")
    print(f"\n{'check':<30}{'value':>10}{'bound':>10}")
    ok = True
    for name, value, bound in checks:
        ok &= value <= bound
        print(f"{name:<30}{value:>10.2f}{bound:>10}  {'OK' if value <= bound else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
