"""Planning of a pipeline's datasets: each input's and output's format, location and options,
checked statically (every problem at its YAML key). Formats are looked up by name or
extension in the registry; nothing here knows any particular one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trakt.errors import TraktError, UsageError, did_you_mean
from trakt.io import DEFAULT_FORMAT, get_format, input_format, known_formats, output_format
from trakt.io.locations import check_uri, redacted
from trakt.io.sql_urls import dialect, is_database
from trakt.model.model import InputSpec, OutputDataset, PipelineSpec, SchemaSpec
from trakt.runtime.collector import Collector, name_problem, shown_name
from trakt.runtime.database_plans import (
    TableSpec,
    database_input_problems,
    file_input_problems,
    file_output_problems,
    table_spec,
)

RESERVED_PREFIX = ".trakt-"  # the run's own files in the output dir (outdir.TEMP_PREFIX...)
REJECTED_DIR = "_rejected"


@dataclass(frozen=True)
class InputPlan:
    """One input: its YAML spec and the format its uri is read with."""

    artifact: str
    spec: InputSpec
    format: str


@dataclass(frozen=True)
class OutputPlan:
    """One output dataset: what it is written from, in which format, to which file."""

    name: str
    from_: str
    format: str
    path: str  # a file name in the output dir ("" for a database output)
    options: Mapping[str, Any] = field(default_factory=dict)  # writer options (with implied)
    schema_: SchemaSpec | None = None
    table: TableSpec | None = None  # a database output: where and how it is written


def capability(fmt: Any, name: str) -> bool:
    """An optional format capability (``takes_sheet``, ``sets_aside_bad_lines``)."""
    return bool(getattr(fmt, name, False))


def check_inputs(spec: PipelineSpec, out: Collector) -> dict[str, InputPlan]:
    """Each input's plan; problems (format, options, keys that do not apply) collected."""
    plans = {}
    for name, inp in spec.inputs.items():
        fmt, problems = input_problems(inp, inp.uri)
        for key, message in problems:
            out.add(("inputs", name, key), message)
        if fmt is not None:
            plans[name] = InputPlan(name, inp, fmt)
    return plans


def input_problems(
    inp: InputSpec, uri: str, default: str = DEFAULT_FORMAT
) -> tuple[str | None, list[tuple[str, str]]]:
    """The format ``uri`` is read with (a database's dialect for a database), and (YAML key,
    message) for each problem."""
    if is_database(uri):
        problems = database_input_problems(inp, uri)
        return (None if problems else dialect(uri)), problems
    location = check_uri(uri)  # an unknown scheme, a store's package not installed
    if location is not None:
        return None, [("uri", location)]
    try:
        fmt_name = input_format(uri, inp.format, default)
    except TraktError as exc:
        return None, [("uri", exc.message)]
    try:
        fmt = get_format(fmt_name)
    except TraktError:
        return None, [("format", _unknown(fmt_name))]
    problems = [("options", message) for message in fmt.check_options(inp.options)]
    problems += file_input_problems(inp)
    if inp.sheet is not None and not capability(fmt, "takes_sheet"):
        kinds = sorted({get_format(n).name for n in known_formats()} & _with("takes_sheet"))
        problems.append(("sheet", f"'sheet' applies to {', '.join(kinds)} inputs, not {fmt.name}"))
    if inp.on_bad_lines != "error" and not capability(fmt, "sets_aside_bad_lines"):
        problems.append(
            (
                "on_bad_lines",
                f"on_bad_lines: {inp.on_bad_lines} applies to CSV inputs "
                f"({', '.join(sorted(_with('sets_aside_bad_lines')))}: records with the wrong "
                f"number of fields), not to {fmt.name}; remove it, and declare a schema with "
                "on_violation: warn | quarantine to handle values that do not fit",
            )
        )
    return fmt.name, problems


def _with(name: str) -> set[str]:
    """The formats that have capability ``name``."""
    return {get_format(n).name for n in known_formats() if capability(get_format(n), name)}


def _unknown(name: str) -> str:
    return (
        f"unknown format '{name}'{did_you_mean(name, known_formats())}; "
        f"known: {', '.join(known_formats())}"
    )


def override_format(planned: InputPlan, uri: str) -> str:
    """The format an ``--input NAME=PATH`` file is read with (its own extension's, unless the
    input declares ``format:``), or :class:`UsageError` naming what does not fit."""
    fmt, problems = input_problems(planned.spec, uri, planned.format)
    if fmt is None or problems:
        where = f"--input {planned.artifact}={redacted(uri)}"
        raise UsageError("; ".join(f"{where}: {message}" for _, message in problems))
    return fmt


def check_input_names(spec: PipelineSpec, out: Collector) -> None:
    """Input names become file names (``_rejected/<name>.csv``, scratch copies)."""
    seen: dict[str, str] = {}
    for name in spec.inputs:
        problem = name_problem(name)
        if problem:
            out.add(
                ("inputs", name),
                f"invalid input name '{shown_name(name)}': {problem}; rename the input (it "
                "names <output-dir>/_rejected/<name> when rows are quarantined)",
            )
        first = seen.setdefault(name.casefold(), name)
        if first != name:
            out.add(
                ("inputs", name),
                f"input names '{first}' and '{name}' differ only in case; on case-insensitive "
                "file systems their quarantine files would be one file: rename one",
            )


