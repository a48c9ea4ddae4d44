"""The ``trakt`` console script: ``trakt validate FILE`` and ``trakt run ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from trakt.errors import EXIT_OK, TraktError
from trakt.run_local import add_run_arguments, execute


def validate(path: str) -> int:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trakt", description="YAML-first ETL for tabular data.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("validate", help="check a pipeline file; exit 0 if valid, 2 if not")
    check.add_argument("pipeline_file")
    run = sub.add_parser("run", help="run a pipeline locally (same flags as trakt.run_local)")
    add_run_arguments(run)
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.pipeline_file)
    return execute(args)


if __name__ == "__main__":
    sys.exit(main())
