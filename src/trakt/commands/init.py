"""``trakt init DIR``: scaffold a project that ``trakt run --pipeline NAME`` runs at once."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from trakt.commands.templates import DESCRIPTIONS, TEMPLATES, render
from trakt.errors import EXIT_OK, UsageError

EXAMPLES = """\
examples:
  trakt init demo                     # pipelines/demo/pipeline.yaml, steps/, data/, README.md
  cd demo && trakt run --pipeline demo
  trakt init ingest --template stream --name readings
  trakt init warehouse --template sql
  trakt init . --force                # into the current, non-empty dir; no file is overwritten

templates:
""" + "".join(f"  {name:<8} {text}\n" for name, text in DESCRIPTIONS.items())


def register(sub: Any) -> None:
    """Add ``init`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "init",
        help="scaffold a new project (pipeline, steps package, sample data, README)",
        description="Create a project in DIR that `trakt run --pipeline NAME` runs as it is.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", metavar="DIR", help="the project directory (created)")
    parser.add_argument(
        "--template", choices=sorted(TEMPLATES), default="csv", help="what to start from"
    )
    parser.add_argument(
        "--name", help="the pipeline's name (default: DIR's name, as an identifier)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a DIR that exists and is not empty (still never overwrites a file)",
    )
    parser.set_defaults(handler=handle)


def pipeline_name(directory: Path) -> str:
    """DIR's name as a pipeline name: lower case, ``[a-z0-9_]``, starting with a letter."""
    slug = re.sub(r"[^a-z0-9_]+", "_", directory.resolve().name.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"pipeline_{slug}" if slug else "pipeline"
    return slug


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
        raise UsageError(
            f"init --name {name!r}: expected a letter, then letters, digits, '_' or '-' "
            "(it names the directory pipelines/NAME/); pick such a name",
            name=name,
        )


def scaffold(directory: Path, template: str, name: str, force: bool = False) -> list[Path]:
    """Write ``template``'s files into ``directory``; the files written. Nothing is overwritten:
    a conflict with an existing file raises :class:`UsageError` before anything is written."""
    _check_name(name)
    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"init {directory}: exists and is not a directory; choose another DIR",
            path=str(directory),
        )
    files = render(template, name)
    if directory.is_dir() and any(directory.iterdir()):
        clashes = sorted(rel for rel in files if os.path.lexists(directory / rel))
        if not force:
            found = ", ".join(sorted(p.name for p in directory.iterdir())[:5])
            hint = "" if clashes else ", or pass --force to add the project's files to it"
            raise UsageError(
                f"init {directory}: the directory exists and is not empty (found {found}); "
                f"choose a new directory{hint}",
                path=str(directory),
            )
        if clashes:
            raise UsageError(
                f"init {directory}: these files exist and would be overwritten: "
                f"{', '.join(clashes)}; nothing was written; choose a new directory, or move "
                "them away",
                path=str(directory),
            )
    written = []
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": a file that appeared since the check above is never overwritten either.
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written


def handle(args: argparse.Namespace) -> int:
    """``trakt init``: scaffold, then say how to run it; the exit code."""
    directory = Path(args.dir)
    name = args.name or pipeline_name(directory)
    try:
        written = scaffold(directory, args.template, name, force=args.force)
    except UsageError as exc:
        print(f"trakt: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except FileExistsError as exc:
        print(f"trakt: init: {exc.filename} appeared meanwhile; it was kept", file=sys.stderr)
        return UsageError.exit_code
    print(f"created a {args.template} project in {directory}:")
    for path in sorted(written):
        print(f"  {path.relative_to(directory)}")
    print("run it:")
    if directory.resolve() != Path.cwd():
        print(f"  cd {directory}")
    print(f"  trakt run --pipeline {name}")
    return EXIT_OK
