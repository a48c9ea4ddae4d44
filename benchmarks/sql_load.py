"""Loading a CSV into PostgreSQL: Trakt (COPY FROM STDIN, one transaction) vs. pandas'
``DataFrame.to_sql`` (method ``multi``, chunksize 10,000) on the same file and server.

    .venv/bin/python benchmarks/sql_load.py [--rows 1000000] [--repeats 3]

A throw-away PostgreSQL server is started for the run (Debian's binaries, as the test suite
does: tests/pg_server.py) and stopped by PID at the end. Both jobs run as child processes,
alternating, each into a fresh table; the table shows median wall time and peak RSS, and the
ratio pandas / trakt (target: Trakt at least 5x faster). Both tables are compared afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    DATA_DIR,
    Sample,
    child_pythonpath,
    generate_csv,
    measure,
    median,
    mib,
    python,
)

from tests.pg_server import running_server  # noqa: E402

TARGET = 5.0

PIPELINE = """\
name: bench_sql_load
inputs:
  records: {{uri: {csv}}}
outputs:
  datasets:
    - {{name: loaded, from: records, uri: "{uri}", table: {table}, if_exists: replace}}
"""

PANDAS_SCRIPT = """\
import sys
import pandas as pd
import sqlalchemy as sa

frame = pd.read_csv(sys.argv[1])
engine = sa.create_engine(sys.argv[2])
frame.to_sql(sys.argv[3], engine, if_exists="replace", index=False, method="multi",
             chunksize=10_000)
engine.dispose()
"""


# pandas' multi-row INSERT binds rows x columns parameters per statement, and PostgreSQL's
# protocol allows at most 65,535: 10,000 rows fit with six columns, not seven. The load CSV is
# the mixed benchmark CSV without its last column (note).
NARROW = """\
import sys
import pyarrow.csv as pc

table = pc.read_csv(sys.argv[1])
pc.write_csv(table.drop_columns(["note"]), sys.argv[2])
"""


def _narrow_csv(rows: int) -> Path:
    path = DATA_DIR / f"sql_load_{rows}.csv"
    if not path.exists():
        wide = generate_csv(DATA_DIR / f"mixed_{rows}.csv", rows)
        tmp = path.with_suffix(".tmp")
        subprocess.run([python(), "-c", NARROW, str(wide), str(tmp)], check=True)
        tmp.rename(path)
    return path


def _count(url: str, table: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        count = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one()
    engine.dispose()
    return int(count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    csv = _narrow_csv(args.rows)
    with running_server() as server:
        url = server.url_for(server.create_database("bench"))
        driver_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        work = DATA_DIR / "sql_load"
        work.mkdir(parents=True, exist_ok=True)
        (work / "to_sql.py").write_text(PANDAS_SCRIPT)
        (work / "pipeline.yaml").write_text(PIPELINE.format(csv=csv, uri=url, table="by_trakt"))
        env = {**os.environ, "PYTHONPATH": child_pythonpath(work)}
        trakt_cmd = [
            python(), "-m", "trakt.run_local", "--pipeline-file", str(work / "pipeline.yaml"),
            "--input-dir", str(work), "--output-dir", str(work / "out"),
        ]  # fmt: skip
        pandas_cmd = [python(), str(work / "to_sql.py"), str(csv), driver_url, "by_pandas"]
        runs: dict[str, list[Sample]] = {"trakt": [], "pandas": []}
        for i in range(args.repeats):  # pandas takes minutes: each round is reported
            runs["trakt"].append(measure(trakt_cmd, env))
            runs["pandas"].append(measure(pandas_cmd, env))
            took = ", ".join(f"{job} {samples[-1].wall_s:.2f} s" for job, samples in runs.items())
            print(f"round {i + 1}/{args.repeats}: {took}", file=sys.stderr)
        counts = (_count(url, "by_trakt"), _count(url, "by_pandas"))
        version = server.version

    t, p = median(runs["trakt"]), median(runs["pandas"])
    ratio = p.wall_s / t.wall_s
    print(f"sql_load: {args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB CSV into "
          f"PostgreSQL {version}, median of {args.repeats} alternating runs")  # fmt: skip
    print(f"{'job':<44}{'wall s':>10}{'peak RSS':>12}")
    print(f"{'pandas read_csv + to_sql(multi, 10,000)':<44}{p.wall_s:>10.2f}"
          f"{mib(p.peak_rss_bytes):>12}")  # fmt: skip
    print(f"{'trakt run_local (batch, COPY)':<44}{t.wall_s:>10.2f}{mib(t.peak_rss_bytes):>12}")
    print(f"trakt is {ratio:.1f}x faster (target >= {TARGET:g}x) "
          f"{'OK' if ratio >= TARGET else 'MISSED'}")  # fmt: skip
    print(f"rows in the tables: trakt {counts[0]:,}, pandas {counts[1]:,}")
    return 0 if ratio >= TARGET and counts[0] == counts[1] == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
