"""Whole-pipeline validation through ``trakt.load_pipeline_from_yaml``.

Every test writes its pipeline file and its step modules to ``tmp_path``; step modules live in
a package whose name is unique to the test (``PKG`` in the YAML texts), because ``sys.modules``
keeps modules between tests.
"""

from __future__ import annotations

import importlib
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trakt
from tests.conftest import Project as BaseProject
from tests.conftest import forget_package
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.errors import Problem
from trakt.model.model import Pipeline
from trakt.runtime.planning import plan_pipeline

DECLARED = """
def run(ctx, input, output, factor=2):
    return {"output": input}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""

CONVENTION = """
def run(ctx, input, output, factor=2):
    return {"output": input}
"""

STREAMING = """
def run(ctx, input, output):
    return {"output": input}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
"""

TWO_INPUTS = """
def run(ctx, left, right, output):
    return {"output": left}

run.declared_inputs = ["left", "right"]
run.declared_outputs = ["output"]
"""


class Project(BaseProject):
    """conftest's project, with the standard step modules and pipeline-loading helpers."""

    def standard_modules(self) -> None:
        self.step("declared", DECLARED)
        self.step("convention", CONVENTION)
        self.step("streaming", STREAMING)
        self.step("two_inputs", TWO_INPUTS)

    def write(self, text: str, name: str = "pipeline.yaml") -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text).lstrip("\n").replace("PKG", self.package))
        return path

    def load(self, text: str) -> Pipeline:
        return load_pipeline_from_yaml(self.write(text))

    def problems(self, text: str, match: str) -> tuple[Problem, ...]:
        """Load ``text`` expecting a PipelineValidationError matching ``match``."""
        with pytest.raises(PipelineValidationError, match=match) as info:
            self.load(text)
        return info.value.problems


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = Project(tmp_path)
    proj.standard_modules()
    yield proj
    forget_package(proj.package)


def _where(problems: tuple[Problem, ...]) -> list[tuple[str, int | None]]:
    return [(p.path, p.line) for p in problems]


