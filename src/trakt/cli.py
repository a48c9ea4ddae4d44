"""The ``trakt`` console script (also ``python -m trakt``): one subcommand per module of
:mod:`trakt.commands`, listed in :data:`COMMANDS`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from trakt._version import __version__
from trakt.commands.validate import validate

# The subcommands' modules, in the order ``trakt --help`` lists them.
COMMANDS = (
    "trakt.commands.run",
    "trakt.commands.validate",
    "trakt.commands.graph",
    "trakt.commands.schema",
    "trakt.commands.report",
    "trakt.commands.init",
    "trakt.commands.steps",
    "trakt.commands.completion",
)

__all__ = ["COMMANDS", "main", "validate"]


def build_parser() -> argparse.ArgumentParser:
    """The ``trakt`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="trakt", description="YAML-first ETL for tabular data.")
    parser.add_argument("--version", action="version", version=f"trakt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; its exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
