"""The tables ``side_by_side.py`` prints: per job, issue 14's targets, and the cold start."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

from _common import Sample, python

MiB = 2**20


def print_table(
    title: str, results: dict[str, Sample | str], checks: dict[str, str], ref: str
) -> None:
    """variant, wall s, peak RSS MiB, ratios to polars lazy, the output check."""
    base = results[ref]
    assert isinstance(base, Sample)
    print(f"\n{title}")
    print(f"{'variant':<44}{'wall s':>9}{'RSS MiB':>9}{'x wall':>8}{'x RSS':>7}  output")
    notes = []
    for name, sample in results.items():
        if isinstance(sample, str):  # why the variant is n/a: "short reason: detail"
            short, _, detail = sample.partition(": ")
            print(f"{name:<44}{'n/a':>9}  ({short})")
            if detail:
                notes.append(f"  {name}: {detail}")
            continue
        print(
            f"{name:<44}{sample.wall_s:>9.2f}{sample.peak_rss_bytes / MiB:>9.0f}"
            f"{sample.wall_s / base.wall_s:>8.2f}"
            f"{sample.peak_rss_bytes / base.peak_rss_bytes:>7.2f}"
            f"  {checks[name]}"
        )
    print("(x wall, x RSS: ratio to polars lazy; output: checked against polars lazy's)")
    if notes:
        print("n/a because:", *notes, sep="\n")


def _ratio(results: dict[str, Sample | str], name: str, base: str) -> float | None:
    a, b = results.get(name), results.get(base)
    if isinstance(a, Sample) and isinstance(b, Sample):
        return a.wall_s / b.wall_s
    return None


def _rss(results: dict[str, Sample | str], name: str) -> float | None:
    sample = results.get(name)
    return sample.peak_rss_bytes / MiB if isinstance(sample, Sample) else None


def print_targets(results: dict[str, Sample | str], csv_bytes: int) -> None:
    """Issue 14's targets for job 1 (stated for 10M rows): measured value, OK or MISSED."""
    polars, batch_polars = "polars lazy (sink_csv)", "trakt batch, polars step"
    csv_mib = csv_bytes / MiB
    # (label, measured value or None when n/a, limit, comparison)
    rows: list[tuple[str, float | None, float, str]] = []
    for label, name, base, limit in (
        ("batch polars step wall / polars lazy", batch_polars, polars, 1.3),
        ("batch trakt.derive wall / polars lazy", "trakt batch, trakt.derive", polars, 1.3),
        ("stream polars step wall / polars lazy", "trakt stream, polars step", polars, 1.5),
        ("batch pandas step wall / polars lazy", "trakt batch, pandas step", polars, 2.0),
    ):
        rows.append((label, _ratio(results, name, base), limit, "<="))
    rows.append(("Kedro wall / batch polars step", _ratio(results, "Kedro SequentialRunner",
                                                         batch_polars), 5.0, ">="))  # fmt: skip
    for label, name in (
        ("stream polars step peak RSS MiB", "trakt stream, polars step"),
        ("stream pandas step peak RSS MiB", "trakt stream, pandas step"),
    ):
        rows.append((label, _rss(results, name), 300, "<="))
    for label, name, limit in (
        ("batch pandas step peak RSS / CSV size", "trakt batch, pandas step", 1.5),
        ("batch polars step peak RSS / CSV size", batch_polars, 1.0),
        ("batch trakt.derive peak RSS / CSV size", "trakt batch, trakt.derive", 1.0),
    ):
        rss = _rss(results, name)
        rows.append((label, None if rss is None else rss / csv_mib, limit, "<="))
    print("\nIssue 14 targets for job 1 (stated at 10M rows; stream RSS also flat from 1M)")
    for label, value, limit, op in rows:
        if value is None:
            verdict, shown = "n/a", "n/a"
        else:
            ok = value <= limit if op == "<=" else value >= limit
            verdict, shown = ("OK" if ok else "MISSED"), f"{value:.2f}"
        print(f"  {label:<42}{shown:>9}  target {op} {limit:<6} {verdict}")


def _wall(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def _importtime_us(env: dict[str, str]) -> int:
    """Cumulative microseconds of the ``trakt`` line of ``python -X importtime``."""
    done = subprocess.run(
        [python(), "-X", "importtime", "-c", "import trakt"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "trakt":
            return int(parts[1])
    raise SystemExit("side_by_side: no 'trakt' line in python -X importtime")


def cold_start(root: Path, n: int) -> None:
    """``import trakt`` (wall and -X importtime) and ``trakt validate`` on the example,
    median of ``n`` runs each."""
    example = root / "examples" / "multi_file_demo"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(example), str(root / "src")])}
    bare = _wall([python(), "-c", "pass"], env, n)
    imported = _wall([python(), "-c", "import trakt"], env, n)
    importtime = statistics.median(_importtime_us(env) for _ in range(n)) / 1e3
    heavy = subprocess.run(
        [python(), "-c", "import sys, trakt; "
         "print(','.join(m for m in ('pandas', 'polars', 'pyarrow') if m in sys.modules))"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip() or "none"  # fmt: skip
    validate = _wall([python(), "-m", "trakt", "validate", str(example / "pipeline.yaml")], env, n)
    print(f"\nCold start (median of {n})")
    for label, ms in (
        ("python -c pass", bare * 1e3),
        ('python -c "import trakt"', imported * 1e3),
        ("import trakt (-X importtime, cumulative)", importtime),
        ("trakt validate examples/multi_file_demo", validate * 1e3),
    ):
        print(f"  {label:<46}{ms:>8.0f} ms")
    print(f"  heavy modules loaded by import trakt: {heavy}")
