"""Validated pipeline model -> execution plan (the DAG in run order), collecting every problem.

The plan is what runners execute; it holds no data and no runner-specific state, so the local
runner and later ones (stream, Spark) share it.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from trakt.errors import PipelineValidationError, Problem, TraktError, did_you_mean
from trakt.model.loader import ParsedSpec
from trakt.model.model import FRAME_LIBRARIES, Pipeline, PipelineSpec, SourceInfo
from trakt.runtime.collector import Collector
from trakt.runtime.datasets import (
    InputPlan,
    OutputPlan,
    check_input_names,
    check_inputs,
    check_outputs,
)
from trakt.runtime.storage import check_storage_options
from trakt.steps.binding import bind
from trakt.steps.builtins.checks import StepColumns, check_step, contract_columns, normalize_with
from trakt.steps.builtins.spec import spec_of
from trakt.steps.resolve import StepFunction, describe, resolve_step


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
    frame: str = "pandas"  # the library its inputs arrive in: YAML ``frame:``, else run.frame


@dataclass(frozen=True)
class ExecutionPlan:
    pipeline: Pipeline
    inputs: Mapping[str, InputPlan]
    steps: tuple[StepPlan, ...]  # in execution order
    outputs: tuple[OutputPlan, ...]
    # After the step at this run position, these artifacts are no longer needed.
    release_after: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.pipeline.mode

    def graph(self) -> dict[str, Any]:
        """The manifest's ``graph``: inputs, each step's bindings (run order), outputs' sources."""
        return {
            "inputs": list(self.inputs),
            "steps": [
                {"id": s.id, "uses": s.uses, "inputs": dict(s.inputs), "outputs": dict(s.outputs)}
                for s in self.steps
            ],
            "outputs": [{"name": o.name, "from": o.from_} for o in self.outputs],
        }


def _search_dirs(source: SourceInfo) -> list[Path]:
    dirs = [Path(source.file).resolve().parent] if source.file else []
    return [*dirs, Path.cwd()]


def _resolve(pipeline: Pipeline, out: Collector) -> list[tuple[int, Any, StepFunction | None]]:
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
    out: Collector,
    unresolved: set[str],
) -> tuple[dict[str, str], list[StepPlan]]:
    """Bind every step and map each artifact to what produces it."""
    produced: dict[str, str] = {name: f"inputs.{name}" for name in spec.inputs}
    plans = []
    for index, step, function in steps:
        _check_frame(index, step, out)
        if function is None:  # already reported; its artifacts must not cause follow-ups
            unresolved.update(v for v in step.with_.values() if isinstance(v, str))
            continue
        builtin = spec_of(function.fn)
        with_ = normalize_with(builtin, step.with_) if builtin else step.with_
        bindings, problems = bind(with_, function, set(spec.inputs) | _declared(steps))
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
                # A built-in that needs every row (sort, sql) runs as `mode: batch` does.
                step.mode or ("batch" if builtin and builtin.batch_only else None),
                step.timeout_s,
                step.frame or function.frame,
            )
        )
    return produced, plans


def _check_frame(index: int, step: Any, out: Collector) -> None:
    """``frame:`` names a frame library."""
    if step.frame is not None and step.frame not in FRAME_LIBRARIES:
        allowed = ", ".join(f"'{f}'" for f in FRAME_LIBRARIES)
        out.add(
            ("steps", index, "frame"),
            f"step '{step.id}': frame must be one of {allowed}, found {step.frame!r}"
            f"{did_you_mean(str(step.frame), FRAME_LIBRARIES)}; it names the library the step's "
            "frames arrive in",
        )


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
    out: Collector,
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
    for i, dataset in enumerate(spec.outputs.datasets):
        if dataset.from_ not in produced and dataset.from_ not in ignore:
            out.add(
                ("outputs", "datasets", i, "from"),
                f"output '{dataset.name}' is written from '{dataset.from_}', which nothing "
                f"produces{did_you_mean(dataset.from_, produced)}",
            )


