"""params: typed defaults, ${params.x} references (typed when exact, text inside a longer
string), problems located and reported at once, the manifest's record of the values used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trakt
from tests.conftest import Project
from tests.params_project import params_pipeline
from trakt import PipelineValidationError, load_pipeline
from trakt.runtime.local_runner import LocalRunner


def test_exact_reference_is_typed_and_text_inside_a_string(project: Project) -> None:
    pipeline = load_pipeline(params_pipeline(project))
    with_ = pipeline.spec.steps[0].with_
    assert with_["factor"] == 2 and type(with_["factor"]) is int
    assert with_["label"] == "day 2026-01-01"
    assert pipeline.spec.params == {"day": __import__("datetime").date(2026, 1, 1), "factor": 2}


def test_a_run_passes_the_typed_param_to_the_step_and_records_params(project: Project) -> None:
    path = params_pipeline(project)
    runner = LocalRunner(project.input_dir, project.output_dir)
    result = runner.run(load_pipeline(path, ["params.factor=3"]))
    assert result["status"] == "success"
    assert (project.output_dir / "scaled.csv").read_text() == (
        "id,amount,label,factor_type\n1,30,day 2026-01-01,int\n2,60,day 2026-01-01,int\n"
    )
    manifest = json.loads((project.output_dir / "manifest.json").read_text())
    assert manifest["pipeline"]["params"] == {"day": "2026-01-01", "factor": 3}
    assert manifest["pipeline"]["set"] == ["params.factor"]


def test_unknown_params_are_all_reported_with_their_lines(project: Project) -> None:
    path = params_pipeline(project)
    text = path.read_text().replace("${params.factor}", "${params.factr}")
    path.write_text(text.replace("day ${params.day}", "${params.when} at ${env:TK_NOPE_UNSET}"))
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(path)
    messages = [(p.path, p.line, p.message) for p in info.value.problems]
    assert messages[0][:2] == ("steps[0].with.factor", 14)
    assert "'${params.factr}' names no param (did you mean 'factor'?)" in messages[0][2]
    assert messages[1][:2] == ("steps[0].with.label", 15)
    assert "'${params.when}' names no param" in messages[1][2]
    assert "TK_NOPE_UNSET is not set" in messages[1][2] or "TK_NOPE_UNSET" in messages[2][2]


def test_a_param_must_be_a_named_single_value(project: Project) -> None:
    path = params_pipeline(project)
    path.write_text(path.read_text().replace("factor: 2\n", "factor: [1, 2]\n  1x: 3\n"))
    with pytest.raises(PipelineValidationError, match=r"param 'factor' is list; a param is a"):
        load_pipeline(path)
    with pytest.raises(PipelineValidationError, match=r"param name '1x' is not a name"):
        load_pipeline(path)


def test_params_cannot_refer_to_params(project: Project) -> None:
    path = params_pipeline(project)
    path.write_text(path.read_text().replace("factor: 2\n", "factor: 2\n  other: ${params.day}\n"))
    with pytest.raises(PipelineValidationError, match=r"a param cannot refer to a param"):
        load_pipeline(path)


def test_a_param_from_the_environment_is_recorded_as_its_reference(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_SECRET_LABEL", "hunter2-secret")
    path = params_pipeline(project)
    path.write_text(
        path.read_text().replace("factor: 2\n", "factor: 2\n  who: ${env:TK_SECRET_LABEL}\n")
    )
    result = LocalRunner(project.input_dir, project.output_dir).run(load_pipeline(path))
    assert result["status"] == "success"
    raw = (project.output_dir / "manifest.json").read_text()
    assert "hunter2" not in raw
    assert json.loads(raw)["pipeline"]["params"]["who"] == "${env:TK_SECRET_LABEL}"


def test_python_params_must_fit_the_default_type(project: Project) -> None:
    path = params_pipeline(project)
    with pytest.raises(trakt.errors.UsageError, match=r"param 'factor' is an int \(default 2\)"):
        load_pipeline(path, params={"factor": "three"})
    with pytest.raises(trakt.errors.UsageError, match=r"params has no 'nope'; declared params"):
        load_pipeline(path, params={"nope": 1})


def test_trakt_run_for_a_quick_look_keeps_artifacts_in_memory(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(project.root)
    path = params_pipeline(project, "execution:\n          input_dir: input")
    result = trakt.run(path, keep=["scaled", "records"], factor=10)
    assert result["status"] == "success"
    assert result["artifacts"]["scaled"]["amount"].tolist() == [100, 200]
    assert result["artifacts"]["records"]["amount"].tolist() == [10, 20]
    assert Path(result["output_dir"], "totals.csv").read_text() == "total\n300\n"
    assert not project.output_dir.exists()  # a temp dir, never the project's


def test_interpolation_types_exact_references_and_tracks_env_pieces() -> None:
    from trakt.model.interpolate import interpolate

    data = {
        "params": {"n": 3, "s": "${env:TK_P}", "on": True},
        "a": "${params.n}",
        "b": ["n=${params.n} ${params.on}", "$${params.n}"],
        "c": "${params.s}",
    }
    done = interpolate(data, {}, "p.yaml", {"TK_P": "secret-value"})
    assert done.problems == ()
    assert done.data["a"] == 3 and done.data["b"] == ["n=3 true", "${params.n}"]
    assert done.data["c"] == "secret-value"
    assert done.expanded[("c",)].from_env == (("secret-value", "${env:TK_P}"),)
    assert data["a"] == "${params.n}"  # the document given is not changed
