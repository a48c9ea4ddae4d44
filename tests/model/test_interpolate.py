"""``${env:VAR}`` references in pipeline files: expanded at load, problems collected and located,
values from the environment never shown in messages."""

from __future__ import annotations

import csv
import datetime
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import DOUBLE, Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.cli import main as trakt_cli
from trakt.model.interpolate import conceal_text, escape, interpolate
from trakt.model.loader import read_pipeline_file
from trakt.run_local import main as run_local

PARAM_STEP = """
def run(ctx, input, output, label="none", tags=()):
    frame = input.copy()
    frame["label"] = label + ":" + "+".join(tags)
    return {"output": frame}

run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def _read(tmp_path: Path, text: str) -> object:
    data, _, problems = read_pipeline_file(_write(tmp_path, text))
    assert problems == [], [str(p) for p in problems]
    return data


def _problems(tmp_path: Path, text: str) -> list[str]:
    _, _, problems = read_pipeline_file(_write(tmp_path, text))
    return [str(p) for p in problems]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TK_DIR", "TK_LABEL", "TK_TAG", "TK_UNSET", "TK_OTHER", "TK_EMPTY", "TK_PW"):
        monkeypatch.delenv(name, raising=False)


# --- expansion -------------------------------------------------------------------------------


def test_references_expand_in_nested_values_and_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_DIR", "/data/in")
    monkeypatch.setenv("TK_TAG", "blue")
    data = _read(
        tmp_path,
        """
        name: demo
        inputs:
          src:
            uri: ${env:TK_DIR}/records.csv
            options: {delimiter: ";", nested: {deeper: "x-${env:TK_TAG}-y"}}
        steps:
          - id: s
            uses: pkg.step
            with:
              tags: [a, "${env:TK_TAG}", [inner, "${env:TK_DIR}"]]
        """,
    )
    assert data == {
        "name": "demo",
        "inputs": {
            "src": {
                "uri": "/data/in/records.csv",
                "options": {"delimiter": ";", "nested": {"deeper": "x-blue-y"}},
            }
        },
        "steps": [
            {
                "id": "s",
                "uses": "pkg.step",
                "with": {"tags": ["a", "blue", ["inner", "/data/in"]]},
            }
        ],
    }


def test_defaults_apply_when_unset_or_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_EMPTY", "")
    monkeypatch.setenv("TK_OTHER", "set")
    data = _read(
        tmp_path,
        """
        a: ${env:TK_UNSET:-fallback}
        b: ${env:TK_EMPTY:-was empty}
        c: ${env:TK_OTHER:-unused}
        d: "[${env:TK_UNSET:-}]"
        e: "[${env:TK_EMPTY}]"
        f: ${env:TK_UNSET:-a:b-c $x}
        """,
    )
    assert data == {
        "a": "fallback",
        "b": "was empty",
        "c": "set",
        "d": "[]",
        "e": "[]",  # set but empty and no default: empty, as in the shell
        "f": "a:b-c $x",
    }


def test_double_dollar_brace_is_a_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TK_OTHER", "v")
    data = _read(
        tmp_path,
        """
        a: "$${env:TK_OTHER}"
        b: "cost $5, $$ and $${not a ref} and ${env:TK_OTHER}"
        c: "$$${env:TK_OTHER}"
        d: "$"
        """,
    )
    assert data == {
        "a": "${env:TK_OTHER}",
        "b": "cost $5, $$ and ${not a ref} and v",
        "c": "$${env:TK_OTHER}",  # "$" then "$${" (a literal "${"), read left to right
        "d": "$",
    }


def test_keys_and_non_string_values_are_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_OTHER", "v")
    data = _read(
        tmp_path,
        """
        "${env:TK_OTHER}": key
        n: 12
        f: 1.5
        b: true
        z: null
        d: 2024-01-31
        l: [1, false, null]
        """,
    )
    assert data == {
        "${env:TK_OTHER}": "key",
        "n": 12,
        "f": 1.5,
        "b": True,
        "z": None,
        "d": datetime.date(2024, 1, 31),
        "l": [1, False, None],
    }


def test_the_environment_can_be_given_explicitly(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: ${env:TK_OTHER}\n")
    data, source, problems = read_pipeline_file(path, environ={"TK_OTHER": "given"})
    assert (data, problems) == ({"name": "given"}, [])
    assert source.expanded[("name",)].written == "${env:TK_OTHER}"


# --- problems --------------------------------------------------------------------------------


def test_unset_variable_is_a_problem_with_file_line_path_and_fix(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        name: demo
        inputs:
          src:
            uri: ${env:TK_UNSET}/records.csv
        """,
    )
    with pytest.raises(PipelineValidationError, match="1 problem found") as info:
        load_pipeline_from_yaml(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(path), 4, "inputs.src.uri")
    assert str(problem) == (
        f"{path}:4:5: inputs.src.uri: environment variable TK_UNSET is not set (referenced as "
        "${env:TK_UNSET}); export TK_UNSET=... before running, or give a default: "
        "${env:TK_UNSET:-value}"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${param.x}", r"'\$\{param.x\}' is not a supported reference; use \$\{env:VAR\} or"),
        ("${env:1X}", r"'\$\{env:1X\}' is not a valid environment reference \(a name is"),
        ("${env:X-default}", r"'\$\{env:X-default\}' is not a valid environment reference"),
        ("${env:}", r"'\$\{env:\}' is not a valid environment reference"),
        ("${}", r"'\$\{\}' is not a supported reference"),
        (
            "${env:X",
            r"'\$\{env:X' has no closing '\}'; use \$\{env:VAR\} or \$\{env:VAR:-default\}",
        ),
    ],
)
def test_other_forms_are_problems_naming_the_supported_ones(
    tmp_path: Path, value: str, message: str
) -> None:
    path = _write(tmp_path, f"name: demo\nlabel: '{value}'\n")
    with pytest.raises(PipelineValidationError, match=message) as info:
        read_and_raise(path)
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("label", 2)
    assert problem.message.endswith("(write $${ for a literal ${)")


