"""Safe YAML loading that remembers where every key and item came from.

PyYAML composes the document into nodes (with line/column marks) using its safe resolver; we
build plain Python values from those nodes ourselves so that we can record positions, refuse
object-constructing tags, flag duplicate keys and bound alias expansion (a "billion laughs"
document is rejected after a fixed number of nodes instead of eating memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from trakt.errors import PipelineValidationError, Problem

Path = tuple[str | int, ...]

MAX_NODES = 100_000
MAX_DEPTH = 64
_STD_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary",
}


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class LoadedYaml:
    """The document's data plus the position of every mapping key and sequence item."""

    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str | None) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[Path, Position] = {}
        self.problems: list[Problem] = []
        self.nodes = 0
        self.active: list[yaml.Node] = []  # nodes being built: an alias to one is a cycle

    def problem(self, path: Path, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(format_path(path), message, self.file, mark.line + 1, mark.column + 1)
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge(node)
        if any(node is n for n in self.active):
            raise _TooLarge(node, "recursive YAML alias: a node that contains itself")
        if len(self.active) >= MAX_DEPTH:
            raise _TooLarge(node, f"document nests deeper than {MAX_DEPTH} levels")
        self.active.append(node)
        try:
            return self._build(node, path)
        finally:
            self.active.pop()

    def _build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in _STD_TAGS:
                self.problem(path, node, f"YAML tag '{node.tag}' is not allowed; remove it")
                return None
            items = []
            for index, item in enumerate(node.value):
                self._mark((*path, index), item)
                items.append(self.build(item, (*path, index)))
            return items
        if node.tag not in _SCALAR_TAGS:
            self.problem(
                path, node, f"YAML tag '{node.tag}' is not allowed (Trakt loads YAML safely)"
            )
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception as exc:  # the standard constructors fail in many ways on bad text
            # e.g. `!!int abc`: the standard tag cannot build this value
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problem(path, node, f"invalid value for tag {node.tag}: {reason}")
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        if node.tag not in _STD_TAGS:
            self.problem(path, node, f"YAML tag '{node.tag}' is not allowed; remove it")
            return {}
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        try:
            self.loader.flatten_mapping(node)
        except yaml.YAMLError as exc:  # `<<:` on something that is not a mapping
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(path, node, f"invalid merge key (<<): {reason}")
            return {}
        result: dict[Any, Any] = {}
        seen_explicit: set[str] = set()
        for key_node, value_node in node.value:
            key = self.build(key_node, path)
            if not isinstance(key, str | int | float | bool) and key is not None:
                self.problem(path, key_node, "mapping keys must be plain scalars")
                continue
            key_text = str(key) if not isinstance(key, str) else key
            child = (*path, key_text)
            if id(key_node) in explicit:
                # Merged (<<) keys may be overridden; the same key written twice may not.
                if key_text in seen_explicit:
                    self.problem(child, key_node, f"duplicate key '{key_text}'; keep only one")
                seen_explicit.add(key_text)
            self._mark(child, key_node)
            result[key_text] = self.build(value_node, child)
        return result

    def _mark(self, path: Path, node: yaml.Node) -> None:
        self.positions.setdefault(
            path, Position(node.start_mark.line + 1, node.start_mark.column + 1)
        )


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node, reason: str | None = None) -> None:
        self.node = node
        self.reason = reason or (
            f"document expands to more than {MAX_NODES} nodes (YAML aliases?); "
            "a pipeline file is never that large"
        )


def load_yaml(text: str, file: str | None = None) -> LoadedYaml:
    """Parse ``text`` safely. Syntax errors raise; structural oddities become problems."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # e.g. control characters, checked when reading starts
        raise PipelineValidationError.whole_file(file, f"invalid YAML: {exc}") from None
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = exc.problem or str(exc)
        raise PipelineValidationError.whole_file(
            file, f"invalid YAML: {reason}", line, column
        ) from None
    except yaml.YAMLError as exc:
        raise PipelineValidationError.whole_file(file, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise PipelineValidationError.whole_file(
            file, "invalid YAML: the document nests too deeply"
        ) from None
    finally:
        loader.dispose()
    if root is None:
        return LoadedYaml(None)
    builder = _Builder(loader, file)
    try:
        data = builder.build(root, ())
    except _TooLarge as exc:
        mark = exc.node.start_mark
        raise PipelineValidationError.whole_file(
            file, exc.reason, mark.line + 1, mark.column + 1
        ) from None
    return LoadedYaml(data, builder.positions, builder.problems)
