"""The wiring of ``trakt run`` / ``python -m trakt.run_local`` flags that shape a run before
it starts: ``--set`` and ``--mode`` (overrides of the file), the input and output dirs'
defaults, ``--select`` / ``--from`` / ``--until`` (partial runs) and ``--dry-run``. Not a
command of its own (``cli.COMMANDS`` does not list it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from trakt.errors import EXIT_INVALID, EXIT_OK

if TYPE_CHECKING:  # imported when a run starts: building the parser stays light
    from trakt.model.model import Pipeline
    from trakt.runtime.run_dirs import RunDirs
    from trakt.runtime.selection import Selection


def add_shaping_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set``, ``--mode``, the partial-run flags and ``--dry-run``."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a value of the pipeline file by its YAML path, before validation "
        "(inputs.records.uri=x.csv, params.day=2026-01-01, steps[double_amount].with.factor=3; "
        "the value is YAML: 3 is an int; repeatable)",
    )
    parser.add_argument(
        "--mode", choices=["batch", "stream"], help="override the file's execution.mode"
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="STEP[+]",
        help="run only STEP (STEP+: and everything downstream; +STEP: and everything "
        "upstream); repeatable",
    )
    parser.add_argument("--from", dest="from_step", metavar="STEP", help="STEP and downstream")
    parser.add_argument("--until", dest="until_step", metavar="STEP", help="upstream and STEP")
    parser.add_argument(
        "--from-run",
        metavar="DIR",
        help="a previous run's output dir: artifacts a partial run needs but does not "
        "recompute are read from it (default: the output dir)",
    )
    parser.add_argument(
        "--keep-artifacts",
        action="store_true",
        help="also write every artifact the steps make as <output-dir>/_artifact.<name>.parquet, "
        "for later partial runs",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, find the inputs' files and print the plan; read no data, write nothing",
    )


def overrides(args: argparse.Namespace) -> list[str]:
    """The ``--set`` values, ``--mode`` as ``execution.mode`` last (it wins)."""
    sets: list[str] = list(args.set)
    if args.mode:
        sets.append(f"execution.mode={args.mode}")
    return sets


def run_dirs(args: argparse.Namespace, pipeline: Pipeline | None) -> RunDirs:
    """The input and output dirs: flag > TRAKT_INPUT_DIR / TRAKT_OUTPUT_DIR > file > default."""
    from trakt.runtime.run_dirs import pipeline_dirs

    return pipeline_dirs(pipeline, args.input_dir, args.output_dir)


def selection(args: argparse.Namespace, pipeline: Pipeline, output_dir: str) -> Selection:
    """The plan this run executes (a part of it for ``--select`` / ``--from`` / ``--until``),
    printed on stderr when a part of the graph is skipped."""
    from trakt.runtime.planning import plan_pipeline
    from trakt.runtime.selection import PartialRun, select

    request = PartialRun(
        tuple(args.select), args.from_step, args.until_step, args.from_run, args.keep_artifacts
    )
    chosen = select(plan_pipeline(pipeline), request, output_dir)
    if chosen.skipped and not args.dry_run:
        for line in chosen.describe():
            print(f"trakt: partial run: {line}", file=sys.stderr)
    return chosen


def dry_run(
    pipeline: Pipeline, chosen: Selection, dirs: RunDirs, input_overrides: dict[str, str]
) -> int:
    """Print the plan; exit 2 (the problems on stderr) if an input cannot be found."""
    from trakt.runtime.dry_run import plan_lines

    lines, problems = plan_lines(
        chosen.plan, chosen, Path(dirs.input_dir), dirs.output_dir, input_overrides
    )
    print("\n".join(lines))
    for problem in problems:
        print(f"trakt: {problem}", file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK
