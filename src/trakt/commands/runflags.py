"""The wiring of ``trakt run`` / ``python -m trakt.run_local`` flags that shape a run before
it starts: ``--set`` and ``--mode`` (overrides of the file), the input and output dirs'
defaults, ``--select`` / ``--from`` / ``--until`` (partial runs) and ``--dry-run``; and
``--report``'s page once the run ended. Not a command of its own (``cli.COMMANDS`` does not
list it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        chosen.plan, chosen, dirs.input_dir, dirs.output_dir, input_overrides
    )
    print("\n".join(lines))
    for problem in problems:
        print(f"trakt: {problem}", file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK


def _note(text: str, json_lines: bool, level: str = "WARNING") -> None:
    """A line on stderr in the run's log format."""
    from trakt.progress import json_line

    if json_lines:
        print(json_line(text, level), file=sys.stderr)
    else:
        prefix = "trakt: warning: " if level == "WARNING" else "trakt: "
        print(prefix + text, file=sys.stderr)


def write_run_report(
    manifest: Any, runner: Any, quiet: bool = False, json_lines: bool = False
) -> None:
    """``--report``: the page of the run just ended, beside its manifest; a failure to write
    it is a warning (the run's own outcome and exit code stand)."""
    from trakt.report import REPORT_NAME, write_report
    from trakt.runtime.manifest import json_safe

    if runner.manifest_uri:
        _note(
            f"--report: the manifest is on a store ({runner.shown_manifest_path}); no report "
            "written: copy it here and run `trakt report manifest.json`",
            json_lines,
        )
        return
    target = Path(runner.manifest_path).absolute().parent / REPORT_NAME
    try:
        write_report(json_safe(manifest.to_dict()), target)
    except Exception as exc:  # a report must never turn a run's ending into another
        _note(f"--report: cannot write {target}: {exc}", json_lines)
        return
    if not quiet:  # on stderr: a failed run's last stderr line stays its failure line
        _note(f"report: {target}", json_lines, level="INFO")
