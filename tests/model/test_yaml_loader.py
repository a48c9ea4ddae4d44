"""The safe YAML loader: positions, duplicate keys, refused tags, alias bombs, syntax errors."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from trakt import load_pipeline_from_yaml
from trakt.errors import PipelineValidationError, Problem
from trakt.model.yaml_loader import MAX_NODES, Position, format_path, load_yaml


def _write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _only(problems: list[Problem] | tuple[Problem, ...]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- positions -------------------------------------------------------------------------------


def test_positions_recorded_for_keys_and_list_items() -> None:
    text = (
        "name: demo\n"  # 1
        "inputs:\n"  # 2
        "  src:\n"  # 3
        "    uri: a.csv\n"  # 4
        "steps:\n"  # 5
        "  - id: first\n"  # 6
        "    uses: pkg.first\n"  # 7
        "  -   id: second\n"  # 8
        "      uses: pkg.second\n"  # 9
        "  - plain\n"  # 10
    )
    loaded = load_yaml(text, "p.yaml")

    assert loaded.problems == []
    pos = loaded.positions
    assert pos[("name",)] == Position(1, 1)
    assert pos[("inputs",)] == Position(2, 1)
    assert pos[("inputs", "src")] == Position(3, 3)
    assert pos[("inputs", "src", "uri")] == Position(4, 5)
    assert pos[("steps",)] == Position(5, 1)
    # a list item is located where its node starts (after "- ")
    assert pos[("steps", 0)] == Position(6, 5)
    assert pos[("steps", 0, "id")] == Position(6, 5)
    assert pos[("steps", 0, "uses")] == Position(7, 5)
    assert pos[("steps", 1)] == Position(8, 7)
    assert pos[("steps", 1, "uses")] == Position(9, 7)
    assert pos[("steps", 2)] == Position(10, 5)


def test_positions_in_flow_collections() -> None:
    text = "steps:\n  - {id: a, with: {input: x, output: y}}\n  - [1, 2]\n"
    loaded = load_yaml(text)

    assert loaded.data == {"steps": [{"id": "a", "with": {"input": "x", "output": "y"}}, [1, 2]]}
    assert loaded.positions[("steps", 0, "id")] == Position(2, 6)
    assert loaded.positions[("steps", 0, "with", "output")] == Position(2, 30)
    assert loaded.positions[("steps", 1, 1)] == Position(3, 9)


def test_plain_scalars_are_constructed_safely() -> None:
    loaded = load_yaml("a: 1\nb: 2.5\nc: true\nd: null\ne: '007'\nf: [x, 2]\n")

    assert loaded.problems == []
    assert loaded.data == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "007", "f": ["x", 2]}


def test_format_path() -> None:
    assert format_path(()) == "<root>"
    assert format_path(("steps", 2, "with", "input")) == "steps[2].with.input"
    assert format_path(("outputs", "datasets", 0)) == "outputs.datasets[0]"


# --- duplicate keys --------------------------------------------------------------------------


def test_duplicate_keys_are_reported_with_the_second_position() -> None:
    text = "name: one\nname: two\nsteps:\n  - id: a\n    uses: m\n    id: b\n"
    loaded = load_yaml(text, "dup.yaml")

    paths = {(p.path, p.line, p.column) for p in loaded.problems}
    assert paths == {("name", 2, 1), ("steps[0].id", 6, 5)}
    assert all("duplicate key" in p.message for p in loaded.problems)
    assert all(p.file == "dup.yaml" for p in loaded.problems)


def test_duplicate_key_in_pipeline_file_fails_validation(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: demo\nsteps: []\noutputs:\n  datasets: []\nsteps: []\n",  # line 5
    )

    with pytest.raises(PipelineValidationError, match=r"duplicate key 'steps'") as info:
        load_pipeline_from_yaml(path)

    problem = _only(info.value.problems)
    assert (problem.path, problem.line, problem.column) == ("steps", 5, 1)
    assert problem.file == str(path)


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object/apply:os.system ['touch {marker}']", "python/object/apply:os.system"),
        ("!!python/object/apply:os.system {{args: ['touch {marker}']}}", "python/object/apply"),
        ("!!python/name:os.system ''", "python/name:os.system"),
        ("!!python/object/new:builtins.dict {{a: 1}}", "python/object/new:builtins.dict"),
        ("!custom 'x'", "!custom"),
        ("!!set {{a, b}}", "tag:yaml.org,2002:set"),
    ],
)
def test_object_constructing_tags_are_refused(tmp_path: Path, value: str, tag: str) -> None:
    marker = tmp_path / "executed"
    text = "name: demo\nevil: " + value.format(marker=marker) + "\nafter: fine\n"

    loaded = load_yaml(text, "evil.yaml")

    problem = _only(loaded.problems)
    assert problem.path == "evil"
    assert (problem.line, problem.column) == (2, 7)
    assert tag in problem.message
    assert "is not allowed" in problem.message
    assert not marker.exists(), "the tag was executed"
    # the refused value never becomes a constructed object; the rest still loads
    assert loaded.data["evil"] in (None, {})
    assert loaded.data["after"] == "fine"


def test_python_tag_in_pipeline_is_a_validation_problem_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = _write(
        tmp_path,
        "name: demo\n"
        "inputs:\n"
        "  src:\n"
        f"    uri: !!python/object/apply:os.system ['touch {marker}']\n"
        "steps: []\n",
    )

    with pytest.raises(PipelineValidationError, match=r"python/object/apply:os\.system") as info:
        load_pipeline_from_yaml(path)

    assert not marker.exists()
    tag_problems = [p for p in info.value.problems if "is not allowed" in p.message]
    assert [(p.path, p.line, p.column) for p in tag_problems] == [("inputs.src.uri", 4, 10)]


# --- alias bombs -----------------------------------------------------------------------------


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for prev, cur in itertools.pairwise(names):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_rejected_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(PipelineValidationError, match=rf"more than {MAX_NODES} nodes") as info:
        load_yaml(_billion_laughs(), "bomb.yaml")
    elapsed = time.perf_counter() - start

    assert elapsed < 5.0
    problem = _only(info.value.problems)
    assert problem.path == "<root>"
    assert problem.file == "bomb.yaml"
    assert problem.line is not None


def test_alias_bomb_in_pipeline_file_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: demo\n" + _billion_laughs())

    start = time.perf_counter()
    with pytest.raises(PipelineValidationError, match=r"more than \d+ nodes \(YAML aliases\?\)"):
        load_pipeline_from_yaml(path)
    assert time.perf_counter() - start < 5.0


def test_moderate_alias_use_is_fine() -> None:
    text = "base: &b {uri: a.csv, combine_strategy: concat}\nx: *b\ny: *b\n"
    loaded = load_yaml(text)

    assert loaded.problems == []
    assert loaded.data["x"] == loaded.data["y"] == {"uri": "a.csv", "combine_strategy": "concat"}


def test_merge_keys_are_flattened() -> None:
    loaded = load_yaml("base: &b {uri: a.csv, format: csv}\nsrc:\n  <<: *b\n  uri: b.csv\n")

    assert loaded.problems == []
    assert loaded.data["src"] == {"uri": "b.csv", "format": "csv"}


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: " + "[" * 5000 + "]" * 5000 + "\n"],
    ids=["recursive-list", "recursive-mapping", "nested-5000"],
)
def test_recursive_or_absurdly_deep_document_is_invalid_not_crashing(text: str) -> None:
    # A self-referencing anchor would expand forever and 5000 nested lists are no pipeline;
    # either must be a validation problem, not a RecursionError escaping from the loader.
    with pytest.raises(PipelineValidationError) as info:
        load_yaml(text, "loop.yaml")

    assert info.value.problems[0].file == "loop.yaml"


# --- syntax errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("name: x\nsteps:\n  - id: a\n  uses: b\n", 4, "expected <block end>"),
        ("name: x\n  bad: [\n", 2, "mapping values are not allowed here"),
        ("name: demo\nuri: 'unterminated\n", 3, "unexpected end of stream"),
        ("name: demo\nsteps: *missing\n", 2, "undefined alias 'missing'"),
        ("name: x\n\tsteps: []\n", 2, "cannot start any token"),
    ],
)
def test_syntax_error_has_line_number(text: str, line: int, reason: str) -> None:
    with pytest.raises(PipelineValidationError, match=r"invalid YAML") as info:
        load_yaml(text, "bad.yaml")

    problem = _only(info.value.problems)
    assert problem.line == line
    assert reason in problem.message
    assert f"bad.yaml:{line}:" in str(info.value)
    assert info.value.fields["file"] == "bad.yaml"


def test_syntax_error_in_pipeline_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: demo\ninputs:\n  src: {uri: a.csv\nsteps: []\n")

    with pytest.raises(PipelineValidationError, match=r"invalid YAML") as info:
        load_pipeline_from_yaml(path)

    problem = _only(info.value.problems)
    assert problem.file == str(path)
    assert problem.line == 4
    assert info.value.exit_code == 2


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(PipelineValidationError, match=r"another document") as info:
        load_yaml("---\nname: a\n---\nname: b\n")
    assert _only(info.value.problems).line == 3


# --- document shape --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- id: a\n- id: b\n", "found a list"),
        ("just a string\n", "found a string ('just a string')"),
        ("42\n", "found a int (42)"),
        ("", "found nothing"),
        ("# only a comment\n", "found nothing"),
    ],
)
def test_document_that_is_not_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = _write(tmp_path, text)

    with pytest.raises(PipelineValidationError, match=r"must be a YAML mapping") as info:
        load_pipeline_from_yaml(path)

    problem = _only(info.value.problems)
    assert problem.path == "<root>"
    assert problem.file == str(path)
    assert found in problem.message
    assert "'name', 'inputs', 'steps' and 'outputs'" in problem.message


def test_non_scalar_mapping_key_is_a_problem() -> None:
    loaded = load_yaml("name: x\n? [a, b]\n: 1\n")

    problem = _only(loaded.problems)
    assert problem.line == 2
    assert "mapping keys must be plain scalars" in problem.message
    assert loaded.data == {"name": "x"}


def test_missing_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineValidationError, match=r"pipeline file not found"):
        load_pipeline_from_yaml(tmp_path / "nope.yaml")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineValidationError, match=r"expected a YAML file, found a directory"):
        load_pipeline_from_yaml(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))

    with pytest.raises(PipelineValidationError, match=r"not UTF-8 text \(byte 9\)"):
        load_pipeline_from_yaml(path)


def test_utf8_bom_is_accepted_and_positions_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: demo\nsteps: []\n")

    pipeline = load_pipeline_from_yaml(path)

    assert pipeline.name == "demo"
    assert pipeline.source.positions[("steps",)] == (2, 1)
