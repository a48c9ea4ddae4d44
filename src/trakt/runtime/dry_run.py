"""``--dry-run``: the plan of a run, printed: inputs resolved to their files (found and sized,
never read), the steps in run order with their mode, and the outputs with where they would go.
Nothing is read and nothing is written (not even the manifest)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from trakt.errors import TraktError
from trakt.io.locations import is_store, local_path, redacted
from trakt.io.sql_urls import is_database
from trakt.model.interpolate import param_text
from trakt.runtime.input_probe import open_source
from trakt.runtime.planning import ExecutionPlan, StepPlan
from trakt.runtime.selection import Selection


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _step_mode(plan: ExecutionPlan, step: StepPlan) -> str:
    if plan.mode != "stream":
        return "batch"
    if step.mode == "batch" or not step.function.supports_stream:
        return "batch (inputs materialized)"
    return "stream"


def input_lines(
    plan: ExecutionPlan, input_dir: str | os.PathLike[str], overrides: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """One line per input (its files and sizes), and the problems found resolving them;
    ``input_dir`` is any a run takes (a path, ``file://``, a store URI such as ``s3://``)."""
    lines, problems = [], []
    for index, (artifact, planned) in enumerate(plan.inputs.items()):
        override = overrides.get(artifact)
        uri = override or planned.spec.uri
        if is_database(uri):
            what = planned.spec.table or "a query"
            lines.append(f"  {artifact}: database {redacted(uri)} ({what}; not connected)")
            continue
        try:
            source = open_source(plan, index, planned, input_dir, override)
        except (TraktError, OSError) as exc:
            problems.append(getattr(exc, "message", str(exc)))
            continue
        files = ", ".join(f"{f.shown} ({_size(f.size)})" for f in source.files)
        total = _size(sum(f.size for f in source.files))
        count = len(source.files)
        lines.append(
            f"  {artifact}: {source.format.name}, {count} file{'s' if count != 1 else ''}, "
            f"{total}: {files}"
        )
    return lines, problems


def output_file(output_dir: str, name: str) -> str:
    """Where an output file would go, as the run names it: ``s3://b/out/final.csv`` under a
    store output dir (no password), a path under a local one (a ``file://`` URI's path)."""
    if is_store(output_dir):
        return f"{redacted(output_dir.rstrip('/'))}/{name}"
    return str(Path(local_path(output_dir)) / name)


def plan_lines(
    plan: ExecutionPlan,
    selection: Selection,
    input_dir: str | os.PathLike[str],
    output_dir: str,
    overrides: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    """The printed plan, and the problems (inputs not found) that would stop the run."""
    spec = plan.pipeline.spec
    lines = [f"pipeline '{spec.name}' ({plan.pipeline.source.file}), mode {plan.mode}"]
    if spec.params:
        shown = (f"{k}={param_text(v)}" for k, v in spec.params.items())
        lines.append("params: " + ", ".join(shown))
    if selection.skipped:
        lines += [f"partial run: {line}" for line in selection.describe()]
    found, problems = input_lines(plan, input_dir, overrides)
    lines += ["inputs:", *found]
    lines.append("steps, in run order:")
    for n, step in enumerate(plan.steps, 1):
        reads = ", ".join(step.inputs.values()) or "nothing"
        makes = ", ".join(step.outputs.values()) or "nothing"
        lines.append(
            f"  {n}. {step.id} ({step.uses}), {_step_mode(plan, step)}: reads {reads}; "
            f"makes {makes}"
        )
    lines.append(f"outputs, to {redacted(output_dir)}:")
    for out in plan.outputs:
        where = (
            f"table {out.table.table} in {redacted(out.table.uri)}"
            if out.table is not None
            else output_file(output_dir, out.path)
        )
        lines.append(f"  {out.name} ({out.format}) from {out.from_} -> {where}")
    lines.append("dry run: no data read, nothing written")
    return lines, problems