def test_every_problem_is_reported_at_once_with_the_others(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reference problems join the structural and semantic ones in one error, in file order."""
    monkeypatch.setenv("TK_DIR", str(project.input_dir))
    uses = project.step("param", PARAM_STEP)
    path = project.pipeline(
        f"""
        name: ${{env:TK_UNSET}}
        inputs:
          src:
            uri: ${{env:TK_DIR}}/${{params.file}}
            options: {{sep: "${{env:TK_OTHER}}${{env:TK_UNSET}}"}}
            combine_strategy: concatenate
        steps:
          - id: s
            uses: {uses}
            with:
              input: src
              output: out
              tags: ["${{env:1BAD}}"]
        outputs:
          datasets:
            - name: final
              from: out
        """
    )
    with pytest.raises(PipelineValidationError, match="6 problems found") as info:
        load_pipeline_from_yaml(path)
    found = [(p.path, p.line, p.message.split(" ")[0]) for p in info.value.problems]
    assert found == [
        ("name", 1, "environment"),
        ("inputs.src.uri", 4, "'${params.file}'"),
        ("inputs.src.options.sep", 5, "environment"),
        ("inputs.src.options.sep", 5, "environment"),
        ("inputs.src.combine_strategy", 6, "expected"),
        ("steps[0].with.tags[0]", 13, "'${env:1BAD}'"),
    ]
    assert "environment variable TK_OTHER is not set" in str(info.value)


def read_and_raise(path: Path) -> None:
    """Only the YAML and reference problems of ``path``, raised as validation raises them."""
    _, source, problems = read_pipeline_file(path)
    if problems:
        raise PipelineValidationError(problems, file=source.file)


# --- secrets ---------------------------------------------------------------------------------


def test_a_bad_value_from_the_environment_is_shown_as_its_reference(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_PW", "hunter2-secret")
    monkeypatch.setenv("TK_OTHER", "sometimes")
    uses = project.step("double", DOUBLE)
    path = project.pipeline(
        f"""
        name: demo
        inputs:
          src:
            uri: records.csv
            combine_strategy: ${{env:TK_PW}}
            max_bad_lines: "${{env:TK_PW}}%"
        steps:
          - id: s
            uses: {uses}
            timeout_s: ${{env:TK_OTHER}}
            with:
              input: src
              output: out
        outputs:
          datasets:
            - name: final
              from: out
              if_exists: x-${{env:TK_PW}}-y
        """
    )
    with pytest.raises(PipelineValidationError, match="4 problems found") as info:
        load_pipeline_from_yaml(path)
    shown = str(info.value)
    assert "hunter2" not in shown and "sometimes" not in shown
    assert "found '${env:TK_PW}'" in shown  # combine_strategy
    assert "between 0% and 100%, found '${env:TK_PW}%'" in shown  # max_bad_lines
    assert "found 'x-${env:TK_PW}-y'" in shown  # if_exists
    assert "found a string ('${env:TK_OTHER}')" in shown  # timeout_s
    assert "hunter2" not in repr(info.value.to_dict())


def test_cli_validate_never_prints_the_value(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TK_PW", "hunter2-secret")
    path = project.pipeline("name: demo\nexecution:\n  mode: ${env:TK_PW}\n")
    assert trakt_cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "execution.mode: expected one of 'batch' or 'stream', found '${env:TK_PW}'" in err
    assert "hunter2" not in err


def test_conceal_text_replaces_values_from_the_environment_only(tmp_path: Path) -> None:
    path = _write(tmp_path, "a: ${env:TK_PW}\nb: ${env:TK_UNSET:-public-default}\nc: ${env:X}\n")
    _, source, _ = read_pipeline_file(path, environ={"TK_PW": "s3cr3t-pw", "X": "abc"})
    text = "cannot connect with s3cr3t-pw; default public-default; short abc"
    # Short values are left alone anywhere but in their own value's problems.
    assert source.conceal_text(text) == (
        "cannot connect with ${env:TK_PW}; default public-default; short abc"
    )
    assert conceal_text(text, {}) == text


# --- a run uses the expanded values ----------------------------------------------------------


def test_a_run_reads_and_passes_expanded_values(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.csv("records.csv", "id,amount\n1,10\n")
    monkeypatch.setenv("TK_DIR", str(project.input_dir))
    monkeypatch.setenv("TK_LABEL", "from-env")
    uses = project.step("param", PARAM_STEP)
    path = project.pipeline(
        f"""
        name: env_demo
        inputs:
          src:
            uri: ${{env:TK_DIR}}/records.csv
        steps:
          - id: s
            uses: {uses}
            with:
              input: src
              output: out
              label: ${{env:TK_LABEL}}
              tags: ["${{env:TK_UNSET:-dflt}}", "$${{literal}}"]
        outputs:
          datasets:
            - name: final
              from: out
        """
    )
    code = run_local(
        [
            "--pipeline-file",
            str(path),
            "--input-dir",
            str(project.input_dir),
            "--output-dir",
            str(project.output_dir),
        ]
    )
    assert code == 0
    with (project.output_dir / "final.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{"id": "1", "amount": "10", "label": "from-env:dflt+${literal}"}]


# --- properties ------------------------------------------------------------------------------


@given(st.text().filter(lambda t: "$" not in t))
def test_a_string_without_a_dollar_is_unchanged(text: str) -> None:
    result = interpolate({"k": text, "l": [text]}, {}, environ={})
    assert result.data == {"k": text, "l": [text]}
    assert result.problems == ()


@given(st.text(alphabet=st.sampled_from("${}ab:-e nv")))
def test_an_escaped_string_round_trips(text: str) -> None:
    result = interpolate({"k": escape(text)}, {}, environ={"ab": "SECRET"})
    assert result.data == {"k": text}
    assert result.problems == ()
