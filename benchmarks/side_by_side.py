"""Trakt side by side with polars, DuckDB, pandas and Kedro on the same jobs (issue 14).

    .venv/bin/python benchmarks/side_by_side.py ROWS [--repeat 3] [--job double|join|all]
                                                [--only PARTS] [--no-warm-up]
    make bench-peers    # once: DuckDB and Kedro into .venv-peers (not Trakt dependencies)

Job ``double``: read a mixed CSV, double a column, write CSV. Job ``join``: join a small
dimension CSV, group by two keys (sum, count), write CSV. Every variant runs as a whole child
process, round-robin across variants, after one warm-up round whose outputs are checked
against polars lazy's (a variant that writes a different answer stops the benchmark;
``--no-warm-up`` checks the first measured round's instead, for a quick run). The
table shows median wall time and peak RSS of the child, and the ratios to polars lazy.
Variants: trakt batch and stream, each with a pandas step, a polars step and the built-in
steps; plain pandas and polars lazy (Trakt's venv: the same versions); DuckDB ``COPY`` and
Kedro ``SequentialRunner`` (``.venv-peers``). A variant the running Trakt cannot validate
(a feature not in this build) or a peer not installed is shown as n/a. Then the cold start:
``import trakt`` and ``trakt validate`` on the example pipeline.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _sbs_jobs as jobs
from _common import (
    DATA_DIR,
    SRC,
    Sample,
    child_pythonpath,
    generate_csv,
    measure,
    median,
    python,
)
from _sbs_report import cold_start, print_table, print_targets

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = HERE.parent / ".venv-peers" / "bin" / "python"
PEERS_HINT = "not installed, run `make bench-peers`"
REFERENCE = "polars lazy (sink_csv)"
JOB_TITLES = {
    "double": "Job 1: read CSV, double a column, write CSV",
    "join": "Job 2: join a dimension CSV, group by segment+country (sum, count), write CSV",
}


@dataclass(frozen=True)
class Variant:
    """One row of the table: a command writing ``output``; ``missing`` says why it is n/a."""

    name: str
    cmd: tuple[str, ...]
    output: Path
    env: dict[str, str]
    missing: str = ""


def _lacks(cmd: Sequence[str], env: dict[str, str]) -> str:
    """'' when the command succeeds, else the last line it printed on stderr."""
    done = subprocess.run(list(cmd), env=env, capture_output=True, text=True)
    if done.returncode == 0:
        return ""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit {done.returncode}")[:150]


def _write_work(work: Path, csv: Path) -> None:
    package = work / "sbs_steps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pandas_steps.py").write_text(jobs.PANDAS_STEPS)
    (package / "polars_steps.py").write_text(jobs.POLARS_STEPS)
    for name, text in jobs.SCRIPTS.items():
        (work / name).write_text(text)
    jobs.dimension_csv(str(work / "segments.csv"))
    paths = {"src": csv, "dim": work / "segments.csv"}
    for job, template in jobs.STEP_PIPELINES.items():
        for module, frame in (("pandas_steps", ""), ("polars_steps", jobs.FRAME_POLARS)):
            for fn in ("run", "stream"):
                text = template.format(module=module, fn=fn, frame=frame, **paths)
                (work / f"{job}_{module}_{fn}.yaml").write_text(text)
        (work / f"{job}_builtin.yaml").write_text(jobs.BUILTIN_PIPELINES[job].format(**paths))


def _trakt_variants(job: str, work: Path, env: dict[str, str]) -> list[Variant]:
    builtin = "trakt.derive" if job == "double" else "trakt.join + trakt.aggregate"
    flavours = [
        ("pandas step", "pandas_steps"),
        ("polars step", "polars_steps"),
        (builtin, "builtin"),
    ]
    variants = []
    for mode in ("batch", "stream"):
        for label, flavour in flavours:
            if flavour == "builtin":
                pipeline = work / f"{job}_builtin.yaml"
            else:
                fn = "run" if mode == "batch" else "stream"
                pipeline = work / f"{job}_{flavour}_{fn}.yaml"
            out = work / "out" / f"{job}_{flavour}_{mode}"
            validate = [python(), "-m", "trakt", "validate", str(pipeline)]
            lacks = _lacks([*validate, "--set", f"execution.mode={mode}"], env)
            cmd = (
                python(), "-m", "trakt.run_local", "-q", "--pipeline-file", str(pipeline),
                "--input-dir", str(work), "--output-dir", str(out), "--mode", mode,
            )  # fmt: skip
            missing = f"not available in this build: {lacks}" if lacks else ""
            variants.append(
                Variant(f"trakt {mode}, {label}", cmd, out / "result.csv", env, missing)
            )
    return variants


def _variants(job: str, work: Path, csv: Path) -> list[Variant]:
    env = {**os.environ, "PYTHONPATH": child_pythonpath(work)}
    # Kedro's telemetry plugin (a kedro dependency) must not ask or send anything.
    peers_env = {**os.environ, "PYTHONPATH": str(work), "KEDRO_DISABLE_TELEMETRY": "true"}
    dim = str(work / "segments.csv")

    def script(name: str, interpreter: str | Path) -> tuple[tuple[str, ...], Path]:
        out = work / "out" / f"{job}_{name}.csv"
        return (str(interpreter), str(work / f"{name}.py"), job, str(csv), dim, str(out)), out

    polars_cmd, polars_out = script("polars_lazy", python())
    pandas_cmd, pandas_out = script("plain_pandas", python())
    duck_cmd, duck_out = script("duckdb_copy", PEERS_PYTHON)
    kedro_cmd, kedro_out = script("kedro_run", PEERS_PYTHON)
    peers = PEERS_PYTHON.exists()
    duck_missing = _lacks([str(PEERS_PYTHON), "-c", "import duckdb"], peers_env) if peers else "x"
    kedro_missing = (
        _lacks([str(PEERS_PYTHON), "-c", "import kedro, kedro_datasets.pandas"], peers_env)
        if peers
        else "x"
    )
    return [
        Variant(REFERENCE, polars_cmd, polars_out, env),
        *_trakt_variants(job, work, env),
        Variant("plain pandas", pandas_cmd, pandas_out, env),
        Variant("DuckDB COPY", duck_cmd, duck_out, peers_env, duck_missing and PEERS_HINT),
        Variant("Kedro SequentialRunner", kedro_cmd, kedro_out, peers_env,
                kedro_missing and PEERS_HINT),
    ]  # fmt: skip


def _clean(variant: Variant) -> None:
    target = variant.output.parent if variant.name.startswith("trakt") else variant.output
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    variant.output.parent.mkdir(parents=True, exist_ok=True)


def _check(job: str, ref: Path, out: Path) -> str:
    done = subprocess.run(
        [python(), str(HERE / "_sbs_check.py"), job, str(ref), str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"side_by_side: wrong answer: {done.stderr.strip()}")
    return done.stdout.strip()


def _chosen(name: str, only: Sequence[str]) -> bool:
    """polars lazy (the reference) always; the rest as ``--only`` says (default: all)."""
    return name == REFERENCE or not only or any(part in name for part in only)


def run_job(
    job: str, work: Path, csv: Path, repeat: int, only: Sequence[str] = (), warm_up: bool = True
) -> dict[str, Sample | str]:
    """Warm-up round (outputs checked), then ``repeat`` round-robin rounds; the table.

    Without the warm-up, the first measured round's outputs are the ones checked."""
    variants = [v for v in _variants(job, work, csv) if _chosen(v.name, only)]
    ready = [v for v in variants if not v.missing]
    ref = ready[0]
    samples: dict[str, list[Sample]] = {v.name: [] for v in ready}
    for variant in ready:  # warm-up: page cache, .pyc files; and the answers checked
        _clean(variant)
        sample = measure(variant.cmd, variant.env)
        if not warm_up:
            samples[variant.name].append(sample)
    checks = {v.name: "reference" if v is ref else _check(job, ref.output, v.output) for v in ready}
    for variant in ready:
        _clean(variant)
    for _ in range(repeat if warm_up else repeat - 1):
        for variant in ready:
            samples[variant.name].append(measure(variant.cmd, variant.env))
            _clean(variant)  # outputs of 10M rows add up: one on disk at a time
    results: dict[str, Sample | str] = {
        v.name: median(samples[v.name]) if not v.missing else v.missing for v in variants
    }
    print_table(JOB_TITLES[job], results, checks, ref.name)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured rounds (median; at least 1)"
    )
    parser.add_argument("--job", choices=["double", "join", "all"], default="all")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="generated CSVs")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts of variant names to run, e.g. 'polars step,derive' "
        "(polars lazy always runs: the reference)",
    )
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="no unmeasured first round: the first measured round's outputs are checked "
        "(a quick run, e.g. the tests'; timings include a cold page cache)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")

    csv = generate_csv(args.data_dir / f"mixed_{args.rows}.csv", args.rows)
    # Bytecode as an installed Trakt has it (PYTHONDONTWRITEBYTECODE would leave a checkout's
    # modules compiled afresh in every child).
    compileall.compile_dir(str(SRC), quiet=1)
    size = csv.stat().st_size
    print(
        f"side_by_side: {args.rows:,} rows, CSV {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB), "
        f"median of {args.repeat} alternating rounds, {os.cpu_count()} CPUs"
    )
    if not PEERS_PYTHON.exists():
        print(f"(DuckDB and Kedro: {PEERS_PYTHON} missing; create it with `make bench-peers`)")
    with tempfile.TemporaryDirectory(prefix="trakt-sbs-") as tmp:
        work = Path(tmp)
        _write_work(work, csv)
        for job in ("double", "join") if args.job == "all" else (args.job,):
            only = [part for part in args.only.split(",") if part]
            results = run_job(job, work, csv, args.repeat, only, args.warm_up)
            if job == "double":
                print_targets(results, size)
    cold_start(HERE.parent, max(args.repeat, 5) if args.warm_up else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
