"""YAML document -> :class:`PipelineSpec`, collecting every structural problem with its position."""

from __future__ import annotations

import copy
import hashlib
import os
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from trakt.errors import PipelineValidationError, Problem, did_you_mean
from trakt.model.interpolate import interpolate
from trakt.model.model import (
    ColumnRule,
    ExecutionSpec,
    InputSpec,
    OutputDataset,
    OutputsSpec,
    PipelineSpec,
    SchemaSpec,
    SourceInfo,
    StepSpec,
)
from trakt.model.yaml_loader import Path, format_path, load_yaml

if TYPE_CHECKING:
    from trakt.model.overrides import Override

# A pipeline description is a few KiB; a bigger file is a mistake (a data file, /dev/zero).
MAX_PIPELINE_BYTES = 10 * 2**20
FIFO_WAIT_S = 2.0  # how long a FIFO pipeline file waits for a writer to open it

# Which model validates the mapping found at a path, to suggest key names.
_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): PipelineSpec,
    ("inputs", "*"): InputSpec,
    ("steps", "*"): StepSpec,
    ("outputs",): OutputsSpec,
    ("outputs", "datasets", "*"): OutputDataset,
    ("execution",): ExecutionSpec,
    ("inputs", "*", "schema"): SchemaSpec,
    ("inputs", "*", "schema", "columns", "*"): ColumnRule,
    ("outputs", "datasets", "*", "schema"): SchemaSpec,
    ("outputs", "datasets", "*", "schema", "columns", "*"): ColumnRule,
}


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_for(parent: Path) -> type[BaseModel] | None:
    shape = tuple(
        "*"
        if isinstance(p, int)
        or (i == 1 and parent[0] == "inputs")
        or (i > 0 and parent[i - 1] == "columns")
        else str(p)
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
    if kind == "string_pattern_mismatch":
        return loc, (
            f"unknown column type {found!r}; use int, float, string, bool, date, datetime or "
            "decimal(p,s)"
        )
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


@dataclass(frozen=True)
class ParsedSpec:
    """The structural check's result: the spec (invalid pieces left out), the problems, and
    what later checks need to stay quiet about left-out pieces and to locate the rest."""

    spec: PipelineSpec | None
    problems: list[Problem]
    dropped_refs: frozenset[str] = frozenset()
    # Original YAML index of each kept steps[] / outputs.datasets[] entry.
    step_index: tuple[int, ...] | None = None
    dataset_index: tuple[int, ...] | None = None

    def original_path(self, path: Path) -> Path:
        if path[:1] == ("steps",) and self.step_index and len(path) > 1:
            index = path[1]
            if isinstance(index, int) and index < len(self.step_index):
                return ("steps", self.step_index[index], *path[2:])
        if path[:2] == ("outputs", "datasets") and self.dataset_index and len(path) > 2:
            index = path[2]
            if isinstance(index, int) and index < len(self.dataset_index):
                return ("outputs", "datasets", self.dataset_index[index], *path[3:])
        return path


def _kept(items: Any) -> tuple[list[Any], tuple[int, ...]] | None:
    if not isinstance(items, list):
        return None
    kept = [(i, item) for i, item in enumerate(items) if item is not None]
    return [item for _, item in kept], tuple(i for i, _ in kept)


def _lenient(data: dict[str, Any], errors: list[Any], problems: list[Problem]) -> ParsedSpec:
    """Validate what remains after dropping invalid pieces, remembering what was dropped."""
    dropped_refs: set[str] = set()
    steps = data.get("steps")
    for err in errors:
        loc = tuple(err["loc"])
        if loc[:1] == ("inputs",) and len(loc) >= 2:
            dropped_refs.add(str(loc[1]))
        if loc and loc[0] == "steps" and len(loc) >= 2 and isinstance(steps, list):
            index = loc[1]
            if isinstance(index, int) and index < len(steps) and isinstance(steps[index], dict):
                with_ = steps[index].get("with")
                if isinstance(with_, dict):
                    dropped_refs.update(v for v in with_.values() if isinstance(v, str))
        _drop_invalid(data, loc)
    step_index = dataset_index = None
    kept = _kept(steps)
    if kept:
        data["steps"], step_index = kept
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        kept = _kept(outputs.get("datasets"))
        if kept:
            outputs["datasets"], dataset_index = kept
    try:
        spec: PipelineSpec | None = PipelineSpec.model_validate(data)
    except ValidationError:
        spec = None
    return ParsedSpec(spec, problems, frozenset(dropped_refs), step_index, dataset_index)


def _merge_typos(errors: list[Any]) -> list[Any]:
    """An unknown key that is a typo of a missing one is one mistake, not two."""
    import difflib  # error path only

    typos: set[Path] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            model = _model_for(loc[:-1])
            if model:
                close = difflib.get_close_matches(str(loc[-1]), _keys_of(model), n=1, cutoff=0.6)
                typos.update((*loc[:-1], c) for c in close)
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in typos)]


