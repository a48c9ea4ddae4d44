"""``trakt graph`` and ``trakt schema`` through ``trakt.cli.main`` (in process): what they
write to stdout or ``-o FILE``, their exit codes and stderr for bad pipelines and paths."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, forget_package
from trakt.cli import COMMANDS, main
from trakt.model.schema import pipeline_json_schema
from trakt.model.yaml_loader import load_yaml

STREAM_DEMO = REPO / "examples" / "stream_demo" / "pipeline.yaml"


@pytest.fixture(autouse=True)
def _forget_example_steps() -> Iterator[None]:
    yield
    forget_package("steps")  # every example's step package is named `steps`


def test_commands_are_listed() -> None:
    assert {"trakt.commands.graph", "trakt.commands.schema"} <= set(COMMANDS)


def test_graph_prints_mermaid_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(STREAM_DEMO)]) == 0

    out = capsys.readouterr().out
    assert out.startswith("flowchart LR\n")
    assert '  step_0 -->|"records_norm"| step_1\n' in out


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_graph_writes_each_format_to_a_file(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / f"dag.{fmt}"

    assert main(["graph", str(STREAM_DEMO), "--format", fmt, "-o", str(target)]) == 0

    assert capsys.readouterr().out == ""
    text = target.read_text(encoding="utf-8")
    assert "totals_by_country" in text
    if fmt == "svg":
        assert ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"
    if fmt == "dot":
        assert text.startswith('digraph "stream_demo" {\n')


def test_graph_of_an_invalid_pipeline_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: broken\nsteps:\n  - id: s\n    uses: no_such_module_xyz\n")

    assert main(["graph", str(path), "-o", str(tmp_path / "dag.mmd")]) == 2

    captured = capsys.readouterr()
    assert "steps[0].uses" in captured.err
    assert "no_such_module_xyz" in captured.err
    assert not (tmp_path / "dag.mmd").exists()


def test_graph_to_an_unwritable_place_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "dag.svg"

    assert main(["graph", str(STREAM_DEMO), "--format", "svg", "-o", str(target)]) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"cannot write {target}: No such file or directory; check that")


def test_graph_refuses_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["graph", str(STREAM_DEMO), "--format", "png"])

    assert info.value.code == 2
    assert "invalid choice: 'png'" in capsys.readouterr().err


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0

    assert json.loads(capsys.readouterr().out) == pipeline_json_schema()


def test_schema_file_validates_the_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "trakt-pipeline.schema.json"

    assert main(["schema", "-o", str(target)]) == 0

    assert capsys.readouterr().out == ""
    schema = json.loads(target.read_text(encoding="utf-8"))
    for example in sorted(REPO.glob("examples/**/*.yaml")):
        jsonschema.validate(load_yaml(example.read_text(encoding="utf-8")).data, schema)
    with pytest.raises(jsonschema.ValidationError, match="'name' is a required property"):
        jsonschema.validate({"steps": []}, schema)