def _one(problems: tuple[Problem, ...]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


VALID = """
name: demo
inputs:
  source__records:
    uri: records/*.csv
    combine_strategy: concat
steps:
  - id: double_amount
    uses: PKG.declared
    with:
      input: source__records
      output: records_norm
outputs:
  datasets:
    - name: final
      from: records_norm
"""


# --- a valid pipeline ------------------------------------------------------------------------


def test_valid_pipeline_loads(project: Project) -> None:
    pipeline = project.load(VALID)

    assert pipeline.name == "demo"
    assert pipeline.mode == "batch"
    assert pipeline.spec.steps[0].uses == f"{project.package}.declared"
    assert pipeline.spec.steps[0].with_ == {"input": "source__records", "output": "records_norm"}
    assert pipeline.spec.outputs.datasets[0].from_ == "records_norm"
    assert pipeline.source.file is not None and pipeline.source.file.endswith("pipeline.yaml")
    assert pipeline.source.sha256 is not None and len(pipeline.source.sha256) == 64
    plan = plan_pipeline(pipeline)
    assert [s.id for s in plan.steps] == ["double_amount"]
    assert dict(plan.steps[0].inputs) == {"input": "source__records"}


def test_steps_out_of_order_run_in_dag_order(project: Project) -> None:
    pipeline = project.load(
        """
        name: reordered
        inputs:
          src: {uri: src.csv}
        steps:
          - id: third
            uses: PKG.declared
            with: {input: second_out, output: third_out}
          - id: second
            uses: PKG.declared
            with: {input: first_out, output: second_out}
          - id: first
            uses: PKG.declared
            with: {input: src, output: first_out}
          - id: independent
            uses: PKG.convention
            with: {input: src, output: side}
        outputs:
          datasets:
            - {name: final, from: third_out}
            - {name: side, from: side}
        """
    )

    plan = plan_pipeline(pipeline)
    # topological order; among ready steps the one earlier in the file runs first
    assert [s.id for s in plan.steps] == ["first", "second", "third", "independent"]
    assert [s.index for s in plan.steps] == [2, 1, 0, 3]


# --- structural problems ---------------------------------------------------------------------


def test_unknown_key_with_did_you_mean(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            usees: PKG.declared
            with: {input: src, output: out}
        """,
        match=r"unknown key 'usees' \(did you mean 'uses'\?\)",
    )

    # the typo is one mistake: no separate "missing required key 'uses'"
    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("steps[0].usees", 6, 5)
    assert problem.message.endswith(
        "allowed keys: id, uses, with, mode, timeout_s, frame, stateful"
    )


def test_unknown_key_that_is_no_typo_and_missing_key_are_both_reported(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        steps:
          - id: s
            run: PKG.declared
        """,
        match=r"2 problems found",
    )

    assert [(p.path, p.line, p.message.split(";")[0]) for p in problems] == [
        ("steps[0].uses", 3, "missing required key 'uses'"),
        ("steps[0].run", 4, "unknown key 'run'"),
    ]


def test_typo_next_to_the_real_key_is_only_an_unknown_key(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.declared
            wiht: {factor: 3}
            with: {input: src, output: out}
        """,
        match=r"unknown key 'wiht' \(did you mean 'with'\?\)",
    )

    assert _where(problems) == [("steps[0].wiht", 7)]


@pytest.mark.parametrize(
    ("snippet", "path", "line", "hint"),
    [
        ("ouputs: {}\n", "ouputs", 4, "outputs"),
        ("inputs:\n  src: {uri: a.csv, combine: concat}\n", "inputs.src.combine", 5, None),
        ("inputs:\n  src:\n    uri: a.csv\n    fromat: csv\n", "inputs.src.fromat", 7, "format"),
        (
            "outputs:\n  datasets:\n    - {name: a, fro: b}\n",
            "outputs.datasets[0].fro",
            6,
            "from",
        ),
        ("execution: {mdoe: stream}\n", "execution.mdoe", 4, "mode"),
    ],
)
def test_unknown_key_in_every_section(
    project: Project, snippet: str, path: str, line: int, hint: str | None
) -> None:
    key = path.rsplit(".", 1)[-1]
    problems = project.problems(
        "name: demo\nsteps: []\n\n" + snippet, match=rf"unknown key '{re.escape(key)}'"
    )

    located = [p for p in problems if p.path == path]
    assert len(located) == 1, [str(p) for p in problems]
    assert located[0].line == line
    if hint:
        assert f"(did you mean '{hint}'?)" in located[0].message


def test_missing_keys(project: Project) -> None:
    problems = project.problems(
        """
        inputs:
          src: {combine_strategy: concat}
        steps:
          - id: s
            with: {input: src, output: out}
        outputs:
          datasets:
            - {from: out}
        """,
        match=r"missing required key",
    )

    assert _where(problems) == [
        ("name", None),
        ("inputs.src.uri", 2),
        ("steps[0].uses", 4),
        ("outputs.datasets[0].name", 8),
    ]
    assert all(p.message == f"missing required key '{p.path.split('.')[-1]}'" for p in problems)


def test_wrong_types_and_empty_values(project: Project) -> None:
    problems = project.problems(
        """
        name: ""
        inputs: [a, b]
        steps:
          - id: s
            uses: PKG.declared
            with: nope
        """,
        match=r"3 problems found",
    )

    assert [(p.path, p.line, p.message) for p in problems] == [
        ("name", 1, "must not be empty"),
        ("inputs", 2, "expected a mapping, found a list"),
        ("steps[0].with", 6, "expected a mapping, found a string ('nope')"),
    ]


def test_unknown_combine_strategy(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src:
            uri: src/*.csv
            combine_strategy: concatt
        steps: []
        """,
        match=r"expected one of 'concat', 'union' or 'latest', found 'concatt'",
    )

    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("inputs.src.combine_strategy", 5, 5)
    assert problem.message.endswith("(did you mean 'concat'?)")


def test_invalid_input_does_not_cause_follow_up_problems(project: Project) -> None:
    # The input is left out because of its bad combine_strategy; the step reading it must not
    # be reported as reading "an artifact that nothing produces" on top of that.
    problems = project.problems(
        """
        name: demo
        inputs:
          src:
            uri: src/*.csv
            combine_strategy: newest
        steps:
          - id: s
            uses: PKG.declared
            with: {input: src, output: out}
        outputs:
          datasets:
            - {name: final, from: out}
        """,
        match=r"found 'newest'",
    )

    assert _where(problems) == [("inputs.src.combine_strategy", 5)]


def test_invalid_step_mode(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.declared
            mode: fast
            with: {input: src, output: out}
        outputs:
          datasets:
            - {name: final, from: out}
        """,
        match=r"expected one of 'batch' or 'stream', found 'fast'",
    )

    assert _where(problems) == [("steps[0].mode", 7)]


# --- semantic problems -----------------------------------------------------------------------


def test_duplicate_step_ids(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: clean
            uses: PKG.declared
            with: {input: src, output: a}
          - id: clean
            uses: PKG.declared
            with: {input: a, output: b}
        """,
        match=r"duplicate step id 'clean' \(first used by steps\[0\]\)",
    )

    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("steps[1].id", 8, 5)


def test_artifact_read_but_never_produced(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          source__records: {uri: src.csv}
        steps:
          - id: clean
            uses: PKG.declared
            with:
              input: source__record
              output: cleaned
        outputs:
          datasets:
            - {name: final, from: cleaned}
        """,
        match=r"reads artifact 'source__record', which nothing produces "
        r"\(did you mean 'source__records'\?\)",
    )

    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("steps[0].with.input", 8, 7)
    assert problem.message.endswith("known artifacts: cleaned, source__records")


def test_artifact_produced_twice(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
          other: {uri: other.csv}
        steps:
          - id: one
            uses: PKG.declared
            with: {input: other, output: result}
          - id: two
            uses: PKG.declared
            with:
              input: other
              output: result
          - id: three
            uses: PKG.convention
            with: {input: result, output: src}
        """,
        match=r"produced twice",
    )

    assert [(p.path, p.line, p.message) for p in problems] == [
        (
            "steps[1].with.output",
            13,
            "artifact 'result' is produced twice: by step 'one' and by step 'two'; "
            "rename one of them",
        ),
        (
            "steps[2].with.output",
            16,
            "artifact 'src' is produced twice: by inputs.src and by step 'three'; "
            "rename one of them",
        ),
    ]


def test_cycle_between_two_steps(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: start
            uses: PKG.declared
            with: {input: src, output: s}
          - id: ping
            uses: PKG.two_inputs
            with: {left: s, right: b, output: a}
          - id: pong
            uses: PKG.declared
            with: {input: a, output: b}
        """,
        match=r"steps form a cycle: ping -> pong -> ping",
    )

    problem = _one(problems)
    assert (problem.path, problem.line) == ("steps[1]", 8)


def test_step_reading_its_own_output(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        steps:
          - id: loop
            uses: PKG.declared
            with: {input: x, output: x}
        """,
        match=r"step 'loop' reads its own output",
    )

    assert _where(problems) == [("steps[0].with", 5)]


def test_with_key_not_a_binding_or_parameter(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: declared
            uses: PKG.declared
            with:
              input: src
              output: a
              factr: 3
          - id: convention
            uses: PKG.convention
            with:
              input: a
              output: b
              colour: red
        """,
        match=r"`with` key 'factr' is not a declared binding or parameter",
    )

    assert _where(problems) == [("steps[0].with.factr", 10), ("steps[1].with.colour", 16)]
    declared, convention = problems
    assert "(did you mean 'factor'?)" in declared.message
    assert declared.message.endswith(
        "inputs: ['input'], outputs: ['output'], parameters: ['factor']"
    )
    assert f"of {project.package}.convention.run" in convention.message
    assert "did you mean" not in convention.message


def test_declared_binding_missing_from_with(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.two_inputs
            with: {left: src, output: out}
        """,
        match=r"declares input 'right' but `with` does not bind it; add `right: <artifact>`",
    )

    assert _where(problems) == [("steps[0].with", 7)]


def test_output_from_nothing(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.declared
            with: {input: src, output: records_norm}
        outputs:
          datasets:
            - name: final
              from: records_nrom
        """,
        match=r"output 'final' is written from 'records_nrom', which nothing produces "
        r"\(did you mean 'records_norm'\?\)",
    )

    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("outputs.datasets[0].from", 11, 7)


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/etc/passwd", "a\\b", ".hidden", "x.."])
def test_invalid_dataset_names(project: Project, name: str) -> None:
    problems = project.problems(
        f"""
        name: demo
        inputs:
          src: {{uri: src.csv}}
        outputs:
          datasets:
            - name: '{name}'
              from: src
        """,
        match=rf"invalid dataset name '{re.escape(name)}'",
    )

    problem = _one(problems)
    assert (problem.path, problem.line) == ("outputs.datasets[0].name", 6)
    assert "no '/' or '..'" in problem.message


def test_valid_dataset_names_and_duplicate_name(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        outputs:
          datasets:
            - {name: final.v2, from: src}
            - {name: my-data_1, from: src}
            - {name: final.v2, from: src}
        """,
        match=r"dataset name 'final.v2' is used twice \(also datasets\[0\]\)",
    )

    assert _where(problems) == [("outputs.datasets[2].name", 8)]


def test_unknown_format(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          a:
            uri: a.data
            format: avro
          b:
            uri: b.data
            format: cvs
        """,
        match=r"unknown format 'avro'; known: csv, ",
    )

    assert _where(problems) == [("inputs.a.format", 5), ("inputs.b.format", 8)]
    assert "unknown format 'cvs' (did you mean 'csv'?)" in problems[1].message


def test_unknown_csv_option(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src:
            uri: src.csv
            options:
              sepp: ";"
        """,
        match=r"unknown csv option 'sepp' \(did you mean 'sep'\?\); known options: ",
    )

    problem = _one(problems)
    assert (problem.path, problem.line) == ("inputs.src.options", 5)


def test_sheet_only_for_xlsx(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv, sheet: Sheet1}
        """,
        match=r"'sheet' applies to xlsx inputs, not csv",
    )

    assert _where(problems) == [("inputs.src.sheet", 3)]


def test_unresolvable_uses_lists_attempts(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.nothere
            with: {input: src, output: out}
        """,
        match=r"cannot resolve uses '.*\.nothere'",
    )

    problem = _one(problems)
    assert (problem.path, problem.line, problem.column) == ("steps[0].uses", 6, 5)
    pkg = project.package
    message = problem.message
    assert f"alias '{pkg}.nothere': not registered" in message
    assert f"module '{pkg}.nothere' exporting run(): no module named '{pkg}.nothere'" in message
    assert f"function 'nothere' in module '{pkg}': module '{pkg}' has no attribute" in message
    assert str(project.root.resolve()) in message
    assert "register an alias with trakt.register_step" in message


