"""YAML document -> :class:`PipelineSpec`, collecting every structural problem with its position."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from trakt.errors import PipelineValidationError, Problem, did_you_mean
from trakt.spec.model import (
    ExecutionSpec,
    InputSpec,
    OutputDataset,
    OutputsSpec,
    Pipeline,
    PipelineSpec,
    SourceInfo,
    StepSpec,
)
from trakt.spec.yaml_loader import Path, format_path, load_yaml

# Which model validates the mapping found at a path, to suggest key names.
_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): PipelineSpec,
    ("inputs", "*"): InputSpec,
    ("steps", "*"): StepSpec,
    ("outputs",): OutputsSpec,
    ("outputs", "datasets", "*"): OutputDataset,
    ("execution",): ExecutionSpec,
}


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_for(parent: Path) -> type[BaseModel] | None:
    shape = tuple(
        "*" if isinstance(p, int) or (i == 1 and parent[0] == "inputs") else str(p)
        for i, p in enumerate(parent)
    )
    return _MODEL_AT.get(shape)


def _describe(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), f"a {type(value).__name__}"
    )
    return f"{kind} ({value!r})" if isinstance(value, str | int | float | bool) else kind


def _message(err: Any) -> tuple[Path, str]:
    loc: Path = tuple(
        p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function"))
    )
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_for(loc[:-1])
        hint = did_you_mean(key, _keys_of(model)) if model else ""
        allowed = f"; allowed keys: {', '.join(_keys_of(model))}" if model else ""
        return loc, f"unknown key '{key}'{hint}{allowed}"
    if kind == "missing":
        return loc, f"missing required key '{loc[-1]}'"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        hint = did_you_mean(
            str(found), [e.strip(" '") for e in expected.split(",") for e in e.split(" or ")]
        )
        return loc, f"expected one of {expected}, found {found!r}{hint}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"expected a mapping, found {_describe(found)}"
    if kind == "list_type":
        return loc, f"expected a list, found {_describe(found)}"
    if kind == "string_type":
        return loc, f"expected a string, found {_describe(found)}"
    if kind == "string_too_short":
        return loc, "must not be empty"
    return loc, f"{err['msg']}, found {_describe(found)}"


def _drop_invalid(data: dict[str, Any], loc: Path) -> None:
    """Remove the smallest element holding an error so the rest can still be checked."""
    if not loc:
        return
    head = loc[0]
    if head in ("inputs", "steps") and len(loc) >= 2:
        container = data.get(head)
        if isinstance(container, dict):
            container.pop(str(loc[1]), None)
        elif isinstance(container, list) and isinstance(loc[1], int) and loc[1] < len(container):
            container[loc[1]] = None
        return
    if head == "outputs" and len(loc) >= 3 and loc[1] == "datasets":
        datasets = data.get("outputs", {}).get("datasets")
        if isinstance(datasets, list) and isinstance(loc[2], int) and loc[2] < len(datasets):
            datasets[loc[2]] = None
        return
    if head == "name":
        data["name"] = "<invalid>"
        return
    data.pop(str(head), None)


def _lenient(data: dict[str, Any], errors: list[Any]) -> tuple[PipelineSpec | None, set[str]]:
    """Validate what remains after dropping invalid pieces; also return the artifact names
    the dropped steps referred to, so they do not cause follow-up "never produced" noise."""
    dropped_refs: set[str] = set()
    steps = data.get("steps")
    for err in errors:
        loc = tuple(err["loc"])
        if loc and loc[0] == "steps" and len(loc) >= 2 and isinstance(steps, list):
            index = loc[1]
            if isinstance(index, int) and index < len(steps) and isinstance(steps[index], dict):
                with_ = steps[index].get("with")
                if isinstance(with_, dict):
                    dropped_refs.update(v for v in with_.values() if isinstance(v, str))
        _drop_invalid(data, loc)
    if isinstance(steps, list):
        data["steps"] = [s for s in steps if s is not None]
    outputs = data.get("outputs")
    if isinstance(outputs, dict) and isinstance(outputs.get("datasets"), list):
        outputs["datasets"] = [d for d in outputs["datasets"] if d is not None]
    try:
        return PipelineSpec.model_validate(data), dropped_refs
    except ValidationError:
        return None, dropped_refs


def parse_spec(
    data: Any, source: SourceInfo
) -> tuple[PipelineSpec | None, list[Problem], set[str]]:
    """Validate the document's structure.

    Returns the spec (possibly with invalid pieces left out, if there were problems), the
    problems, and artifact names that left-out pieces referred to.
    """

    def located(path: Path, message: str) -> Problem:
        pos = source.position(path)
        line, column = pos if pos else (None, None)
        return Problem(format_path(path), message, source.file, line, column)

    if not isinstance(data, dict):
        return (
            None,
            [
                located(
                    (),
                    f"a pipeline file must be a YAML mapping with 'name', "
                    f"'inputs', 'steps' and 'outputs'; found {_describe(data)}",
                )
            ],
            set(),
        )
    try:
        return PipelineSpec.model_validate(data), [], set()
    except ValidationError as exc:
        errors = exc.errors()
    problems = [located(*_message(err)) for err in errors]
    copy = _deep_copy(data)
    spec, dropped = _lenient(copy, errors)
    return spec, problems, dropped


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def read_pipeline_file(path: str | os.PathLike[str]) -> tuple[Any, SourceInfo, list[Problem]]:
    """Read and safely parse a pipeline file; return data, source info and YAML problems."""
    file = FsPath(path)
    shown = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise PipelineValidationError(
            [Problem("<root>", f"pipeline file not found: {file.resolve()}", shown)], file=shown
        ) from None
    except IsADirectoryError:
        raise PipelineValidationError(
            [Problem("<root>", "expected a YAML file, found a directory", shown)], file=shown
        ) from None
    except OSError as exc:
        raise PipelineValidationError(
            [Problem("<root>", f"cannot read pipeline file: {exc.strerror}", shown)], file=shown
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineValidationError(
            [Problem("<root>", f"pipeline file is not UTF-8 text (byte {exc.start})", shown)],
            file=shown,
        ) from None
    loaded = load_yaml(text, shown)
    positions = {p: (pos.line, pos.column) for p, pos in loaded.positions.items()}
    source = SourceInfo(file=shown, sha256=hashlib.sha256(raw).hexdigest(), positions=positions)
    return loaded.data, source, loaded.problems


def spec_from_data(data: Any, source: SourceInfo | None = None) -> Pipeline:
    """Validate the structure of an already-parsed document; raise all problems at once."""
    src = source or SourceInfo()
    spec, problems, _ = parse_spec(data, src)
    if problems or spec is None:
        raise PipelineValidationError(problems, file=src.file)
    return Pipeline(spec=spec, source=src)