def _order(plans: Sequence[StepPlan], out: Collector) -> list[StepPlan]:
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


def _check_builtins(plans: Sequence[StepPlan], spec: PipelineSpec, out: Collector) -> None:
    """Built-ins' ``with:`` checked (steps/builtins/checks.py), in run order, so that the
    columns known of each artifact (from an input's contract) flow through them."""
    known = {name: contract_columns(i.schema_) for name, i in spec.inputs.items()}
    for plan in plans:
        builtin = spec_of(plan.function.fn)
        outputs: Mapping[str, tuple[str, ...] | None] = {}
        if builtin is not None:
            columns = StepColumns({b: known.get(a) for b, a in plan.inputs.items()}, plan.inputs)
            with_ = normalize_with(builtin, spec.steps[plan.index].with_)
            issues, outputs = check_step(builtin, with_, columns)
            for issue in issues:
                out.add(("steps", plan.index, "with", *issue.key), issue.message)
        for binding, artifact in plan.outputs.items():
            known[artifact] = outputs.get(binding)


def _check_stream(plans: Sequence[StepPlan], spec: PipelineSpec, out: Collector) -> None:
    for plan in plans:
        if spec.steps[plan.index].stateful and not plan.function.supports_stream:
            out.add(
                ("steps", plan.index, "stateful"),
                f"step '{plan.id}' ({plan.function.reference}) is not stream-capable, so "
                "`stateful: true` means nothing for it (it always sees its inputs whole); "
                "remove it, or make the step stream-capable (run.supports_stream = True)",
            )
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


def releases(ordered: Sequence[StepPlan]) -> dict[int, tuple[str, ...]]:
    """After which run position each artifact is no longer needed."""
    last_use: dict[str, int] = {}
    for pos, plan in enumerate(ordered):
        for artifact in (*plan.inputs.values(), *plan.outputs.values()):
            last_use[artifact] = pos
    release: dict[int, list[str]] = {}
    for artifact, pos in last_use.items():
        release.setdefault(pos, []).append(artifact)
    return {pos: tuple(sorted(names)) for pos, names in release.items()}


# A pipeline's plan, kept as long as the pipeline object lives (nothing outlives it).
_plans: weakref.WeakKeyDictionary[Pipeline, ExecutionPlan] = weakref.WeakKeyDictionary()


def check_pipeline(
    pipeline: Pipeline, parsed: ParsedSpec | None = None
) -> tuple[ExecutionPlan | None, list[Problem]]:
    """All semantic problems of a pipeline, and its plan when there are none.

    ``parsed`` (from the structural check) maps positions back to the YAML when invalid pieces
    were left out, and names artifacts those pieces referred to.
    """
    out = Collector(pipeline.source, parsed)
    spec = pipeline.spec
    check_input_names(spec, out)
    inputs = check_inputs(spec, out)
    outputs = check_outputs(spec, out)
    check_storage_options(spec, out)
    resolved = _resolve(pipeline, out)
    ignore = set(parsed.dropped_refs) if parsed else set()
    produced, plans = _producers(spec, resolved, out, ignore)
    _check_reads(plans, spec, produced, ignore, out)
    ordered = _order(plans, out)
    _check_builtins(ordered, spec, out)
    _check_stream(plans, spec, out)
    if out.problems:
        return None, out.problems
    plan = _plans[pipeline] = ExecutionPlan(
        pipeline=pipeline,
        inputs=inputs,
        steps=tuple(ordered),
        outputs=tuple(outputs),
        release_after=releases(ordered),
    )
    return plan, []


def plan_pipeline(pipeline: Pipeline) -> ExecutionPlan:
    """The execution plan, or :class:`PipelineValidationError` listing every problem.

    Planned once per pipeline object: the plan validation made is the one that runs."""
    plan = _plans.get(pipeline)
    if plan is not None:
        return plan
    plan, problems = check_pipeline(pipeline)
    if plan is None:
        raise PipelineValidationError(problems, file=pipeline.source.file)
    return plan
