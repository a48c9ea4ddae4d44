"""``--set PATH=VALUE``: change any value of a pipeline file by its YAML path, before it is
checked (so a value set is validated as if the file held it).

Paths: keys joined by ``.``, list entries in brackets by index (``steps[0]``) or by the
entry's ``id`` / ``name`` (``steps[double_amount]``, ``outputs.datasets[final]``):
``inputs.records.uri``, ``params.day``, ``steps[double_amount].with.factor``. The value is a
YAML value (``3`` an int, ``2026-01-01`` a date, ``[a, b]`` a list). A path that leads nowhere
is a :class:`UsageError` naming what exists there; a key that does not exist yet may be added
where the file could hold it (``execution.mode``, a step's ``with``, ``options``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from trakt.errors import Problem, UsageError, did_you_mean
from trakt.model.loader import _keys_of, _model_for
from trakt.model.params import fit
from trakt.model.yaml_loader import Path, format_path, load_yaml

_SEGMENT = re.compile(r"(?P<key>[^.\[\]]+)?(?P<brackets>(\[[^\[\]]*\])*)")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
# Mappings whose keys are the user's own: a new key may be added there.
_FREE = ("with", "options", "storage_options", "columns")


@dataclass(frozen=True)
class Override:
    """One ``--set``: the path as written, its parts (str keys; int or ``"[name]"`` entries),
    the value and the text it was parsed from (None when given as a Python value)."""

    shown: str
    parts: tuple[str | int, ...]
    value: Any
    text: str | None = None


def parse_path(shown: str) -> tuple[str | int, ...]:
    """``steps[x].with.factor`` -> ``("steps", "[x]", "with", "factor")`` (ints for indexes)."""
    parts: list[str | int] = []
    for segment in shown.split("."):
        match = _SEGMENT.fullmatch(segment)
        if not segment or match is None or (not match["key"] and not parts):
            raise UsageError(
                f"--set {shown}=...: '{segment}' is not a key; write a YAML path such as "
                "inputs.records.uri, params.day or steps[double_amount].with.factor"
            )
        if match["key"]:
            parts.append(match["key"])
        for inner in _BRACKET.findall(match["brackets"]):
            text = inner.strip()
            if not text:
                raise UsageError(f"--set {shown}=...: empty [] ; put an index or an id in it")
            parts.append(int(text) if re.fullmatch(r"-?\d+", text) else f"[{text}]")
    return tuple(parts)


def parse_set(text: str) -> Override:
    """One ``PATH=VALUE`` argument; the value parsed as YAML."""
    shown, sep, raw = text.partition("=")
    if not sep or not shown.strip():
        raise UsageError(f"--set {text!r}: expected PATH=VALUE, e.g. params.day=2026-01-01")
    loaded = load_yaml(raw, f"--set {shown}")
    if loaded.problems:
        raise UsageError(f"--set {text}: the value is not YAML: {loaded.problems[0].message}")
    return Override(shown.strip(), parse_path(shown.strip()), loaded.data, raw)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(map(str, value)) or "none"
        return f"a mapping (keys: {keys})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__} ({value!r})"


def _entry(items: list[Any], part: str | int, where: str, shown: str) -> int:
    """The index of ``part`` (an index, or ``[id]``) in the list at ``where``."""
    if isinstance(part, int):
        if -len(items) <= part < len(items):
            return part % len(items)
        raise UsageError(
            f"--set {shown}: {where} has {len(items)} entries (indexes 0 to {len(items) - 1})"
            if items
            else f"--set {shown}: {where} is empty"
        )
    name = part[1:-1]
    labels = [
        (item.get("id") if "id" in item else item.get("name")) if isinstance(item, dict) else None
        for item in items
    ]
    if name in labels:
        return labels.index(name)
    known = [str(label) for label in labels if label is not None]
    raise UsageError(
        f"--set {shown}: {where} has no entry with id or name '{name}'"
        f"{did_you_mean(name, known)}; there: {', '.join(known) or 'none'}"
    )


def _may_add(parent: Path, key: str) -> bool:
    """Whether a new ``key`` may be added to the mapping at ``parent``."""
    if parent and parent[-1] in _FREE:
        return True
    if parent[:1] in (("params",), ("inputs",)) and len(parent) == 1:
        return False  # a new param or input is declared in the file
    model = _model_for(parent)
    return model is not None and key in _keys_of(model)


def apply(data: Any, override: Override) -> Path:
    """Set one value in ``data`` (changed in place); the YAML path it landed at."""
    shown = f"{override.shown}={override.text if override.text is not None else override.value}"
    node: Any = data
    path: Path = ()
    value = override.value
    for i, part in enumerate(override.parts):
        last = i == len(override.parts) - 1
        where = format_path(path)
        if isinstance(part, str) and not part.startswith("["):
            if not isinstance(node, dict):
                raise UsageError(f"--set {shown}: {where} is {_describe(node)}, not a mapping")
            if part not in node:
                if not _may_add(path, part):
                    model = _model_for(path)
                    known = _keys_of(model) if model else [str(k) for k in node]
                    what = (
                        "declared params"
                        if path == ("params",)
                        else f"keys {where} may have"
                        if model
                        else f"keys at {where}"
                    )
                    raise UsageError(
                        f"--set {shown}: {where} has no '{part}'{did_you_mean(part, known)}; "
                        f"{what}: {', '.join(known) or 'none'}"
                    )
                node[part] = value if last else {}
            elif path == ("params",):
                try:
                    value = fit(part, node[part], value, override.text)
                except ValueError as exc:
                    raise UsageError(f"--set {shown}: {exc}") from None
            if last:
                node[part] = value
            path = (*path, part)
            node = node[part]
        else:
            if not isinstance(node, list):
                raise UsageError(f"--set {shown}: {where} is {_describe(node)}, not a list")
            index = _entry(node, part, where, shown)
            if last:
                node[index] = value
            path = (*path, index)
            node = node[index]
    return path


def apply_all(data: Any, overrides: Sequence[Override]) -> dict[Path, Override]:
    """Apply every override in order (a later one wins); where each landed."""
    if overrides and not isinstance(data, dict):
        raise UsageError(f"--set {overrides[0].shown}: the pipeline file is not a mapping")
    return {apply(data, override): override for override in overrides}


def note_sets(problems: Iterable[Problem], landed: Mapping[Path, str]) -> list[Problem]:
    """Problems about a value given by ``--set`` say so (their position is the file's key)."""
    marks = [(format_path(path), shown) for path, shown in landed.items()]
    out = []
    for problem in problems:
        hit = next(
            (
                s
                for p, s in marks
                if problem.path == p or problem.path.startswith((p + ".", p + "["))
            ),
            None,
        )
        if hit is not None:
            problem = replace(problem, message=f"{problem.message} (value given by --set {hit})")
        out.append(problem)
    return out


def param_overrides(params: Mapping[str, Any]) -> list[Override]:
    """Python keyword params (``trakt.run(file, day=...)``) as overrides of ``params.<name>``."""
    return [Override(f"params.{name}", ("params", name), value) for name, value in params.items()]
