"""``python -m trakt``: the ``trakt`` console script, the same parser and exit codes."""

from __future__ import annotations

import sys

from trakt.cli import main

if __name__ == "__main__":
    sys.exit(main())
