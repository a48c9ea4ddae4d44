"""``trakt validate``: check a pipeline file without running it (the pipeline given as
``run`` takes it: a path, ``--pipeline-file`` or ``--pipeline NAME``; ``--set`` applies)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trakt.errors import EXIT_INVALID, EXIT_OK, TraktError, UsageError

EXAMPLES = """\
examples:
  trakt validate pipelines/demo/pipeline.yaml
  trakt validate pipeline.yaml && trakt run --pipeline-file pipeline.yaml

Reads no data: checks keys, step references, bindings, artifacts and formats, and reports
every problem at once as file:line:column. Exit 0 if valid, 2 if not.
"""


def register(sub: Any) -> None:
    """Add ``validate`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check a pipeline file; exit 0 if valid, 2 if not",
        description="Check a pipeline file without running it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline_path", nargs="?", metavar="PIPELINE_FILE")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--pipeline-file", help="path to a pipeline YAML file")
    source.add_argument(
        "--pipeline",
        metavar="NAME",
        help="check pipelines/NAME/pipeline.yaml under the current dir",
    )
    parser.add_argument(
        "--input-dir",
        help="also check that every input resolves under this dir (a path, file:// or store "
        "URI such as s3://bucket/in) and that every file's header has the columns its contract "
        "requires (headers only, no data)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a value of the pipeline file by its YAML path (as trakt run --set)",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    given = [v for v in (args.pipeline_path, args.pipeline_file, args.pipeline) if v]
    if len(given) != 1:
        print(
            "trakt validate: give the pipeline once: a path, --pipeline-file PATH or "
            "--pipeline NAME",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.pipeline:
        from trakt.run_local import pipeline_path

        try:
            path = str(
                pipeline_path(argparse.Namespace(pipeline_file=None, pipeline=args.pipeline))
            )
        except UsageError as exc:
            print(exc.message, file=sys.stderr)
            return exc.exit_code
    else:
        path = args.pipeline_path or args.pipeline_file
    return validate(path, sets=args.set, input_dir=args.input_dir)


def validate(path: str, sets: list[str] | None = None, input_dir: str | None = None) -> int:
    """Load and check ``path``; print the verdict (and warnings); the exit code."""
    from trakt.api import load_pipeline

    try:
        pipeline = load_pipeline(path, sets or ())
    except TraktError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    from trakt.runtime.input_check import unused  # light: no data library
    from trakt.runtime.planning import plan_pipeline

    plan = plan_pipeline(pipeline)
    for warning in unused(plan):
        print(f"trakt: warning: {warning}", file=sys.stderr)
    spec = pipeline.spec
    if input_dir is not None:
        from trakt.runtime.input_check import check_input_files

        lines, problems = check_input_files(plan, input_dir)
        for line in lines:
            print(line)
        if problems:
            print("\n".join(f"trakt: {p}" for p in problems), file=sys.stderr)
            return EXIT_INVALID
    print(
        f"{path}: pipeline '{spec.name}' is valid ({len(spec.inputs)} inputs, "
        f"{len(spec.steps)} steps, {len(spec.outputs.datasets)} outputs, "
        f"mode {spec.execution.mode})"
    )
    return EXIT_OK
