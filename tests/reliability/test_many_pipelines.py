"""`uses:` names only steps, and one process runs many pipelines each with its own code.

A notebook, an orchestrator or a test suite loads several pipelines in one interpreter: each
must run the step modules next to its own pipeline file, even when another pipeline has a
module of the same name, and re-registering an alias (re-running a cell) replaces it.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import trakt
from tests.conftest import REPO, Project
from trakt import PipelineValidationError, load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner
from trakt.steps import unregister_step

# --- 4. uses: resolves only steps ----------------------------------------------------------


STANDARD_LIBRARY = [
    "pydoc.pipepager",
    "os.system",
    "subprocess.getoutput",
    "shutil.rmtree",
    "builtins.exec",
    "builtins.print",
    "collections.OrderedDict",
    "functools.partial",
    "subprocess",
    "asyncio",
    "cProfile",
    "pdb",
]


@pytest.mark.parametrize(
    "uses", ["pandas.concat", "numpy.save", "pyarrow.csv.write_csv", "yaml.load", "rich.print"]
)
def test_uses_refuses_callables_that_are_not_steps(project: Project, uses: str) -> None:
    marker = project.root / "marker"
    yaml_text = f"""
    name: untrusted
    inputs: {{r: {{uri: r.csv}}}}
    steps:
      - id: s
        uses: {uses}
        with: {{input: r, output: o, cmd: "touch {marker}"}}
    outputs:
      datasets: [{{name: out, from: o}}]
    """
    project.csv("r.csv", "id\n1\n")

    with pytest.raises(PipelineValidationError) as info:
        load_pipeline_from_yaml(project.pipeline(yaml_text))

    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("steps[0].uses", 5)
    assert f"'{uses}' is not a step: a step function's first parameter is named 'ctx'" in (
        problem.message
    )
    assert "`uses:` names only steps: a registered alias, a module exporting run(ctx, ...)" in (
        problem.message
    )
    assert not marker.exists()


@pytest.mark.parametrize("uses", STANDARD_LIBRARY)
def test_standard_library_is_refused_without_being_imported(project: Project, uses: str) -> None:
    """Importing `this` or `antigravity` runs their code: the standard library holds no steps,
    so it is refused by name, before anything is imported."""
    marker = project.root / "marker"
    modules_before = set(sys.modules)
    yaml_text = f"""
    name: untrusted
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o, cmd: "touch {marker}"}}}}]
    outputs: {{datasets: [{{name: out, from: o}}]}}
    """

    with pytest.raises(PipelineValidationError) as info:
        load_pipeline_from_yaml(project.pipeline(yaml_text))

    (problem,) = info.value.problems
    assert problem.path == "steps[0].uses"
    top = uses.partition(".")[0]
    assert f"'{top}' is a Python standard-library module" in problem.message
    assert not marker.exists()
    assert not {"antigravity", "this"} & (set(sys.modules) - modules_before)


@pytest.mark.parametrize("uses", ["this", "antigravity.x"])
def test_standard_library_module_code_never_runs(
    project: Project, uses: str, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml_text = f"""
    name: untrusted
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o}}}}]
    outputs: {{datasets: [{{name: out, from: o}}]}}
    """
    already = uses.partition(".")[0] in sys.modules
    with pytest.raises(PipelineValidationError, match="standard-library module"):
        load_pipeline_from_yaml(project.pipeline(yaml_text))
    assert "Beautiful is better than ugly" not in capsys.readouterr().out
    assert already or uses.partition(".")[0] not in sys.modules


def test_a_step_module_named_like_the_standard_library_is_named_in_the_error(
    project: Project,
) -> None:
    (project.root / "json.py").write_text("def run(ctx, input, output):\n    return {}\n")
    yaml_text = """
    name: shadowed
    inputs: {r: {uri: r.csv}}
    steps: [{id: s, uses: json, with: {input: r, output: o}}]
    outputs: {datasets: [{name: out, from: o}]}
    """
    with pytest.raises(PipelineValidationError, match=r"json\.py is hidden by the standard"):
        load_pipeline_from_yaml(project.pipeline(yaml_text))


@pytest.mark.parametrize("uses", ["mypy.api"])
def test_library_modules_exporting_run_are_not_steps(project: Project, uses: str) -> None:
    yaml_text = f"""
    name: untrusted
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o}}}}]
    outputs: {{datasets: [{{name: out, from: o}}]}}
    """

    with pytest.raises(PipelineValidationError) as info:
        load_pipeline_from_yaml(project.pipeline(yaml_text))

    (problem,) = info.value.problems
    assert problem.path == "steps[0].uses"
    assert f"module '{uses}' is a library, not a step module: its 'run' does not take 'ctx'" in (
        problem.message
    )


def test_user_step_modules_resolve_whatever_runs_first_parameter(project: Project) -> None:
    """A pipeline's own module opted in by exporting `run`, even a decorated one."""
    module = project.step(
        "decorated",
        """
        def logged(fn):
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs)
            return wrapper

        @logged
        def run(context, input, output):
            return {"output": input}
        """,
    )
    project.csv("r.csv", "id\n1\n")
    pipeline = load_pipeline_from_yaml(
        project.pipeline(
            f"""
            name: mine
            inputs: {{r: {{uri: r.csv}}}}
            steps: [{{id: s, uses: {module}, with: {{input: r, output: o}}}}]
            outputs: {{datasets: [{{name: out, from: o}}]}}
            """
        )
    )

    result = LocalRunner(project.input_dir, project.output_dir).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "out.csv").read_text() == "id\n1\n"


