"""Two checkouts of Trakt on the same jobs, alternating: did a change make things slower?

    git worktree add --detach /tmp/before REV
    .venv/bin/python benchmarks/compare_trees.py /tmp/before/src src [--rows 10000000] [--repeat 3]

Runs stream_memory's jobs (the description's stream step, its fan-out, and batch) with each
tree's ``src`` first on PYTHONPATH, and its plain-pandas chunked loop, round-robin, as child
processes with this venv; prints the median wall time and the largest peak RSS of each, and the
stream job's ratio to the pandas loop. A tree too old for a job fails loudly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stream_memory
from _common import DATA_DIR, Sample, generate_csv, measure, mib, python

JOBS = (
    ("stream", stream_memory.SIMPLE, "stream"),
    ("stream fan-out", stream_memory.FANOUT, "stream"),
    ("batch", stream_memory.SIMPLE, "batch"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the first tree's src directory")
    parser.add_argument("after", type=Path, help="the second tree's src directory")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, src in trees.items():
        if not (src / "trakt" / "__init__.py").is_file():
            parser.error(f"{name}: {src} holds no trakt package (give a checkout's src)")

    csv = generate_csv(DATA_DIR / f"mixed_{args.rows}.csv", args.rows)
    runs: dict[tuple[str, str], list[Sample]] = {}
    with tempfile.TemporaryDirectory(prefix="trakt-compare-") as tmp:
        work = Path(tmp)
        (work / "bench_stream_steps.py").write_text(stream_memory.STEPS)
        (work / "loop.py").write_text(stream_memory.PANDAS_LOOP)
        for label, template, mode in JOBS:
            (work / f"{label}.yaml").write_text(template.format(csv=csv, mode=mode))
        loop = [python(), str(work / "loop.py"), str(csv), str(work / "loop.csv")]
        for round_ in range(args.repeat):
            for label, _, _ in JOBS:
                for name, src in trees.items():
                    env = {
                        **os.environ,
                        "PYTHONPATH": os.pathsep.join([str(work), str(src)]),
                        "OTEL_TRACES_EXPORTER": "none",
                    }
                    pipeline = str(work / f"{label}.yaml")
                    cmd = [python(), "-m", "trakt.run_local", "--pipeline-file", pipeline,
                           "--output-dir", str(work / name)]  # fmt: skip
                    sample = measure(cmd, env)
                    runs.setdefault((label, name), []).append(sample)
                    print(f"  round {round_}: {label:<16}{name:<8}{sample.wall_s:>8.2f} s"
                          f"{mib(sample.peak_rss_bytes):>10}", flush=True)  # fmt: skip
            runs.setdefault(("pandas loop", "-"), []).append(measure(loop, dict(os.environ)))

    def wall(key: tuple[str, str]) -> float:
        return statistics.median(s.wall_s for s in runs[key])

    def rss(key: tuple[str, str]) -> str:
        return mib(max(s.peak_rss_bytes for s in runs[key]))

    print(f"\ncompare_trees: {args.rows:,} rows, median wall of {args.repeat} alternating rounds, "
          f"largest peak RSS\nbefore: {trees['before']}\nafter:  {trees['after']}")  # fmt: skip
    print(f"{'job':<18}{'before s':>10}{'after s':>10}{'before RSS':>12}{'after RSS':>12}")
    for label, _, _ in JOBS:
        b, a = (label, "before"), (label, "after")
        print(f"{label:<18}{wall(b):>10.2f}{wall(a):>10.2f}{rss(b):>12}{rss(a):>12}")
    pandas = wall(("pandas loop", "-"))
    before, after = wall(("stream", "before")) / pandas, wall(("stream", "after")) / pandas
    print(f"pandas loop {pandas:.2f} s; stream / pandas loop: {before:.2f} -> {after:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
