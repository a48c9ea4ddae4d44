"""Trakt batch mode vs. a plain pandas script on the same job: read CSV, double a column, write.

    .venv/bin/python benchmarks/batch_vs_pandas.py [--rows 1000000] [--repeats 5]

Both run as child processes, alternating, so machine noise hits both alike; the table shows
median wall time and peak RSS, and the ratio trakt / pandas (target: at most 0.4).
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
    Sample,
    child_pythonpath,
    generate_csv,
    measure,
    median,
    mib,
    python,
)

TARGET = 0.4

PIPELINE = """\
name: bench_batch
inputs:
  records:
    uri: {csv}
steps:
  - id: double_amount
    uses: bench_steps.double_amount
    with:
      input: records
      output: doubled
outputs:
  datasets:
    - name: result
      from: doubled
"""

STEP = """\
def run(ctx, input, output):
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}


run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

PANDAS_SCRIPT = """\
import sys
import pandas as pd

frame = pd.read_csv(sys.argv[1])
frame["amount"] = frame["amount"] * 2
frame.to_csv(sys.argv[2], index=False)
"""


def _same_data(a: Path, b: Path) -> bool:
    import pandas as pd  # after all measurements: a big parent would skew children's RSS

    return bool(pd.read_csv(a).equals(pd.read_csv(b)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    csv = generate_csv(DATA_DIR / f"mixed_{args.rows}.csv", args.rows)
    with tempfile.TemporaryDirectory(prefix="trakt-bench-") as tmp:
        work = Path(tmp)
        (work / "bench_steps").mkdir()
        (work / "bench_steps" / "__init__.py").write_text("")
        (work / "bench_steps" / "double_amount.py").write_text(STEP)
        (work / "pipeline.yaml").write_text(PIPELINE.format(csv=csv))
        (work / "plain_pandas.py").write_text(PANDAS_SCRIPT)
        env = {**os.environ, "PYTHONPATH": child_pythonpath(work)}
        trakt_cmd = [
            python(), "-m", "trakt.run_local", "--pipeline-file", str(work / "pipeline.yaml"),
            "--input-dir", str(work), "--output-dir", str(work / "out"),
        ]  # fmt: skip
        pandas_cmd = [python(), str(work / "plain_pandas.py"), str(csv), str(work / "pd.csv")]
        measure(trakt_cmd, env)  # warm the page cache and .pyc files for both
        measure(pandas_cmd, env)
        runs: dict[str, list[Sample]] = {"trakt": [], "pandas": []}
        for _ in range(args.repeats):
            runs["trakt"].append(measure(trakt_cmd, env))
            runs["pandas"].append(measure(pandas_cmd, env))
        # Not byte-identical on purpose: pandas writes an int column with gaps as 11.0.
        same = _same_data(work / "out" / "result.csv", work / "pd.csv")

    t, p = median(runs["trakt"]), median(runs["pandas"])
    ratio = t.wall_s / p.wall_s
    print(f"batch_vs_pandas: {args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB, "
          f"median of {args.repeats} alternating runs")  # fmt: skip
    print(f"{'job':<28}{'wall s':>10}{'peak RSS':>12}")
    print(f"{'plain pandas read/to_csv':<28}{p.wall_s:>10.2f}{mib(p.peak_rss_bytes):>12}")
    print(f"{'trakt run_local (batch)':<28}{t.wall_s:>10.2f}{mib(t.peak_rss_bytes):>12}")
    print(f"ratio trakt/pandas: {ratio:.2f} (target <= {TARGET}) "
          f"{'OK' if ratio <= TARGET else 'MISSED'}")  # fmt: skip
    print(f"outputs hold the same data (pandas reads both to equal frames): {same}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
