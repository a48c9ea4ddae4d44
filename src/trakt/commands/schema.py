"""``trakt schema [-o FILE]``: the JSON Schema of pipeline files, for editors."""

from __future__ import annotations

import argparse
import json
from typing import Any

from trakt.commands.output import write_text

EXAMPLES = """\
examples:
  trakt schema -o trakt-pipeline.schema.json     # at the project root, beside pipelines/
  trakt schema | jq '.properties | keys'

Then make pipelines/<name>/pipeline.yaml's first line
  # yaml-language-server: $schema=../../trakt-pipeline.schema.json
(the path is relative to the pipeline file) for completion and checking in editors that run
the YAML language server (VS Code's YAML extension, Neovim, JetBrains IDEs).
"""


def register(sub: Any) -> None:
    """Add ``schema`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "schema",
        help="print the JSON Schema of pipeline.yaml (editor completion and checking)",
        description="Print the JSON Schema (draft 2020-12) of pipeline files. Write it to a "
        "file and start a pipeline with '# yaml-language-server: $schema=<that file>'.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    parser.set_defaults(handler=lambda args: schema(args.output))


def schema(output: str | None = None) -> int:
    """Write the pipeline JSON Schema to ``output`` (stdout when None); the exit code."""
    from trakt.model.schema import pipeline_json_schema

    return write_text(json.dumps(pipeline_json_schema(), indent=2) + "\n", output)
