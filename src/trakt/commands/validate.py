"""``trakt validate FILE``: check a pipeline file without running it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trakt.errors import EXIT_OK, TraktError

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
    parser.add_argument("pipeline_file", help="the pipeline YAML file")
    parser.set_defaults(handler=lambda args: validate(args.pipeline_file))


def validate(path: str) -> int:
    """Load and check ``path``; print the verdict; the exit code."""
    from trakt.api import load_pipeline_from_yaml

    try:
        pipeline = load_pipeline_from_yaml(path)
    except TraktError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    spec = pipeline.spec
    print(
        f"{path}: pipeline '{spec.name}' is valid ({len(spec.inputs)} inputs, "
        f"{len(spec.steps)} steps, {len(spec.outputs.datasets)} outputs, "
        f"mode {spec.execution.mode})"
    )
    return EXIT_OK
