"""``trakt run``: run a pipeline locally, with the same flags as ``python -m trakt.run_local``."""

from __future__ import annotations

import argparse
from typing import Any

from trakt.run_local import add_run_arguments, execute


def register(sub: Any) -> None:
    """Add ``run`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "run", help="run a pipeline locally (same flags as python -m trakt.run_local)"
    )
    add_run_arguments(parser)
    parser.set_defaults(handler=execute)