def check_outputs(spec: PipelineSpec, out: Collector) -> list[OutputPlan]:
    """Each output's plan: format (declared, else the path's extension's, else the default),
    file name (default ``<name><the format's extension>``) and checked writer options."""
    plans: list[OutputPlan] = []
    names: dict[str, int] = {}  # casefolded name -> index
    paths: dict[str, int] = {}  # casefolded file name -> index
    tables: dict[str, int] = {}  # database and table -> index
    for i, dataset in enumerate(spec.outputs.datasets):
        where = ("outputs", "datasets", i)
        problem = name_problem(dataset.name)
        if problem:
            out.add(
                (*where, "name"),
                f"invalid dataset name '{shown_name(dataset.name)}': {problem}; it names "
                "<output-dir>/<name>.<extension> and the run's temporary files, so it must be "
                "a plain file name: rename the output",
            )
        # Case-insensitive file systems (macOS, Windows) would write both to one file.
        key = dataset.name.casefold()
        if key in names:
            first = spec.outputs.datasets[names[key]].name
            also = "" if first == dataset.name else f" as '{first}', differing only in case"
            out.add(
                (*where, "name"),
                f"dataset name '{dataset.name}' is used twice (also datasets[{names[key]}]{also})",
            )
        names.setdefault(key, i)
        plan = _output_plan(dataset, where, out)
        if plan is None:
            continue
        if plan.table is not None:  # a database output: one per table
            place = f"{redacted(plan.table.uri)} {plan.table.table}".casefold()
            taken = tables.setdefault(place, i)
            if taken != i:
                out.add(
                    (*where, "table"),
                    f"output '{dataset.name}' writes table {plan.table.table}, as output "
                    f"'{spec.outputs.datasets[taken].name}' (datasets[{taken}]) does: one "
                    "table, one output",
                )
            plans.append(plan)
            continue
        taken = paths.setdefault(plan.path.casefold(), i)
        other = spec.outputs.datasets[taken].name
        if taken != i and other.casefold() != key:  # (a name used twice is reported above)
            out.add(
                (*where, "path"),
                f"output '{dataset.name}' is written to '{plan.path}', as output '{other}' "
                f"(datasets[{taken}]) is (file names are compared ignoring case); give one of "
                "them another path",
            )
        plans.append(plan)
    return plans


def _output_plan(
    dataset: OutputDataset, where: tuple[str | int, ...], out: Collector
) -> OutputPlan | None:
    if dataset.uri is not None:
        spec, problems = table_spec(dataset)
        for key, message in problems:
            out.add((*where, key), message)
        if spec is None:
            return None
        return OutputPlan(
            dataset.name, dataset.from_, spec.dialect, "", {}, dataset.schema_, table=spec
        )
    for key, message in file_output_problems(dataset):
        out.add((*where, key), message)
    try:
        fmt_name = output_format(dataset.path, dataset.format)
    except TraktError as exc:
        out.add((*where, "path"), exc.message)
        return None
    try:
        fmt = get_format(fmt_name)
    except TraktError:
        out.add((*where, "format"), _unknown(fmt_name))
        return None
    path = dataset.path if dataset.path is not None else f"{dataset.name}{fmt.extensions[0]}"
    problem = _path_problem(path) if dataset.path is not None else None  # else: the name's
    if problem:
        out.add((*where, "path"), f"output '{dataset.name}': path '{path}': {problem}")
        return None
    for message in fmt.check_writer_options(dataset.options):
        out.add((*where, "options"), f"output '{dataset.name}': {message}")
    options = fmt.writer_options_for(path, dataset.options)
    return OutputPlan(dataset.name, dataset.from_, fmt.name, path, options, dataset.schema_)


def _path_problem(path: str) -> str | None:
    """Why ``path`` cannot be an output's file name in the output dir, or None."""
    if "/" in path or "\\" in path:
        return "an output is a file in the output dir: use a plain file name (no '/')"
    if path.startswith(RESERVED_PREFIX) or path == REJECTED_DIR:
        return f"names starting with '{RESERVED_PREFIX}' and '{REJECTED_DIR}' are Trakt's own"
    problem = name_problem(path)
    return f"{problem}; choose another path" if problem else None


def quarantine_owners(
    inputs: Mapping[str, InputPlan], outputs: Sequence[OutputPlan]
) -> list[tuple[str, str]]:
    """(name, 'input' or 'output') for every quarantine file a run may write."""
    found = []
    for artifact, planned in inputs.items():
        schema = planned.spec.schema_
        if planned.spec.on_bad_lines == "quarantine" or (
            schema is not None and schema.on_violation == "quarantine"
        ):
            found.append((artifact, "input"))
    for d in outputs:
        if d.schema_ is not None and d.schema_.on_violation == "quarantine":
            found.append((d.name, "output"))
    return found
