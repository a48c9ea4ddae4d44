"""--set PATH=VALUE: paths by key, list index and step id; values parsed as YAML; bad paths
are usage errors naming what is there; set values are validated like the file's own."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.params_project import params_pipeline
from trakt import PipelineValidationError, load_pipeline
from trakt.errors import UsageError
from trakt.model.overrides import apply, parse_path, parse_set


def test_paths_parse_keys_indexes_and_ids() -> None:
    assert parse_path("steps[double_amount].with.factor") == (
        "steps",
        "[double_amount]",
        "with",
        "factor",
    )
    assert parse_path("outputs.datasets[0].path") == ("outputs", "datasets", 0, "path")
    with pytest.raises(UsageError, match=r"'' is not a key; write a YAML path"):
        parse_path("inputs..uri")


def test_values_are_yaml_scalars() -> None:
    assert parse_set("params.factor=3").value == 3
    assert parse_set("params.day=2026-01-02").value.isoformat() == "2026-01-02"
    assert parse_set("steps[0].with.cols=[a, b]").value == ["a", "b"]
    assert parse_set("inputs.x.uri=a=b.csv").value == "a=b.csv"
    with pytest.raises(UsageError, match=r"expected PATH=VALUE"):
        parse_set("params.factor")


def test_set_by_step_id_index_and_new_keys(project: Project) -> None:
    path = params_pipeline(project)
    pipeline = load_pipeline(
        path,
        [
            "steps[double_amount].with.factor=5",
            "steps[1].id=total_up",
            "execution.mode=stream",
            "steps[double_amount].mode=batch",
            "steps[total_up].mode=batch",
            "inputs.records.options.delimiter=','",
            "outputs.datasets[totals].path=sums.csv",
        ],
    )
    spec = pipeline.spec
    assert spec.steps[0].with_["factor"] == 5
    assert spec.steps[1].id == "total_up"
    assert spec.execution.mode == "stream"
    assert spec.inputs["records"].options == {"delimiter": ","}
    assert spec.outputs.datasets[1].path == "sums.csv"


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("steps[nope].with.factor=1", r"steps has no entry with id or name 'nope'; there: "),
        ("steps[5].uses=x", r"steps has 2 entries \(indexes 0 to 1\)"),
        ("inputs.record.uri=x", r"inputs has no 'record' \(did you mean 'records'\?\)"),
        ("inputs.records.urri=x", r"has no 'urri' \(did you mean 'uri'\?\); keys inputs.records"),
        ("params.when=1", r"params has no 'when'; declared params: day, factor"),
        ("name.x=1", r"name is a str \('params_demo'\), not a mapping"),
        ("params.day=tomorrow", r"param 'day' is a date \(default datetime.date\(2026, 1, 1\)\)"),
    ],
)
def test_a_bad_path_is_a_usage_error_naming_what_is_there(
    project: Project, assignment: str, message: str
) -> None:
    path = params_pipeline(project)
    with pytest.raises(UsageError, match=message):
        load_pipeline(path, [assignment])


def test_a_set_value_is_validated_like_the_file_and_says_it_came_from_set(
    project: Project,
) -> None:
    path = params_pipeline(project)
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(path, ["execution.mode=fast", "inputs.records.combine_strategy=zip"])
    messages = sorted(p.message for p in info.value.problems)
    assert len(messages) == 2
    assert all(m.endswith(")") and "(value given by --set " in m for m in messages)
    assert "found 'fast'" in " ".join(messages) and "found 'zip'" in " ".join(messages)


def test_apply_changes_the_document_in_place() -> None:
    data = {"steps": [{"id": "a", "with": {}}]}
    assert apply(data, parse_set("steps[a].with.k=v")) == ("steps", 0, "with", "k")
    assert data == {"steps": [{"id": "a", "with": {"k": "v"}}]}
