"""Partial runs: ``--select STEP[+]``, ``--from STEP``, ``--until STEP`` run a part of the
graph; ``--keep-artifacts`` makes a run keep its intermediate artifacts for them.

Steps chosen: ``STEP`` alone, ``STEP+`` it and everything downstream, ``+STEP`` everything
upstream and it (``--select`` is repeatable: the union); ``--from STEP`` is ``STEP+`` and
``--until STEP`` is ``+STEP``, each narrowing the selection. An artifact a chosen step reads
that no chosen step recomputes (and that is not a pipeline input) is read from the previous
run's output dir (``--from-run DIR``, default the output dir): ``_artifact.<name>.parquet``
kept by ``--keep-artifacts``, else the file of an output dataset written from it. Only the
outputs of recomputed artifacts are written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trakt.errors import UsageError, did_you_mean
from trakt.io import get_format
from trakt.io.artifact_cache import CACHE_FORMAT, cache_file_name
from trakt.model.model import InputSpec
from trakt.runtime.collector import name_problem, shown_name
from trakt.runtime.datasets import InputPlan, OutputPlan
from trakt.runtime.planning import ExecutionPlan, StepPlan, releases


class MissingArtifact(UsageError):
    """An artifact a partial run needs is neither recomputed nor found from a previous run."""


@dataclass(frozen=True)
class PartialRun:
    """What the command line asked for (empty: the whole pipeline)."""

    select: tuple[str, ...] = ()
    from_step: str | None = None
    until_step: str | None = None
    from_run: str | None = None  # a previous run's output dir (default: this run's)
    keep_artifacts: bool = False

    def partial(self) -> bool:
        """Whether only a part of the graph runs."""
        return bool(self.select or self.from_step or self.until_step)


@dataclass(frozen=True)
class Selection:
    """The plan a run executes, and what the manifest records about how it was cut."""

    plan: ExecutionPlan
    steps: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    reused: Mapping[str, str] = field(default_factory=dict)  # artifact -> file read
    kept: tuple[str, ...] = ()  # artifacts written as _artifact.<name>.parquet
    outputs_skipped: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The manifest's ``pipeline.selection``."""
        return {
            "steps": list(self.steps),
            "skipped_steps": list(self.skipped),
            "artifacts_from": dict(self.reused),
            "outputs_skipped": list(self.outputs_skipped),
            "kept_artifacts": list(self.kept),
        }

    def describe(self) -> list[str]:
        """Lines saying what runs and where reused artifacts come from."""
        lines = [f"steps run: {', '.join(self.steps) or 'none'}"]
        if self.skipped:
            lines.append(f"steps skipped: {', '.join(self.skipped)}")
        lines += [f"artifact '{a}' read from {path}" for a, path in self.reused.items()]
        if self.outputs_skipped:
            lines.append(f"outputs not written: {', '.join(self.outputs_skipped)}")
        return lines


