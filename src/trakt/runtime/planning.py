"""Validated pipeline model -> execution plan (the DAG in run order), collecting every problem.

The plan is what runners execute; it holds no data and no runner-specific state, so the local
runner and later ones (stream, Spark) share it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from trakt.errors import PipelineValidationError, Problem, TraktError, UsageError, did_you_mean
from trakt.io import get_format, input_format, known_formats
from trakt.model.loader import ParsedSpec
from trakt.model.model import InputSpec, OutputDataset, Pipeline, PipelineSpec, SourceInfo
from trakt.model.yaml_loader import format_path
from trakt.steps.binding import bind
from trakt.steps.resolve import StepFunction, describe, resolve_step

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


def _shown(name: str) -> str:
    return name if name.isprintable() else repr(name)[1:-1]


@dataclass(frozen=True)
class InputPlan:
    artifact: str
    spec: InputSpec
    format: str


@dataclass(frozen=True)
class StepPlan:
    index: int  # position in the YAML, not in run order
    id: str
    uses: str
    function: StepFunction
    inputs: Mapping[str, str]  # binding -> artifact
    outputs: Mapping[str, str]  # binding -> artifact
    params: Mapping[str, Any]
    mode: str | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class ExecutionPlan:
    pipeline: Pipeline
    inputs: Mapping[str, InputPlan]
    steps: tuple[StepPlan, ...]  # in execution order
    outputs: tuple[OutputDataset, ...]
    # After the step at this run position, these artifacts are no longer needed.
    release_after: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.pipeline.mode


class _Collector:
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


def _search_dirs(source: SourceInfo) -> list[Path]:
    dirs = [Path(source.file).resolve().parent] if source.file else []
    return [*dirs, Path.cwd()]


def _check_inputs(spec: PipelineSpec, out: _Collector) -> dict[str, InputPlan]:
    plans = {}
    for name, inp in spec.inputs.items():
        fmt, problems = _input_problems(inp, inp.uri)
        for key, message in problems:
            out.add(("inputs", name, key), message)
        if fmt is not None:
            plans[name] = InputPlan(name, inp, fmt)
    return plans


def _input_problems(
    inp: InputSpec, uri: str, default: str = "csv"
) -> tuple[str | None, list[tuple[str, str]]]:
    """The format ``uri`` is read with, and (YAML key, message) for each problem."""
    try:
        fmt_name = input_format(uri, inp.format, default)
    except TraktError as exc:
        return None, [("uri", exc.message)]
    try:
        fmt = get_format(fmt_name)
    except TraktError:
        return None, [
            (
                "format",
                f"unknown format '{fmt_name}'{did_you_mean(fmt_name, known_formats())}; "
                f"known: {', '.join(known_formats())}",
            )
        ]
    problems = [("options", message) for message in fmt.check_options(inp.options)]
    if inp.sheet is not None and fmt.name != "xlsx":
        problems.append(("sheet", f"'sheet' applies to xlsx inputs, not {fmt.name}"))
    if inp.on_bad_lines != "error" and fmt.name != "csv":
        problems.append(
            (
                "on_bad_lines",
                f"on_bad_lines: {inp.on_bad_lines} applies to CSV inputs (records with the "
                f"wrong number of fields), not to {fmt.name}; remove it, and declare a schema "
                "with on_violation: warn | quarantine to handle values that do not fit",
            )
        )
    return fmt.name, problems


def override_format(planned: InputPlan, uri: str) -> str:
    """The format an ``--input NAME=PATH`` file is read with (its own extension's, unless the
    input declares ``format:``), or :class:`UsageError` naming what does not fit."""
    fmt, problems = _input_problems(planned.spec, uri, planned.format)
    if fmt is None or problems:
        where = f"--input {planned.artifact}={uri}"
        raise UsageError("; ".join(f"{where}: {message}" for _, message in problems))
    return fmt


def _check_input_names(spec: PipelineSpec, out: _Collector) -> None:
    """Input names become file names (``_rejected/<name>.csv``, scratch copies)."""
    seen: dict[str, str] = {}
    for name in spec.inputs:
        problem = name_problem(name)
        if problem:
            out.add(
                ("inputs", name),
                f"invalid input name '{_shown(name)}': {problem}; rename the input (it "
                "becomes <output-dir>/_rejected/<name>.csv when rows are quarantined)",
            )
        first = seen.setdefault(name.casefold(), name)
        if first != name:
            out.add(
                ("inputs", name),
                f"input names '{first}' and '{name}' differ only in case; on case-insensitive "
                "file systems their quarantine files would be one file: rename one",
            )


def _resolve(pipeline: Pipeline, out: _Collector) -> list[tuple[int, Any, StepFunction | None]]:
    resolved = []
    seen: dict[str, int] = {}
    dirs = _search_dirs(pipeline.source)
    for index, step in enumerate(pipeline.spec.steps):
        if step.id in seen:
            out.add(
                ("steps", index, "id"),
                f"duplicate step id '{step.id}' (first used by steps[{seen[step.id]}]); "
                "step ids must be unique",
            )
        seen.setdefault(step.id, index)
        fn = pipeline.callables.get(step.id)
        try:
            function = describe(fn, step.uses) if fn else resolve_step(step.uses, dirs)
        except TraktError as exc:
            out.add(("steps", index, "uses"), exc.message)
            function = None
        resolved.append((index, step, function))
    return resolved


def _producers(
    spec: PipelineSpec,
    steps: Sequence[tuple[int, Any, StepFunction | None]],
    out: _Collector,
    unresolved: set[str],
) -> tuple[dict[str, str], list[StepPlan]]:
    """Bind every step and map each artifact to what produces it."""
    produced: dict[str, str] = {name: f"inputs.{name}" for name in spec.inputs}
    plans = []
    for index, step, function in steps:
        if function is None:  # already reported; its artifacts must not cause follow-ups
            unresolved.update(v for v in step.with_.values() if isinstance(v, str))
            continue
        bindings, problems = bind(step.with_, function, set(spec.inputs) | _declared(steps))
        for problem in problems:
            path: tuple[str | int, ...] = ("steps", index, "with")
            out.add(path + ((problem.key,) if problem.key else ()), problem.message)
        for binding, artifact in bindings.outputs.items():
            if artifact in produced:
                out.add(
                    ("steps", index, "with", binding),
                    f"artifact '{artifact}' is produced twice: by {produced[artifact]} and by "
                    f"step '{step.id}'; rename one of them",
                )
            else:
                produced[artifact] = f"step '{step.id}'"
        plans.append(
            StepPlan(
                index,
                step.id,
                step.uses,
                function,
                bindings.inputs,
                bindings.outputs,
                bindings.params,
                step.mode,
                step.timeout_s,
            )
        )
    return produced, plans


def _declared(steps: Iterable[tuple[int, Any, StepFunction | None]]) -> set[str]:
    names: set[str] = set()
    for _, step, fn in steps:
        if fn is not None and fn.is_declared:
            values = (step.with_.get(b) for b in (fn.declared_outputs or ()))
            names.update(v for v in values if isinstance(v, str))
    return names


def _check_reads(
    plans: Sequence[StepPlan],
    spec: PipelineSpec,
    produced: Mapping[str, str],
    ignore: set[str],
    out: _Collector,
) -> None:
    for plan in plans:
        for binding, artifact in plan.inputs.items():
            if artifact not in produced and artifact not in ignore:
                out.add(
                    ("steps", plan.index, "with", binding),
                    f"step '{plan.id}' reads artifact '{artifact}', which nothing produces"
                    f"{did_you_mean(artifact, [*produced, *ignore])}; known artifacts: "
                    f"{', '.join(sorted(produced)) or 'none'}",
                )
    names: dict[str, int] = {}  # casefolded name -> index
    for i, dataset in enumerate(spec.outputs.datasets):
        if dataset.from_ not in produced and dataset.from_ not in ignore:
            out.add(
                ("outputs", "datasets", i, "from"),
                f"output '{dataset.name}' is written from '{dataset.from_}', which nothing "
                f"produces{did_you_mean(dataset.from_, produced)}",
            )
        problem = name_problem(dataset.name)
        if problem:
            out.add(
                ("outputs", "datasets", i, "name"),
                f"invalid dataset name '{_shown(dataset.name)}': {problem}; it becomes "
                "<output-dir>/<name>.csv, so it must be a plain file name: rename the output",
            )
        # Case-insensitive file systems (macOS, Windows) would write both to one file.
        key = dataset.name.casefold()
        if key in names:
            first = spec.outputs.datasets[names[key]].name
            also = "" if first == dataset.name else f" as '{first}', differing only in case"
            out.add(
                ("outputs", "datasets", i, "name"),
                f"dataset name '{dataset.name}' is used twice (also datasets[{names[key]}]{also})",
            )
        names.setdefault(key, i)


def _order(plans: Sequence[StepPlan], out: _Collector) -> list[StepPlan]:
    """Topological order; ties keep YAML order, so runs are deterministic."""
    producer = {a: p.index for p in plans for a in p.outputs.values()}
    by_index = {p.index: p for p in plans}
    deps = {
        p.index: {
            producer[a] for a in p.inputs.values() if a in producer and producer[a] != p.index
        }
        for p in plans
    }
    for p in plans:
        if any(producer.get(a) == p.index for a in p.inputs.values()):
            out.add(("steps", p.index, "with"), f"step '{p.id}' reads its own output")
    sorter = TopologicalSorter(deps)
    try:
        sorter.prepare()
    except CycleError:
        done = _acyclic_part(deps)
        stuck = [i for i in by_index if i not in done]
        cycle = _find_cycle(stuck, deps)
        names = " -> ".join(by_index[i].id for i in cycle)
        out.add(
            ("steps", cycle[0]),
            f"steps form a cycle: {names}; an artifact cannot depend on itself",
        )
        return [by_index[i] for i in sorted(done)]
    ordered: list[StepPlan] = []
    ready: list[int] = []
    while sorter.is_active():  # ties keep YAML order: the lowest index that is ready first
        for i in sorter.get_ready():
            heapq.heappush(ready, i)
        i = heapq.heappop(ready)
        ordered.append(by_index[i])
        sorter.done(i)
    return ordered


def _acyclic_part(deps: Mapping[int, set[int]]) -> set[int]:
    """The steps that depend on no cycle (those a run could still order)."""
    done: set[int] = set()
    while True:
        more = {i for i, d in deps.items() if i not in done and d <= done}
        if not more:
            return done
        done |= more


def _find_cycle(stuck: list[int], deps: Mapping[int, set[int]]) -> list[int]:
    path: list[int] = []
    node = stuck[0]
    while node not in path:
        path.append(node)
        node = next(d for d in sorted(deps[node]) if d in stuck)
    return [*path[path.index(node) :], node]


def _check_stream(plans: Sequence[StepPlan], spec: PipelineSpec, out: _Collector) -> None:
    if spec.execution.mode != "stream":
        return
    for plan in plans:
        if not plan.function.supports_stream and plan.mode != "batch":
            out.add(
                ("steps", plan.index, "uses"),
                f"step '{plan.id}' ({plan.function.reference}) is not stream-capable; set "
                "run.supports_stream = True and take chunk iterators, or add `mode: batch` to "
                "this step to materialize its inputs deliberately",
            )


def _releases(ordered: Sequence[StepPlan]) -> dict[int, tuple[str, ...]]:
    last_use: dict[str, int] = {}
    for pos, plan in enumerate(ordered):
        for artifact in (*plan.inputs.values(), *plan.outputs.values()):
            last_use[artifact] = pos
    release: dict[int, list[str]] = {}
    for artifact, pos in last_use.items():
        release.setdefault(pos, []).append(artifact)
    return {pos: tuple(sorted(names)) for pos, names in release.items()}


def check_pipeline(
    pipeline: Pipeline, parsed: ParsedSpec | None = None
) -> tuple[ExecutionPlan | None, list[Problem]]:
    """All semantic problems of a pipeline, and its plan when there are none.

    ``parsed`` (from the structural check) maps positions back to the YAML when invalid pieces
    were left out, and names artifacts those pieces referred to.
    """
    out = _Collector(pipeline.source, parsed)
    spec = pipeline.spec
    _check_input_names(spec, out)
    inputs = _check_inputs(spec, out)
    resolved = _resolve(pipeline, out)
    ignore = set(parsed.dropped_refs) if parsed else set()
    produced, plans = _producers(spec, resolved, out, ignore)
    _check_reads(plans, spec, produced, ignore, out)
    ordered = _order(plans, out)
    _check_stream(plans, spec, out)
    if out.problems:
        return None, out.problems
    plan = ExecutionPlan(
        pipeline=pipeline,
        inputs=inputs,
        steps=tuple(ordered),
        outputs=tuple(spec.outputs.datasets),
        release_after=_releases(ordered),
    )
    return plan, []


def plan_pipeline(pipeline: Pipeline) -> ExecutionPlan:
    """The execution plan, or :class:`PipelineValidationError` listing every problem."""
    plan, problems = check_pipeline(pipeline)
    if plan is None:
        raise PipelineValidationError(problems, file=pipeline.source.file)
    return plan