def test_unresolvable_step_does_not_cause_follow_up_problems(project: Project) -> None:
    # Only the unresolvable `uses` is wrong; the next step reading its output is fine.
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: one
            uses: PKG.missing_step
            with: {input: src, output: mid}
          - id: two
            uses: PKG.declared
            with: {input: mid, output: out}
        outputs:
          datasets:
            - {name: final, from: out}
        """,
        match=r"cannot resolve uses",
    )

    assert _where(problems) == [("steps[0].uses", 6)]


# --- stream mode -----------------------------------------------------------------------------


def test_stream_mode_needs_stream_capable_steps(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        execution:
          mode: stream
        inputs:
          src: {uri: src.csv}
        steps:
          - id: streams
            uses: PKG.streaming
            with: {input: src, output: a}
          - id: batch_only
            uses: PKG.declared
            with: {input: a, output: b}
          - id: deliberate
            uses: PKG.declared
            mode: batch
            with: {input: b, output: c}
        outputs:
          datasets:
            - {name: final, from: c}
        """,
        match=r"step 'batch_only' \(.*\.declared\.run\) is not stream-capable; "
        r"set run\.supports_stream = True",
    )

    problem = _one(problems)
    assert (problem.path, problem.line) == ("steps[1].uses", 11)
    assert "add `mode: batch` to this step" in problem.message