def parse_spec(data: Any, source: SourceInfo) -> ParsedSpec:
    """Validate the document's structure, collecting every problem."""

    def located(path: Path, message: str) -> Problem:
        pos = source.position(path)
        line, column = pos if pos else (None, None)
        return Problem(format_path(path), message, source.file, line, column)

    if not isinstance(data, dict):
        message = (
            "a pipeline file must be a YAML mapping with 'name', 'inputs', 'steps' and "
            f"'outputs'; found {_describe(data)}"
        )
        return ParsedSpec(None, [located((), message)])
    try:
        return ParsedSpec(PipelineSpec.model_validate(data), [])
    except ValidationError as exc:
        errors = _merge_typos(exc.errors())
    problems = [located(*_message(err)) for err in errors]
    # A copy: the lenient pass drops invalid pieces, and the caller's data stays as given.
    return _lenient(copy.deepcopy(data), errors, problems)


def _read_fifo(file: FsPath, limit: int) -> bytes:
    """Up to ``limit`` bytes of a FIFO. Opened without waiting (with no writer a blocking
    ``open`` never returns); a writer already there (`<(cat p.yaml)`) or appearing within
    :data:`FIFO_WAIT_S` is read to its end, otherwise the pipe reads as empty."""
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + FIFO_WAIT_S
        while True:
            try:
                first = os.read(fd, limit)
            except BlockingIOError:  # a writer is there and has not written yet
                first = b""
                break
            if first:
                break
            if time.monotonic() >= deadline:  # end of file and no writer: nothing to read
                return b""
            time.sleep(0.02)
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as handle:
            return first + handle.read(limit - len(first))
    finally:
        os.close(fd)


def _read_capped(file: FsPath, shown: str) -> bytes:
    """The file's bytes, refusing devices and anything over :data:`MAX_PIPELINE_BYTES`."""
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise PipelineValidationError.whole_file(
            shown, f"pipeline file not found: {file.resolve()}"
        ) from None
    except OSError as exc:
        raise PipelineValidationError.whole_file(
            shown, f"cannot read pipeline file: {exc.strerror}"
        ) from None
    if stat.S_ISDIR(mode):
        raise PipelineValidationError.whole_file(shown, "expected a YAML file, found a directory")
    # Devices (/dev/zero, a terminal) and sockets never end or never hold a pipeline; pipes
    # (`--pipeline-file <(...)`, /dev/stdin) are allowed and read under the same cap.
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        kind = (
            "a character device"
            if stat.S_ISCHR(mode)
            else "a block device"
            if stat.S_ISBLK(mode)
            else "a socket or other special file"
        )
        raise PipelineValidationError.whole_file(
            shown,
            f"expected a regular YAML file (at most {MAX_PIPELINE_BYTES // 2**20} MiB), "
            f"found {kind}; pass the path of a .yaml file",
        )
    try:
        if stat.S_ISFIFO(mode):
            raw = _read_fifo(file, MAX_PIPELINE_BYTES + 1)
        else:
            with file.open("rb") as handle:
                raw = handle.read(MAX_PIPELINE_BYTES + 1)  # never more than the cap
    except OSError as exc:
        raise PipelineValidationError.whole_file(
            shown, f"cannot read pipeline file: {exc.strerror}"
        ) from None
    if len(raw) > MAX_PIPELINE_BYTES:
        raise PipelineValidationError.whole_file(
            shown,
            f"pipeline file is larger than the {MAX_PIPELINE_BYTES // 2**20} MiB limit "
            f"(found more than {MAX_PIPELINE_BYTES} bytes); a pipeline file holds only the "
            "pipeline's description: keep data in input files",
        )
    return raw


def read_pipeline_file(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    overrides: Sequence[Override] = (),
) -> tuple[Any, SourceInfo, list[Problem]]:
    """Read and safely parse a pipeline file, apply ``overrides`` (``--set``), expand its
    ``${env:...}`` and ``${params.x}`` references (the environment from ``environ``, default the
    process's); return data, source info and the YAML and reference problems."""
    file = FsPath(path)
    shown = str(path)
    raw = _read_capped(file, shown)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineValidationError.whole_file(
            shown, f"pipeline file is not UTF-8 text (byte {exc.start})"
        ) from None
    loaded = load_yaml(text, shown)
    positions = {p: (pos.line, pos.column) for p, pos in loaded.positions.items()}
    landed = {}
    if overrides:
        from trakt.model.overrides import apply_all  # it uses this module's key lists

        landed = {p: o.shown for p, o in apply_all(loaded.data, overrides).items()}
    # Expanded here, before any check, so that every check sees the values a run will use;
    # the structure (and so every position) stays as written.
    expanded = interpolate(loaded.data, positions, shown, environ)
    source = SourceInfo(
        file=shown,
        sha256=hashlib.sha256(raw).hexdigest(),
        positions=positions,
        expanded=expanded.expanded,
        overridden=landed,
    )
    return expanded.data, source, [*loaded.problems, *expanded.problems]
