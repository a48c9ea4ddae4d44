"""A deterministic typed table (ints with nulls, floats, text, dates, timestamps, bools) saved
in each benchmarked format; run as a script (a child process) by :func:`typed_file`.

    python benchmarks/_typed_data.py PARQUET ROWS   # the table, as Parquet
    python benchmarks/_typed_data.py PARQUET OUT    # that table in OUT's format (by suffix)
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

# Text that a writer must quote or escape: separators, quotes, a newline, non-ASCII.
NOTES = ["ok", "late", 'said "hi"', "", "a, b", "tab\there", "line\nbreak", "Zürich ✓"]
COUNTRIES = ["DE", "FR", "US", "GB", "JP"]


def typed_file(data_dir: Path, rows: int, suffix: str, python: str = sys.executable) -> Path:
    """``typed_<rows><suffix>`` in ``data_dir``, generated once (from the Parquet master)."""
    master = data_dir / f"typed_{rows}.parquet"
    if not master.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, str(master), str(rows)], check=True)
    path = data_dir / f"typed_{rows}{suffix}"
    if not path.exists():
        # xlsx is written by the peers' environment (polars + xlsxwriter), hence ``python``.
        subprocess.run([python, __file__, str(master), str(path)], check=True)
    return path


def _generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    qty = rng.integers(0, 50, rows)
    seconds = rng.integers(0, 10**8, rows)
    table = pa.table(
        {
            "id": pa.array(np.arange(rows), pa.int64()),
            "qty": pa.array(qty, pa.int64(), mask=rng.random(rows) < 0.05),
            "amount": pa.array(np.round(rng.random(rows) * 1000, 2)),
            "ratio": pa.array(rng.standard_normal(rows)),
            "customer": pa.array([f"cust_{i}" for i in rng.integers(0, 100_000, rows)]),
            "country": pa.array(rng.choice(COUNTRIES, rows).tolist(), pa.string()),
            "note": pa.array(rng.choice(np.array(NOTES, dtype=object), rows).tolist()),
            "day": pa.array(
                (np.datetime64("2020-01-01") + rng.integers(0, 2000, rows)).astype("M8[D]")
            ),
            "ts": pa.array((np.datetime64("2024-01-01T00:00:00") + seconds).astype("M8[us]")),
            "flag": pa.array(rng.random(rows) < 0.5),
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.rename(path)


def _convert(master: Path, out: Path) -> None:
    import polars as pl

    frame = pl.read_parquet(master)
    tmp = out.with_name(out.name + ".tmp")
    name = out.name
    if name.endswith(".csv.gz"):
        # mtime 0 and no file name: the same bytes on every machine.
        with gzip.GzipFile(fileobj=tmp.open("wb"), mode="wb", mtime=0, filename="") as f:
            frame.write_csv(f)
    elif name.endswith(".csv"):
        frame.write_csv(tmp)
    elif name.endswith(".tsv"):
        frame.write_csv(tmp, separator="\t")
    elif name.endswith(".jsonl"):
        frame.write_ndjson(tmp)
    elif name.endswith(".xlsx"):
        frame.write_excel(tmp, autofit=False)
    else:
        raise SystemExit(f"no converter for {out}")
    tmp.rename(out)


if __name__ == "__main__":
    if sys.argv[2].isdigit():
        _generate(Path(sys.argv[1]), int(sys.argv[2]))
    else:
        _convert(Path(sys.argv[1]), Path(sys.argv[2]))