def test_stream_mode_with_stream_capable_steps_loads(project: Project) -> None:
    pipeline = project.load(
        """
        name: demo
        execution: {mode: stream}
        inputs:
          src: {uri: src.csv}
        steps:
          - id: s
            uses: PKG.streaming
            with: {input: src, output: out}
        outputs:
          datasets:
            - {name: final, from: out}
        """
    )

    assert pipeline.mode == "stream"
    assert plan_pipeline(pipeline).steps[0].function.supports_stream


# --- many problems at once -------------------------------------------------------------------


FIVE_MISTAKES = """
name: five_mistakes
inputs:
  src:
    uri: src.csv
    format: avro
steps:
  - id: clean
    uses: PKG.declared
    mode: fast
    with: {input: src, output: cleaned}
  - id: enrich
    uses: PKG.declared
    with:
      input: cleaned
      output: enriched
      factr: 3
  - id: report
    uses: PKG.declared
    with:
      input: enrichd
      output: reported
outputs:
  datasets:
    - name: ../final
      from: reported
"""


def test_five_mistakes_reported_at_once(project: Project) -> None:
    with pytest.raises(PipelineValidationError, match=r"5 problems found") as info:
        project.load(FIVE_MISTAKES)

    problems = info.value.problems
    assert [(p.path, p.line) for p in problems] == [
        ("inputs.src.format", 5),
        ("steps[0].mode", 9),
        ("steps[1].with.factr", 16),
        ("steps[2].with.input", 20),
        ("outputs.datasets[0].name", 24),
    ]
    expected = [
        "unknown format 'avro'",
        "expected one of 'batch' or 'stream', found 'fast'",
        "`with` key 'factr' is not a declared binding or parameter",
        "reads artifact 'enrichd', which nothing produces (did you mean 'enriched'?)",
        "invalid dataset name '../final'",
    ]
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem.message
    file = str(project.root / "pipeline.yaml")
    assert all(p.file == file for p in problems)
    rendered = str(info.value)
    for line in (5, 9, 16, 20, 24):
        assert f"{file}:{line}:" in rendered
    data = info.value.to_dict()
    assert data["type"] == "PipelineValidationError"
    assert [p["line"] for p in data["problems"]] == [5, 9, 16, 20, 24]
    assert info.value.exit_code == 2