def _closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _graph(steps: Sequence[StepPlan]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(downstream, upstream) edges between step ids."""
    producer = {a: s.id for s in steps for a in s.outputs.values()}
    down: dict[str, set[str]] = {s.id: set() for s in steps}
    up: dict[str, set[str]] = {s.id: set() for s in steps}
    for step in steps:
        for artifact in step.inputs.values():
            if artifact in producer:
                down[producer[artifact]].add(step.id)
                up[step.id].add(producer[artifact])
    return down, up


def chosen_steps(plan: ExecutionPlan, request: PartialRun) -> set[str]:
    """The ids of the steps a partial run recomputes; :class:`UsageError` for an unknown id."""
    ids = [s.id for s in plan.steps]
    down, up = _graph(plan.steps)

    def expand(flag: str, text: str) -> set[str]:
        name = text.strip().strip("+")
        if name not in ids:
            raise UsageError(
                f"{flag} {text}: the pipeline has no step '{name}'{did_you_mean(name, ids)}; "
                f"steps: {', '.join(ids) or 'none'}"
            )
        found = {name}
        if text.strip().endswith("+"):
            found |= _closure(name, down)
        if text.strip().startswith("+"):
            found |= _closure(name, up)
        return found

    chosen = set(ids)
    if request.select:
        chosen = set().union(*(expand("--select", s) for s in request.select))
    if request.from_step:
        chosen &= expand("--from", request.from_step.strip("+") + "+")
    if request.until_step:
        chosen &= expand("--until", "+" + request.until_step.strip("+"))
    if not chosen:
        raise UsageError(
            f"--from {request.from_step} --until {request.until_step}: no step is both "
            "downstream of the first and upstream of the second"
        )
    return chosen


def _find(artifact: str, plan: ExecutionPlan, run_dir: Path) -> tuple[Path, str] | None:
    """The file of a previous run holding ``artifact``, and its format."""
    kept = run_dir / cache_file_name(artifact)
    if kept.is_file():
        return kept, CACHE_FORMAT
    for output in plan.outputs:
        place = run_dir / output.path
        if output.from_ == artifact and output.table is None and place.is_file():
            return place, output.format
    return None


def _places(artifact: str, plan: ExecutionPlan, run_dir: Path) -> list[str]:
    names = [cache_file_name(artifact)]
    names += [o.path for o in plan.outputs if o.from_ == artifact and o.table is None]
    return [str(run_dir / name) for name in names]


def _kept_outputs(steps: Iterable[StepPlan]) -> list[OutputPlan]:
    fmt = get_format(CACHE_FORMAT)
    plans = []
    for step in steps:
        for artifact in step.outputs.values():
            name = cache_file_name(artifact)
            problem = name_problem(name)
            if problem:
                raise UsageError(
                    f"--keep-artifacts: artifact '{shown_name(artifact)}' of step '{step.id}' "
                    f"cannot name a file ({problem}); rename the artifact"
                )
            options = fmt.writer_options_for(name, {})
            plans.append(OutputPlan(name, artifact, fmt.name, name, options))
    return plans


def select(plan: ExecutionPlan, request: PartialRun, output_dir: str | Path) -> Selection:
    """The plan cut as ``request`` asks (reused artifacts turned into inputs read from the
    previous run's files); :class:`MissingArtifact` names any it cannot find, and where it
    looked."""
    if not request.partial():
        extra = _kept_outputs(plan.steps) if request.keep_artifacts else []
        if not extra:
            return Selection(plan, tuple(s.id for s in plan.steps))
        kept = tuple(o.from_ for o in extra)
        return Selection(
            replace(plan, outputs=(*plan.outputs, *extra)),
            tuple(s.id for s in plan.steps),
            kept=kept,
        )
    chosen = chosen_steps(plan, request)
    steps = tuple(s for s in plan.steps if s.id in chosen)
    made = {a for s in steps for a in s.outputs.values()}
    read = [a for s in steps for a in s.inputs.values()]
    run_dir = Path(request.from_run or output_dir).absolute()
    inputs: dict[str, InputPlan] = {a: p for a, p in plan.inputs.items() if a in read}
    reused: dict[str, str] = {}
    missing = []
    for artifact in dict.fromkeys(read):
        if artifact in made or artifact in plan.inputs:
            continue
        found = _find(artifact, plan, run_dir)
        if found is None:
            missing.append(artifact)
            continue
        path, fmt = found
        inputs[artifact] = InputPlan(artifact, InputSpec(uri=str(path), format=fmt), fmt)
        reused[artifact] = str(path)
    if missing:
        where = "; ".join(
            f"'{a}': looked for {', '.join(_places(a, plan, run_dir))}" for a in missing
        )
        raise MissingArtifact(
            f"the selected steps need artifact{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(a) for a in missing)}, which they do not recompute and no "
            f"previous run left ({where}); run the steps that make "
            f"{'them' if len(missing) > 1 else 'it'} once with --keep-artifacts (or widen "
            "the selection), or point --from-run at that run's output dir",
            artifact=missing[0],
        )
    outputs = [o for o in plan.outputs if o.from_ in made]
    extra = _kept_outputs(steps) if request.keep_artifacts else []
    cut = replace(
        plan,
        inputs=inputs,
        steps=steps,
        outputs=(*outputs, *extra),
        release_after=releases(list(steps)),
    )
    return Selection(
        cut,
        tuple(s.id for s in steps),
        tuple(s.id for s in plan.steps if s.id not in chosen),
        reused,
        tuple(o.from_ for o in extra),
        tuple(o.name for o in plan.outputs if o.from_ not in made),
    )
