"""``trakt completion bash|zsh|fish``: a shell completion script, generated from the parser.

The script is built from ``trakt.cli.build_parser()`` each time, so it names exactly the
subcommands and flags this version has. What a flag's value completes to is read from the
action: ``choices`` complete to themselves; a dest or metavar naming a dir completes
directories, one naming a file or path completes files; ``--pipeline`` completes the names under
``pipelines/*/pipeline.yaml``. A command may say it outright: ``action.completion = "file"``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from trakt.errors import EXIT_OK

SHELLS = ("bash", "zsh", "fish")
KINDS = ("none", "value", "file", "dir", "choices", "pipeline")

EXAMPLES = """\
examples:
  source <(trakt completion bash)                               # this bash session
  trakt completion bash > ~/.local/share/bash-completion/completions/trakt
  trakt completion zsh > "${fpath[1]}/_trakt"                    # then: compinit
  trakt completion fish > ~/.config/fish/completions/trakt.fish

Regenerate after upgrading trakt: the script lists this version's commands and flags.
"""


@dataclass(frozen=True)
class Arg:
    """An option (``flags``) or a positional (no flags) and what its value completes to."""

    flags: tuple[str, ...]
    help: str
    kind: str  # one of KINDS: "none" takes no value
    choices: tuple[str, ...] = ()
    repeats: bool = False  # an option given again, or a positional taking several values


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, options and positionals."""

    name: str
    help: str
    options: tuple[Arg, ...]
    positionals: tuple[Arg, ...]


@dataclass(frozen=True)
class Cli:
    """The whole command line as the completion scripts see it."""

    prog: str
    options: tuple[Arg, ...]
    commands: tuple[Command, ...]


def register(sub: Any) -> None:
    """Add ``completion`` to the subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script for SHELL: subcommands, flags, file names.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=handle)


def _kind(action: argparse.Action) -> str:
    explicit = getattr(action, "completion", None)
    if isinstance(explicit, str) and explicit in KINDS:
        return explicit
    if action.nargs == 0:
        return "none"
    if action.choices is not None:
        return "choices"
    if action.dest == "pipeline":
        return "pipeline"
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    if "=" in metavar:  # NAME=PATH and the like: no single thing to complete
        return "value"
    text = f"{action.dest} {metavar}".lower()
    if "dir" in text:
        return "dir"
    if "file" in text or "path" in text:
        return "file"
    return "value"


def _arg(action: argparse.Action) -> Arg:
    kind = _kind(action)
    choices = tuple(str(c) for c in action.choices) if kind == "choices" and action.choices else ()
    repeats = isinstance(action, argparse._AppendAction | argparse._CountAction) or (
        not action.option_strings and action.nargs in ("*", "+", argparse.REMAINDER)
    )
    help_text = action.help if isinstance(action.help, str) else ""
    return Arg(tuple(action.option_strings), help_text, kind, choices, repeats)


def _split(parser: argparse.ArgumentParser) -> tuple[list[Arg], list[Arg], Any]:
    """A parser's options, positionals, and its subparsers action (or None)."""
    options, positionals, subparsers = [], [], None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subparsers = action
        elif action.help == argparse.SUPPRESS:
            continue
        elif action.option_strings:
            options.append(_arg(action))
        else:
            positionals.append(_arg(action))
    return options, positionals, subparsers


def describe_cli(parser: argparse.ArgumentParser) -> Cli:
    """Read the parser into a :class:`Cli`."""
    options, _, subparsers = _split(parser)
    commands = []
    if subparsers is not None:
        helps = {a.dest: a.help or "" for a in subparsers._choices_actions}
        for name, subparser in subparsers.choices.items():
            sub_options, sub_positionals, _ = _split(subparser)
            commands.append(
                Command(name, helps.get(name, ""), tuple(sub_options), tuple(sub_positionals))
            )
    return Cli(parser.prog, tuple(options), tuple(commands))


def script(shell: str, parser: argparse.ArgumentParser | None = None) -> str:
    """The completion script for ``shell`` (``trakt``'s own parser unless one is given)."""
    from trakt.commands import completion_scripts

    if parser is None:
        from trakt.cli import build_parser  # here: trakt.cli imports this module's package

        parser = build_parser()
    cli = describe_cli(parser)
    render = {
        "bash": completion_scripts.bash,
        "zsh": completion_scripts.zsh,
        "fish": completion_scripts.fish,
    }[shell]
    return render(cli)


def handle(args: argparse.Namespace) -> int:
    """``trakt completion SHELL``: print the script; the exit code."""
    print(script(args.shell), end="")
    return EXIT_OK