def test_semantic_problems_after_a_left_out_step_keep_their_own_line(project: Project) -> None:
    # steps[0] is structurally invalid and left out; steps[1]'s problem must still point at
    # steps[1] (line 11), not at the index it would have once steps[0] is removed.
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        steps:
          - id: bad
            uses: PKG.declared
            mode: fast
            with: {input: src, output: a}
          - id: good
            uses: PKG.declared
            with: {input: a, output: b, factr: 3}
        """,
        match=r"factr",
    )

    assert _where(problems) == [("steps[0].mode", 7), ("steps[1].with.factr", 11)]


def test_dataset_problems_after_a_left_out_dataset_keep_their_own_line(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv}
        outputs:
          datasets:
            - {name: one, fro: src}
            - {name: a/b, from: src}
        """,
        match=r"invalid dataset name 'a/b'",
    )

    assert _where(problems) == [("outputs.datasets[0].fro", 6), ("outputs.datasets[1].name", 7)]


def test_problems_are_listed_in_file_order(project: Project) -> None:
    problems = project.problems(
        """
        name: demo
        inputs:
          src: {uri: src.csv, options: {bogus: 1}}
        steps:
          - id: s
            uses: PKG.declared
            with: {input: nope, output: out}
        outputs:
          datasets:
            - {name: final, from: missing}
        """,
        match=r"3 problems found",
    )

    lines = [p.line for p in problems]
    assert lines == sorted(lines) == [3, 7, 10]


# --- the Python workflow builder -------------------------------------------------------------


def _import(project: Project, monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    monkeypatch.syspath_prepend(str(project.root))
    return importlib.import_module(f"{project.package}.{name}")


def test_workflow_builder_equals_yaml(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.step(
        "funcs",
        """
        def double(ctx, input, output, factor=2):
            return {"output": input}

        double.declared_inputs = ["input"]
        double.declared_outputs = ["output"]
        """,
    )
    funcs = _import(project, monkeypatch, "funcs")

    from_yaml = project.load(
        """
        name: python_workflow
        inputs:
          source__records:
            uri: records/*.csv
            combine_strategy: union
        steps:
          - id: double_amount
            uses: PKG.funcs.double
            with: {input: source__records, output: records_norm, factor: 3}
          - id: again
            uses: PKG.declared
            with: {input: records_norm, output: twice}
        outputs:
          datasets:
            - {name: final, from: twice}
        """
    )
    again = {"input": "records_norm", "output": "twice"}
    built = (
        trakt.workflow("python_workflow")
        .input("source__records", uri="records/*.csv", combine_strategy="union")
        .step(
            "double_amount",
            run=funcs.double,
            with_={"input": "source__records", "output": "records_norm", "factor": 3},
        )
        .step("again", uses=f"{project.package}.declared", with_=again)
        .output("final", from_="twice")
        .build()
    )

    assert built == from_yaml
    assert built.spec == from_yaml.spec
    assert built.callables["double_amount"] is funcs.double
    assert [s.id for s in plan_pipeline(built).steps] == ["double_amount", "again"]

    different = (
        trakt.workflow("python_workflow")
        .input("source__records", uri="records/*.csv")
        .step(
            "double_amount",
            run=funcs.double,
            with_={"input": "source__records", "output": "records_norm", "factor": 3},
        )
        .step("again", uses=f"{project.package}.declared", with_=again)
        .output("final", from_="twice")
        .build()
    )
    assert different != from_yaml


def test_workflow_builder_reports_the_same_problems(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(project.root))
    with_ = {"input": "src", "output": "o", "factr": 3}
    with pytest.raises(PipelineValidationError, match=r"workflow 'wf': 3 problems") as info:
        (
            trakt.workflow("wf")
            .input("src", uri="src.csv", format="avro")
            .step("s", uses=f"{project.package}.declared", with_=with_)
            .output("../o", from_="o")
            .build()
        )

    problems = info.value.problems
    assert [p.path for p in problems] == [
        "inputs.src.format",
        "outputs.datasets[0].name",
        "steps[0].with.factr",
    ]
    assert all(p.line is None and p.file is None for p in problems)
    assert "unknown format 'avro'" in problems[0].message
    assert "invalid dataset name '../o'" in problems[1].message
    assert "(did you mean 'factor'?)" in problems[2].message
