"""The ``trakt`` subcommands: one module each, with ``register(subparsers)`` adding its parser
and setting ``handler`` (a function of the parsed arguments returning the exit code).

:mod:`trakt.cli` lists the modules in :data:`trakt.cli.COMMANDS`; a new command is a new module
and one line there. Commands are the edge layer: they may import anything below."""
