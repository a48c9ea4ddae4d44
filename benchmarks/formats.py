"""Formats: Trakt reading and writing each file format against polars doing the same, per mode.

    .venv/bin/python benchmarks/formats.py [--rows 1000000] [--repeats 3] [--xlsx]
        [--formats csv parquet ...] [--chunk-size ROWS]

A deterministic typed table (ints with nulls, floats, text with quotes/newlines/unicode,
dates, timestamps, bools; ``_typed_data.py``) is saved once per format in benchmarks/.data/.
For each format (csv, csv.gz, tsv, parquet, jsonl; xlsx with ``--xlsx``, at ``--xlsx-rows``
since spreadsheets are slow and capped at 1,048,576 rows) and each mode:
- Trakt: a pipeline whose output is its input (no step) in that format, ``execution.mode``
  batch or stream, run by ``python -m trakt.run_local``;
- polars: ``read_*`` + ``write_*`` (batch) or ``scan_*`` + ``sink_*`` (stream), the same
  format, options and compression (zstd for Parquet, gzip for .csv.gz).
Every job is a child process; runs alternate Trakt/polars; the table shows the median wall
time and peak RSS of ``--repeats`` runs and the ratios trakt/polars. Afterwards each output
is read back by polars (row count), and Trakt's batch and stream outputs are compared bytes.
polars is a Trakt dependency and runs from this venv; for xlsx it needs xlsxwriter and
fastexcel, which are not, so they go into their own venv (benchmarks/.data/peer-venv).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DATA_DIR,
    CommandFailed,
    Sample,
    child_pythonpath,
    measure,
    median,
    mib,
    python,
)
from _typed_data import typed_file


@dataclass(frozen=True)
class Fmt:
    label: str  # as the table shows it
    suffix: str  # of the input file and of the output path
    trakt: str  # the `format:` of the output


FORMATS = [
    Fmt("csv", ".csv", "csv"),
    Fmt("csv.gz", ".csv.gz", "csv"),
    Fmt("tsv", ".tsv", "tsv"),
    Fmt("parquet", ".parquet", "parquet"),
    Fmt("jsonl", ".jsonl", "jsonl"),
]
XLSX = Fmt("xlsx", ".xlsx", "xlsx")
MODES = ("batch", "stream")

PIPELINE = """\
name: bench_formats
inputs:
  records:
    uri: {src}
outputs:
  datasets:
    - name: result
      from: records
      format: {format}
      path: result{suffix}
execution:
  mode: {mode}
"""

# One script for every polars job: FORMAT MODE SRC DST, or FORMAT count SRC (prints rows).
POLARS = """\
import gzip
import sys

import polars as pl

fmt, mode, src = sys.argv[1:4]
sep = "\\t" if fmt == "tsv" else ","


def read(lazy):
    if fmt in ("csv", "csv.gz", "tsv"):
        return (pl.scan_csv if lazy else pl.read_csv)(src, separator=sep, try_parse_dates=True)
    if fmt == "parquet":
        return (pl.scan_parquet if lazy else pl.read_parquet)(src)
    if fmt == "jsonl":
        return (pl.scan_ndjson if lazy else pl.read_ndjson)(src)
    return pl.read_excel(src)  # polars has no lazy Excel reader: stream = batch


def write(data, dst):
    lazy = isinstance(data, pl.LazyFrame)
    if fmt == "csv.gz":
        with gzip.GzipFile(fileobj=open(dst, "wb"), mode="wb", mtime=0, filename="") as f:
            data.sink_csv(f) if lazy else data.write_csv(f)
    elif fmt in ("csv", "tsv"):
        data.sink_csv(dst, separator=sep) if lazy else data.write_csv(dst, separator=sep)
    elif fmt == "parquet":
        (data.sink_parquet if lazy else data.write_parquet)(dst, compression="zstd")
    elif fmt == "jsonl":
        data.sink_ndjson(dst) if lazy else data.write_ndjson(dst)
    else:
        data.write_excel(dst, autofit=False)


if mode == "count":
    print(read(False).height)
else:
    write(read(mode == "stream"), sys.argv[4])
