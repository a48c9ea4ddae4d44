"""``trakt run``: run a pipeline locally, with the same flags as ``python -m trakt.run_local``."""

from __future__ import annotations

import argparse
from typing import Any

from trakt.run_local import add_run_arguments, execute

EXAMPLES = """\
examples:
  trakt run --pipeline demo                 # pipelines/demo/pipeline.yaml, inputs under .
  trakt run --pipeline-file pipeline.yaml --input-dir data --output-dir out
  trakt run --pipeline demo --input orders=data/2026-*.csv --run-id nightly
  trakt run --pipeline demo --stream-chunk-size 50000 --log-level info --log-format json

exit codes: 0 success, 1 the run failed, 2 invalid pipeline or usage, 130/143 cancelled.
"""


def register(sub: Any) -> None:
    """Add ``run`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run a pipeline locally (same flags as python -m trakt.run_local)",
        description="Run a pipeline on this machine: outputs and manifest.json in --output-dir.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(parser)
    parser.set_defaults(handler=execute)
