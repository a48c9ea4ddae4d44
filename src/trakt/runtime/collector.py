"""Validation problems collected with their YAML location, and the rules for names."""

from __future__ import annotations

import re

from trakt.errors import Problem
from trakt.model.loader import ParsedSpec
from trakt.model.model import SourceInfo
from trakt.model.yaml_loader import format_path

DATASET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
# Names become file names: '<output-dir>/.trakt-tmp-<run id (<= 128)>-<name>.csv' must fit in
# the 255 bytes most file systems allow.
NAME_MAX = 100


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as part of a file name, or None when it can."""
    if len(name) > NAME_MAX:
        return f"it is {len(name)} characters long (at most {NAME_MAX})"
    if not DATASET_NAME.fullmatch(name) or ".." in name:
        return "use only letters, digits, '_', '-' and '.' (not '.' first; no '/' or '..')"
    return None


def shown_name(name: str) -> str:
    return name if name.isprintable() else repr(name)[1:-1]


class Collector:
    """Every problem found, each at its YAML position (file:line)."""

    def __init__(self, source: SourceInfo, parsed: ParsedSpec | None) -> None:
        self.source = source
        self.parsed = parsed
        self.problems: list[Problem] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        if self.parsed is not None:
            path = self.parsed.original_path(path)
        pos = self.source.position(path)
        line, column = pos if pos else (None, None)
        self.problems.append(Problem(format_path(path), message, self.source.file, line, column))
