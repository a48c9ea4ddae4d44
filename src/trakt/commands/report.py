"""``trakt report MANIFEST [-o FILE]``: one self-contained HTML page of a run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from trakt.errors import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED

EXAMPLES = """\
examples:
  trakt report out/manifest.json                 # writes out/report.html
  trakt report out/manifest.json -o /tmp/run.html
  trakt run --pipeline demo --report             # the same page, written after the run

The page is one HTML file with no external resource: open it offline or attach it to a ticket.
Exit 0 when written, 2 if the manifest is missing or not a Trakt manifest.
"""


def register(sub: Any) -> None:
    """Add ``report`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write a self-contained HTML page of a run from its manifest.json",
        description="Render a run's manifest as one HTML page (DAG coloured by status, "
        "timeline, rows per step, column summaries, events, the error): no network needed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", help="a run's manifest.json")
    parser.add_argument(
        "-o", "--output", help="where to write the page (default: report.html beside the manifest)"
    )
    parser.set_defaults(handler=lambda args: report(args.manifest, args.output))


def report(manifest: str, output: str | None = None) -> int:
    """Render ``manifest`` to ``output``; print where; the exit code."""
    from trakt.report import REPORT_NAME, read_manifest, write_report

    try:
        data = read_manifest(manifest)
    except FileNotFoundError:
        return _fail(f"{manifest}: no such manifest; give the manifest.json a run wrote")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{manifest}: cannot read it: {getattr(exc, 'strerror', None) or exc}")
    except ValueError as exc:
        return _fail(
            f"{manifest}: expected a Trakt run manifest (JSON with run_id and status), found "
            f"{_first_line(exc)}; give the manifest.json a run wrote"
        )
    target = Path(output) if output else Path(manifest).parent / REPORT_NAME
    try:
        written = write_report(data, target)
    except OSError as exc:
        print(f"trakt: cannot write the report {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    print(f"report: {written}")
    return EXIT_OK


def _fail(message: str) -> int:
    from trakt.runtime.messages import one_line

    print(f"trakt: {one_line(message)}", file=sys.stderr)
    return EXIT_INVALID


def _first_line(exc: ValueError) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