"""


@dataclass
class Job:
    fmt: Fmt
    mode: str
    src: Path
    trakt_cmd: list[str]
    polars_cmd: list[str]
    trakt_out: Path
    polars_out: Path
    trakt: list[Sample]
    polars: list[Sample]
    error: str = ""
    check: str = ""  # what reading the outputs back found
    ok: bool = False


def peer_python() -> str:
    """A venv with polars (this venv's version), xlsxwriter and fastexcel, made once."""
    venv = DATA_DIR / "peer-venv"
    bin_python = venv / "bin" / "python"
    if not bin_python.exists():
        print(f"creating {venv} (polars, xlsxwriter, fastexcel) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = [f"polars=={version('polars')}", "xlsxwriter", "fastexcel"]
        subprocess.run([bin_python, "-m", "pip", "install", "--quiet", *packages], check=True)
    return str(bin_python)


def _jobs(args: argparse.Namespace, work: Path) -> list[Job]:
    formats = [f for f in FORMATS if f.label in args.formats]
    if args.xlsx:
        formats.append(XLSX)
    (work / "polars_job.py").write_text(POLARS)
    jobs = []
    for fmt in formats:
        peer = peer_python() if fmt is XLSX else python()
        rows = args.xlsx_rows if fmt is XLSX else args.rows
        src = typed_file(DATA_DIR, rows, fmt.suffix, peer)
        for mode in MODES:
            run = work / f"{fmt.label}-{mode}"
            run.mkdir()
            yaml = run / "pipeline.yaml"
            yaml.write_text(
                PIPELINE.format(src=src, format=fmt.trakt, suffix=fmt.suffix, mode=mode)
            )
            trakt_cmd = [python(), "-m", "trakt.run_local", "--pipeline-file", str(yaml),
                         "--output-dir", str(run / "trakt")]  # fmt: skip
            if args.chunk_size and mode == "stream":
                trakt_cmd += ["--stream-chunk-size", str(args.chunk_size)]
            polars_out = run / f"polars{fmt.suffix}"
            polars_cmd = [peer, str(work / "polars_job.py"), fmt.label, mode, str(src),
                          str(polars_out)]  # fmt: skip
            trakt_out = run / "trakt" / f"result{fmt.suffix}"
            jobs.append(Job(fmt, mode, src, trakt_cmd, polars_cmd, trakt_out, polars_out, [], []))
    return jobs


def _measure(job: Job, env: dict[str, str]) -> None:
    if job.error:
        return
    try:
        job.trakt.append(measure(job.trakt_cmd, env))
    except CommandFailed as exc:
        stderr = str(exc).split("\n", 1)[-1]  # the first line is the command
        stderr = re.sub(r"\(manifest: [^)]*\)|run \S+ |/\S*/", "", stderr)  # paths: names
        job.error = " ".join(stderr.split())[:130]
        return
    job.polars.append(measure(job.polars_cmd, env))


def _count(job: Job, path: Path, work: Path) -> int | None:
    if not path.exists():
        return None
    out = subprocess.run(
        [job.polars_cmd[0], str(work / "polars_job.py"), job.fmt.label, "count", str(path)],
        capture_output=True,
        text=True,
    )
    return int(out.stdout) if out.returncode == 0 else None


def _check(jobs: list[Job], work: Path, expected: dict[str, int]) -> None:
    """Per job: rows of both outputs as polars reads them, and batch = stream bytes."""
    for job in jobs:
        if job.error:
            continue
        if not job.trakt_out.exists():
            job.error = f"no output at {job.trakt_out.name}"
            continue
        rows = expected[job.fmt.label]
        trakt_rows = _count(job, job.trakt_out, work)
        polars_rows = _count(job, job.polars_out, work)
        job.ok = trakt_rows == rows and polars_rows == rows
        job.check = "rows ok" if job.ok else f"rows: trakt {trakt_rows}, polars {polars_rows}"
        batch = next(j for j in jobs if j.fmt is job.fmt and j.mode == "batch")
        if job.mode == "stream" and batch.trakt_out.exists():
            same = filecmp.cmp(batch.trakt_out, job.trakt_out, shallow=False)
            job.ok &= same
            job.check += ", = batch bytes" if same else ", BYTES DIFFER from batch"


def _table(jobs: list[Job]) -> None:
    head = (f"{'format':<8}{'mode':<7}{'MB':>6}{'trakt s':>9}{'polars s':>9}{'ratio':>7}"
            f"{'trakt RSS':>11}{'polars RSS':>11}{'ratio':>7}  check")  # fmt: skip
    print(head)
    print("-" * len(head))
    for job in jobs:
        size = job.src.stat().st_size / 1e6
        lead = f"{job.fmt.label:<8}{job.mode:<7}{size:>6.1f}"
        if job.error or not job.trakt:
            print(f"{lead}  trakt failed: {job.error}")
            continue
        t, p = median(job.trakt), median(job.polars)
        print(
            f"{lead}{t.wall_s:>9.2f}{p.wall_s:>9.2f}{t.wall_s / p.wall_s:>7.2f}"
            f"{mib(t.peak_rss_bytes):>11}{mib(p.peak_rss_bytes):>11}"
            f"{t.peak_rss_bytes / p.peak_rss_bytes:>7.2f}  {job.check}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=[f.label for f in FORMATS],
                        choices=[f.label for f in FORMATS], metavar="FORMAT")  # fmt: skip
    parser.add_argument("--xlsx", action="store_true", help="also xlsx (slow; own venv)")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, help="Trakt's --stream-chunk-size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trakt-formats-bench-") as tmp:
        work = Path(tmp)
        jobs = _jobs(args, work)
        env = {**os.environ, "PYTHONPATH": child_pythonpath()}
        for job in jobs:
            if job.mode == "batch":  # warm the page cache and .pyc files, unmeasured
                _measure(job, env)
                job.trakt.clear()
                job.polars.clear()
        for _ in range(args.repeats):
            for job in jobs:
                _measure(job, env)
        expected = {f.label: args.xlsx_rows if f is XLSX else args.rows for f in [*FORMATS, XLSX]}
        _check(jobs, work, expected)

    print(f"\nformats: {args.rows:,} rows (xlsx {args.xlsx_rows:,}), input read and written "
          f"in the same format; median of {args.repeats} alternating runs; "
          f"ratio = trakt / polars")  # fmt: skip
    _table(jobs)
    return 0 if all(job.ok for job in jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
