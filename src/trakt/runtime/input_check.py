"""``trakt validate --input-dir``: every input resolves to files, and every file's header has
the columns its contract requires (read from headers and schemas only, never the data). Also
the warnings of ``trakt validate``: inputs nothing reads and artifacts nothing uses."""

from __future__ import annotations

import os
from collections.abc import Mapping

from trakt.errors import TraktError
from trakt.io.sql_urls import is_database
from trakt.runtime.planning import ExecutionPlan


def unused(plan: ExecutionPlan) -> list[str]:
    """Warnings: an input no step or output reads; an artifact a step makes that nothing uses."""
    read = {a for s in plan.steps for a in s.inputs.values()}
    read |= {o.from_ for o in plan.outputs}
    warnings = [
        f"input '{name}' is read by no step and written by no output; remove it, or use it"
        for name in plan.inputs
        if name not in read
    ]
    for step in plan.steps:
        for artifact in step.outputs.values():
            if artifact not in read:
                warnings.append(
                    f"artifact '{artifact}' (made by step '{step.id}') is read by no step and "
                    "written by no output"
                )
    return warnings


def check_input_files(
    plan: ExecutionPlan,
    input_dir: str | os.PathLike[str],
    overrides: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """(lines saying what each input resolved to, problems): files found, and for inputs with
    a ``schema:``, the required columns present in every file's header. ``input_dir`` is any
    a run takes (a path, ``file://``, a store URI); a store file's header is read from its
    start (:mod:`trakt.io.headers`)."""
    # the data libraries: only with --input-dir
    from trakt.io.headers import header_names
    from trakt.runtime.input_probe import open_source

    lines, problems = [], []
    for index, (artifact, planned) in enumerate(plan.inputs.items()):
        override = (overrides or {}).get(artifact)
        if is_database(override or planned.spec.uri):
            lines.append(f"input '{artifact}': a database (not checked)")
            continue
        try:
            source = open_source(plan, index, planned, input_dir, override)
        except (TraktError, OSError) as exc:
            problems.append(getattr(exc, "message", None) or str(exc))
            continue
        lines.append(f"input '{artifact}': {len(source.files)} file(s) found")
        schema = planned.spec.schema_
        if schema is None:
            continue
        required = [name for name, rule in schema.columns.items() if rule.required]
        for f in source.files:
            try:
                names = header_names(source.format, f, source.options, source.sheet)
            except (TraktError, OSError) as exc:
                problems.append(
                    f"input '{artifact}': cannot read the header of {f.shown}: "
                    f"{getattr(exc, 'message', None) or exc}"
                )
                continue
            missing = [c for c in required if c not in names]
            if missing:
                hint = getattr(source.format, "header_hint", None)  # a header split wrong
                fix = (hint(names, source.options) if hint else None) or (
                    "fix the file, or mark the column required: false"
                )
                problems.append(
                    f"input '{artifact}': {f.shown} lacks required column"
                    f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} (its columns: "
                    f"{', '.join(names)}); {fix}"
                )
    return lines, problems
