"""``trakt graph FILE [--format mermaid|dot|svg] [-o OUT]``: a pipeline's DAG, not run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trakt.commands.output import write_text
from trakt.errors import TraktError

FORMATS = ("mermaid", "dot", "svg")

EXAMPLES = """\
examples:
  trakt graph pipelines/demo/pipeline.yaml              # Mermaid, to paste into Markdown
  trakt graph pipelines/demo/pipeline.yaml --format svg -o dag.svg
  trakt graph pipeline.yaml --format dot | dot -Tpng -o dag.png   # with Graphviz installed

Exit 0 when drawn, 2 if the pipeline is invalid (the problems printed as file:line:column).
"""


def register(sub: Any) -> None:
    """Add ``graph`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "graph",
        help="draw a pipeline's DAG (inputs, steps, outputs) as Mermaid, Graphviz DOT or SVG",
        description="Validate a pipeline file and print its DAG: inputs on the left, steps by "
        "depth, outputs on the right; each step marked stream or batch. Reads no data.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("pipeline_file")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="mermaid (default: renders in GitHub Markdown), dot (Graphviz), or svg "
        "(self-contained, drawn without Graphviz)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    parser.set_defaults(handler=lambda args: graph(args.pipeline_file, args.format, args.output))


def graph(path: str, fmt: str = "mermaid", output: str | None = None) -> int:
    """Load and plan ``path``; write its graph in ``fmt``; the exit code."""
    from trakt.api import load_pipeline_from_yaml
    from trakt.runtime.graph import pipeline_graph, to_dot, to_mermaid
    from trakt.runtime.graph_svg import to_svg
    from trakt.runtime.planning import plan_pipeline

    try:
        plan = plan_pipeline(load_pipeline_from_yaml(path))
    except TraktError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    drawing = pipeline_graph(plan)
    render = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}[fmt]
    return write_text(render(drawing), output)
