"""The JSON Schema of pipeline files (trakt/model/schema.py), checked with ``jsonschema``.

It rejects, with a location, every structurally invalid pipeline of the validation test suite
(the YAML texts of tests/model/test_validation.py and its friends that pydantic rejects), and
accepts every example and every text pydantic accepts.

What a JSON Schema cannot catch, so ``trakt validate`` alone does: problems that need the
whole pipeline or its code (a step that does not resolve, a binding the function lacks, an
artifact nothing produces or produced twice, a cycle, duplicate step ids, invalid input or
output names, unknown formats and format options, database keys that do not fit the uri) and
the models' own validators (``max_bad_lines`` outside 0..1 or not a percentage, ``min``/``max``
on a string or bool column). Texts pydantic accepts are checked to be accepted by the schema;
those only the models' validators reject (pydantic's ``value_error``) are accepted too, as the
last test shows.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from tests.conftest import REPO
from trakt.errors import TraktError
from trakt.model.model import PipelineSpec
from trakt.model.schema import DIALECT, pipeline_json_schema
from trakt.model.yaml_loader import load_yaml

SUITES = [
    REPO / "tests/model/test_validation.py",
    REPO / "tests/model/test_interpolate.py",
    REPO / "tests/model/test_yaml_loader.py",
    REPO / "tests/runtime/test_contracts.py",
    REPO / "tests/reliability/test_contract_values.py",
    REPO / "tests/steps/test_resolution.py",
    REPO / "tests/runtime/test_database_plans.py",
]
TOP_KEYS = {"name", "inputs", "steps", "outputs", "execution"}


def pipeline_texts(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, data) for every string constant of ``path`` that is a pipeline document."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = textwrap.dedent(node.value).replace("PKG", "pkg")
        if "\n" not in text:
            continue
        try:
            data = load_yaml(text).data
        except TraktError:
            continue
        if isinstance(data, dict) and set(data) & TOP_KEYS:
            yield f"{path.relative_to(REPO)}:{node.lineno}", data


CASES = [case for suite in SUITES for case in pipeline_texts(suite)]


def pydantic_errors(data: Any) -> list[dict[str, Any]]:
    try:
        PipelineSpec.model_validate(data)
    except ValidationError as exc:
        return [dict(e) for e in exc.errors()]
    return []


# The models' own validators raise value_error: no JSON Schema keyword expresses them.
STRUCTURAL = [
    (w, d) for w, d in CASES if any(e["type"] != "value_error" for e in pydantic_errors(d))
]
ACCEPTED = [(w, d) for w, d in CASES if not pydantic_errors(d)]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = pipeline_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_the_suites_hold_both_kinds() -> None:
    assert len(STRUCTURAL) >= 25, [w for w, _ in STRUCTURAL]
    assert len(ACCEPTED) >= 30, len(ACCEPTED)


def test_schema_is_draft_2020_12_with_title_and_descriptions() -> None:
    schema = pipeline_json_schema()

    assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Trakt pipeline"
    assert schema["required"] == ["name"]
    assert set(schema["properties"]) == TOP_KEYS | {"storage_options", "params"}
    defs = schema["$defs"]
    assert "with" in defs["StepSpec"]["properties"]
    assert "from" in defs["OutputDataset"]["properties"]
    assert "schema" in defs["InputSpec"]["properties"]
    assert defs["StepSpec"]["description"] == "``steps[]``: one call of a step function."
    assert all(d.get("description") for d in defs.values()), [k for k, d in defs.items()]


@pytest.mark.parametrize("where, data", STRUCTURAL, ids=[w for w, _ in STRUCTURAL])
def test_schema_rejects_what_pydantic_rejects_with_a_location(
    validator: jsonschema.protocols.Validator, where: str, data: Any
) -> None:
    errors = list(validator.iter_errors(data))

    assert errors, f"{where}: the schema accepts a pipeline pydantic rejects"
    # Each error is located: the path of the mapping or value at fault, which is where (or
    # above where) pydantic locates a problem, its keys as written in YAML.
    locations = [tuple(e["loc"]) for e in pydantic_errors(data) if e["type"] != "value_error"]
    for error in errors:
        path = tuple(error.absolute_path)
        assert any(loc[: len(path)] == path for loc in locations), (where, error.json_path)


@pytest.mark.parametrize("where, data", ACCEPTED, ids=[w for w, _ in ACCEPTED])
def test_schema_accepts_what_pydantic_accepts(
    validator: jsonschema.protocols.Validator, where: str, data: Any
) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]

    assert errors == [], where


EXAMPLES = sorted(REPO.glob("examples/**/*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(REPO)) for p in EXAMPLES])
def test_schema_accepts_every_example(
    validator: jsonschema.protocols.Validator, path: Path
) -> None:
    data = load_yaml(path.read_text(encoding="utf-8")).data  # ${env:...} stays a string

    assert [e.message for e in validator.iter_errors(data)] == []
    assert len(EXAMPLES) >= 5


def test_an_error_names_its_place(validator: jsonschema.protocols.Validator) -> None:
    data = {
        "name": "demo",
        "steps": [{"id": "s", "uses": "m.f", "mode": "streaming"}],
        "outputs": {"datasets": [{"name": "o", "from": "x", "if_exists": "merge"}]},
    }

    found = sorted((e.json_path, e.message) for e in validator.iter_errors(data))

    assert [path for path, _ in found] == ["$.outputs.datasets[0].if_exists", "$.steps[0].mode"]
    assert found[0][1] == "'merge' is not one of ['fail', 'replace', 'append']"
    assert found[1][1].startswith("'streaming' is not valid")


VALIDATOR_ONLY = {
    "max_bad_lines above 1 as a float": {
        "name": "demo",
        "inputs": {"src": {"uri": "src.csv", "on_bad_lines": "skip", "max_bad_lines": 2.5}},
    },
    "max_bad_lines a string but no percentage": {
        "name": "demo",
        "inputs": {"src": {"uri": "src.csv", "max_bad_lines": "many"}},
    },
    "min on a string column": {
        "name": "demo",
        "inputs": {"src": {"uri": "a.csv", "schema": {"columns": {"c": {"min": 1}}}}},
    },
}


@pytest.mark.parametrize("data", VALIDATOR_ONLY.values(), ids=list(VALIDATOR_ONLY))
def test_the_models_own_validators_are_not_in_the_schema(
    validator: jsonschema.protocols.Validator, data: Any
) -> None:
    assert {e["type"] for e in pydantic_errors(data)} == {"value_error"}
    assert list(validator.iter_errors(data)) == []