def test_user_functions_resolve_only_when_they_take_ctx(project: Project) -> None:
    module = project.step(
        "lib",
        """
        def step(ctx, input, output):
            return {"output": input.assign(amount=input["amount"] + 1)}

        def helper(frame, output):
            raise AssertionError("never called")

        class Step:
            def __init__(self, ctx, input, output):
                raise AssertionError("never constructed")
        """,
    )
    project.csv("r.csv", "id,amount\n1,2\n")
    yaml_text = """
    name: lib
    inputs: {{r: {{uri: r.csv}}}}
    steps: [{{id: s, uses: {uses}, with: {{input: r, output: o}}}}]
    outputs:
      datasets: [{{name: out, from: o}}]
    """

    for name in ("helper", "Step"):
        with pytest.raises(PipelineValidationError, match=rf"'{module}\.{name}' is not a step"):
            load_pipeline_from_yaml(project.pipeline(yaml_text.format(uses=f"{module}.{name}")))

    pipeline = load_pipeline_from_yaml(project.pipeline(yaml_text.format(uses=f"{module}.step")))
    result = LocalRunner(project.input_dir, project.output_dir).run(pipeline)
    assert result["status"] == "success", result["error"]
    assert (project.output_dir / "out.csv").read_text() == "id,amount\n1,3\n"


# --- 5. one process, many pipelines ----------------------------------------------------------

PIPELINE = """
name: {name}
inputs: {{records: {{uri: records.csv}}}}
steps:
  - id: scale
    uses: steps.normalize.double_amount
    with: {{input: records, output: scaled}}
outputs:
  datasets: [{{name: final, from: scaled}}]
"""

STEP = """
from steps.helpers import FACTOR


def run(ctx, input, output):
    return {"output": input.assign(amount=input["amount"] * FACTOR)}
"""


@pytest.fixture
def forget_steps() -> Iterator[None]:
    """The pipelines here all use the package name `steps`: leave none of it behind."""
    yield
    for name in [n for n in sys.modules if n == "steps" or n.startswith("steps.")]:
        del sys.modules[name]


def make_pipeline(root: Path, factor: int, namespace: bool) -> Path:
    """A pipeline directory with its own `steps` package (regular or namespace)."""
    package = root / "steps" / "normalize"
    package.mkdir(parents=True)
    if not namespace:
        (root / "steps" / "__init__.py").write_text("")
        (package / "__init__.py").write_text("")
    (package / "double_amount.py").write_text(STEP)
    (root / "steps" / "helpers.py").write_text(f"FACTOR = {factor}\n")
    (root / "input").mkdir()
    (root / "input" / "records.csv").write_text("id,amount\n1,10\n")
    pipeline = root / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(name=root.name))
    return pipeline


def run_pipeline(pipeline: Path) -> str:
    runner = LocalRunner(pipeline.parent / "input", pipeline.parent / "output")
    result = runner.run(load_pipeline_from_yaml(pipeline))
    assert result["status"] == "success", result["error"]
    return (pipeline.parent / "output" / "final.csv").read_text()


@pytest.mark.parametrize("namespace", [False, True], ids=["packages", "namespace-packages"])
@pytest.mark.usefixtures("forget_steps")
def test_each_pipeline_runs_its_own_step_modules(tmp_path: Path, namespace: bool) -> None:
    doubles = make_pipeline(tmp_path / "doubles", 2, namespace)
    triples = make_pipeline(tmp_path / "triples", 3, namespace)
    path_before = list(sys.path)

    assert run_pipeline(doubles) == "id,amount\n1,20\n"
    assert run_pipeline(triples) == "id,amount\n1,30\n"
    assert run_pipeline(doubles) == "id,amount\n1,20\n"
    assert sys.path == path_before


@pytest.mark.usefixtures("forget_steps")
def test_a_helper_module_a_step_imports_is_each_pipelines_own(tmp_path: Path) -> None:
    """`import trakt_helper_util` in a step: a top-level sibling module, not the `uses:` package."""
    pipelines = []
    for factor in (2, 3):
        pipeline = make_pipeline(tmp_path / f"p{factor}", factor, namespace=False)
        (pipeline.parent / "trakt_helper_util.py").write_text(f"FACTOR = {factor}\n")
        step = pipeline.parent / "steps" / "normalize" / "double_amount.py"
        step.write_text(
            step.read_text().replace(
                "from steps.helpers import FACTOR", "from trakt_helper_util import FACTOR"
            )
        )
        pipelines.append(pipeline)
    try:
        assert run_pipeline(pipelines[0]) == "id,amount\n1,20\n"
        assert run_pipeline(pipelines[1]) == "id,amount\n1,30\n"
        assert run_pipeline(pipelines[0]) == "id,amount\n1,20\n"
    finally:
        sys.modules.pop("trakt_helper_util", None)


@pytest.mark.usefixtures("forget_steps")
def test_both_bundled_examples_run_in_one_process(tmp_path: Path) -> None:
    """Both examples have a package `steps`; the second used to find only the first's."""
    for i, example in enumerate(["multi_file_demo", "stream_demo", "multi_file_demo"]):
        folder = REPO / "examples" / example
        runner = LocalRunner(folder / "input", tmp_path / str(i))
        result = runner.run(load_pipeline_from_yaml(folder / "pipeline.yaml"))
        assert result["status"] == "success", result["error"]
        assert sorted(result["outputs"]) == (
            ["final"] if example == "multi_file_demo" else ["final", "totals"]
        )


@pytest.mark.usefixtures("forget_steps")
def test_a_module_only_the_first_pipeline_has_is_not_borrowed(tmp_path: Path) -> None:
    first = make_pipeline(tmp_path / "first", 2, namespace=False)
    second = make_pipeline(tmp_path / "second", 3, namespace=False)
    (second.parent / "steps" / "helpers.py").unlink()

    assert run_pipeline(first) == "id,amount\n1,20\n"
    with pytest.raises(PipelineValidationError, match=r"No module named 'steps\.helpers'"):
        load_pipeline_from_yaml(second)


def test_installed_libraries_are_never_evicted(project: Project) -> None:
    pandas_module = sys.modules["pandas"]
    project.csv("r.csv", "id\n1\n")
    (project.root / "pandas").mkdir()  # a same-named package next to the pipeline
    (project.root / "pandas" / "__init__.py").write_text("raise AssertionError('shadowed')\n")
    with pytest.raises(PipelineValidationError, match=r"'pandas\.concat' is not a step"):
        load_pipeline_from_yaml(
            project.pipeline(
                """
                name: lib
                inputs: {r: {uri: r.csv}}
                steps: [{id: s, uses: pandas.concat, with: {input: r, output: o}}]
                outputs: {datasets: [{name: out, from: o}]}
                """
            )
        )
    assert sys.modules["pandas"] is pandas_module


@pytest.fixture
def alias() -> Iterator[str]:
    name = "notebook_cell_scale"
    yield name
    unregister_step(name)


def test_rerunning_a_notebook_cell_replaces_the_alias(project: Project, alias: str) -> None:
    project.csv("r.csv", "id,amount\n1,10\n")
    pipeline = project.pipeline(
        f"""
        name: notebook
        inputs: {{r: {{uri: r.csv}}}}
        steps: [{{id: s, uses: {alias}, with: {{input: r, output: o}}}}]
        outputs: {{datasets: [{{name: out, from: o}}]}}
        """
    )
    cell = textwrap.dedent(
        f"""
        @trakt.register_step({alias!r})
        def scale(ctx, input, output):
            return {{"output": input.assign(amount=input["amount"] * FACTOR)}}
        """
    )

    def run_cell(factor: int) -> str:
        namespace: dict[str, Any] = {"trakt": trakt, "FACTOR": factor, "pd": pd}
        exec(compile(cell, "<notebook cell>", "exec"), namespace)
        runner = LocalRunner(project.input_dir, project.output_dir)
        result = runner.run(load_pipeline_from_yaml(pipeline))
        assert result["status"] == "success", result["error"]
        return (project.output_dir / "out.csv").read_text()

    assert run_cell(2) == "id,amount\n1,20\n"
    with pytest.warns(RuntimeWarning, match=rf"step alias '{alias}' .* is replaced by") as seen:
        assert run_cell(5) == "id,amount\n1,50\n"
    assert seen[0].filename == "<notebook cell>"
